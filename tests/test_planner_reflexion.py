"""Reflexion with a scripted model: reflections after failures reach the next trial, limits
hold, and reflections persist in hanlin's Redis MemoryStore."""

from __future__ import annotations

import uuid

from memory_support import HashedBagOfWords

from hanlin.agents.planners import ReflexionAgent
from hanlin.contract.events import ErrorEvent, MemoryRecallEvent
from hanlin.llm.messages import UserMessage
from hanlin.llm.scripted import ScriptedModel, call
from hanlin.memory import MemoryStore, MemoryStoreConfig
from hanlin.planner.reflexion import (
    REFLECT_INSTRUCTIONS,
    REFLECTIONS_HEADER,
    InMemoryReflections,
    MemoryStoreReflections,
)
from hanlin.runtime.runner import Runner
from hanlin.tools.builtin.calculator import calculator

QUESTION = "What is the capital of France?"


async def is_paris(question: str, answer: str) -> bool:
    return answer.strip().lower() == "paris"


async def test_failed_trial_is_reflected_on_and_the_next_trial_sees_it() -> None:
    store = InMemoryReflections()
    model = ScriptedModel(
        ["Lyon", "I answered from memory without checking. Next time verify the capital.", "Paris"]
    )
    agent = ReflexionAgent(name="rx", model=model, evaluator=is_paris, reflections=store)
    result = await Runner(agent, user_id="u1").run("t", QUESTION)

    assert model.calls[0][-1] == UserMessage(content=QUESTION)
    assert REFLECTIONS_HEADER not in model.calls[0][0].content
    reflect_prompt = model.calls[1]
    assert reflect_prompt[0].content == REFLECT_INSTRUCTIONS
    assert (
        reflect_prompt[1].content
        == f"Previous trial:\nQuestion: {QUESTION}\nThought/answer: Lyon\n\nReflection:"
    )
    second = model.calls[2]
    assert second[-1] == UserMessage(content=QUESTION) and len(second) == 2, "a trial starts afresh"
    assert second[0].content.endswith(
        REFLECTIONS_HEADER
        + "\n- I answered from memory without checking. Next time verify the capital."
    )
    assert await store.search("u1", "rx", QUESTION) == [
        "I answered from memory without checking. Next time verify the capital."
    ]
    assert result.final_answer == "Paris" and model.served == 3, "success stops the trials"
    assert [e.category for e in result.events if isinstance(e, ErrorEvent)] == ["trial_failed"]


async def test_trial_limit_holds_and_returns_the_last_attempt() -> None:
    model = ScriptedModel(["Lyon", "r1", "Nice", "r2", "Marseille"])
    result = await Runner(
        ReflexionAgent(name="rx", model=model, evaluator=is_paris, max_trials=3)
    ).run("t", QUESTION)
    assert model.served == 5, "no reflection after the last trial"
    assert model.calls[4][0].content.endswith("Reflections:\n- r1\n- r2")
    categories = [e.category for e in result.events if isinstance(e, ErrorEvent)]
    assert categories == ["trial_failed", "trial_failed", "trial_failed", "trial_limit"]
    assert result.final_answer == "Marseille"


async def test_self_evaluation_and_step_limit_trials() -> None:
    model = ScriptedModel(
        [
            call("calculator", "c1", expression="1+1"),  # trial 1 ends at the step limit
            call("calculator", "c1b", expression="2+2"),
            "Ran out of steps; answer right after one calculation.",
            call("calculator", "c2", expression="2*21"),
            "42",
            "CORRECT",
        ]
    )
    agent = ReflexionAgent(name="rx", model=model, tools=[calculator], max_steps=2)
    result = await Runner(agent).run("t", "What is 2*21?")
    assert "Action: calculator[{'expression': '1+1'}]\nObservation: 2" in model.calls[2][-1].content
    assert model.calls[5][-1] == UserMessage(
        content="Question: What is 2*21?\nProposed answer: 42\nVerdict:"
    )
    assert result.final_answer == "42"


async def test_self_evaluation_rejects_incorrect() -> None:
    model = ScriptedModel(["Lyon", "INCORRECT", "reflect", "Paris", "CORRECT"])
    result = await Runner(ReflexionAgent(name="rx", model=model)).run("t", QUESTION)
    assert result.final_answer == "Paris" and model.served == 5


async def test_memory_store_keeps_reflections_across_runs(redis_url: str) -> None:
    config = MemoryStoreConfig(prefix=f"test:reflexion:{uuid.uuid4().hex[:10]}")
    async with await MemoryStore.open(redis_url, HashedBagOfWords(), config=config) as store:
        reflections = MemoryStoreReflections(store)
        await reflections.add("u1", "other", QUESTION, "belongs to another agent")
        await reflections.add("u1", "rx", "How many legs has a spider?", "count pairs of legs")
        model = ScriptedModel(
            ["Lyon", "Check the capital, not the largest city you recall.", "Paris"]
        )
        agent = ReflexionAgent(name="rx", model=model, evaluator=is_paris, reflections=reflections)
        await Runner(agent, user_id="u1").run("t1", QUESTION)

        hits = await store.search("u1", QUESTION, kinds=["reflection"], agent_id="rx", recall=False)
        assert hits[0].record.kind == "reflection"
        assert (
            hits[0].record.metadata["reflection"]
            == "Check the capital, not the largest city you recall."
        )
        assert await reflections.search("u1", "rx", QUESTION) == [
            "Check the capital, not the largest city you recall."
        ]

        later = ScriptedModel(["Paris"])
        again = ReflexionAgent(name="rx", model=later, evaluator=is_paris, reflections=reflections)
        result = await Runner(again, user_id="u1").run("t2", QUESTION)
        assert later.calls[0][0].content.endswith(
            REFLECTIONS_HEADER + "\n- Check the capital, not the largest city you recall."
        )
        assert [e.memories for e in result.events if isinstance(e, MemoryRecallEvent)] == [
            ["Check the capital, not the largest city you recall."]
        ]
        assert await MemoryStoreReflections(store).search("u2", "rx", QUESTION) == []
