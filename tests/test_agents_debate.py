"""Debate message flow with scripted models (who sees what, when), the vote, the judge,
concurrency, the baselines, and one end-to-end run on the embedded model."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from hanlin.agents.debate import Debate, DebateAgent, DebateTurnEvent, debate_outcome
from hanlin.agents.debate_baselines import debate_baselines, independent_majority, self_reflection
from hanlin.contract.events import FinalAnswerEvent, MessageEvent
from hanlin.llm.chat_model import ChatOptions
from hanlin.llm.messages import AssistantMessage, Message, SystemMessage, UserMessage
from hanlin.llm.scripted import ScriptedModel
from hanlin.runtime.runner import Runner

QUESTION = "What is 2+3*4?"


def answer(name: str, round_: int, value: str) -> str:
    return f"[{name} round {round_}] so the result is \\boxed{{{value}}}"


def team(values: dict[str, list[str]], **kwargs: object) -> tuple[Debate, dict[str, ScriptedModel]]:
    models = {
        name: ScriptedModel([answer(name, r + 1, v) for r, v in enumerate(vals)], name=name)
        for name, vals in values.items()
    }
    agents = [DebateAgent(name=n, model=m) for n, m in models.items()]
    rounds = len(next(iter(values.values())))
    return Debate(agents=agents, rounds=rounds, **kwargs), models


def texts(messages: Sequence[Message]) -> list[str]:
    return [m.text() if isinstance(m, UserMessage) else m.content for m in messages]


async def test_round_one_prompts_hold_only_the_question() -> None:
    debate, models = team({"a": ["14", "14"], "b": ["20", "14"], "c": ["14", "14"]})
    await Runner(debate).run("t", QUESTION)
    for model in models.values():
        first = model.calls[0]
        assert len(first) == 1 and isinstance(first[0], UserMessage)
        assert QUESTION in first[0].text()
        assert "round" not in first[0].text() and "```" not in first[0].text()


async def test_round_two_shows_exactly_the_other_agents_previous_answers() -> None:
    debate, models = team({"a": ["14", "14"], "b": ["20", "14"], "c": ["14", "14"]})
    await Runner(debate).run("t", QUESTION)
    for name, model in models.items():
        second = model.calls[1]
        assert [type(m) for m in second] == [UserMessage, AssistantMessage, UserMessage]
        assert second[1].content == answer(name, 1, {"a": "14", "b": "20", "c": "14"}[name])
        prompt = second[2].text()
        others = [n for n in models if n != name]
        quoted = [chunk.split("```")[0] for chunk in prompt.split("```")[1::2]]
        assert quoted == [answer(o, 1, {"a": "14", "b": "20", "c": "14"}[o]) for o in others]
        assert f"[{name} round" not in prompt, "an agent's own answer is not shown as another's"
        assert QUESTION in prompt


async def test_runs_exactly_r_rounds_and_keeps_full_history() -> None:
    debate, models = team({"a": ["1", "2", "3"], "b": ["1", "2", "3"]})
    result = await Runner(debate).run("t", QUESTION)
    assert all(m.served == 3 and len(m.calls) == 3 for m in models.values())
    third = models["a"].calls[2]
    assert len(third) == 5  # question, answer 1, debate message, answer 2, debate message
    assert answer("b", 2, "2") in third[4].text() and answer("b", 1, "1") not in third[4].text()
    assert result.final_answer == "3"


async def test_sparse_topology_is_respected() -> None:
    values = {"a": ["1", "9"], "b": ["2", "9"], "c": ["3", "9"]}
    debate, models = team(values, topology={"a": ["b"], "b": ["c"], "c": []})
    await Runner(debate).run("t", QUESTION)
    prompt_a, prompt_b, prompt_c = (models[n].calls[1][2].text() for n in "abc")
    assert answer("b", 1, "2") in prompt_a and "[c round" not in prompt_a
    assert answer("c", 1, "3") in prompt_b and "[a round" not in prompt_b
    assert "```" not in prompt_c and "Check carefully" in prompt_c  # reads nobody: reflection


def test_topology_is_validated() -> None:
    model = ScriptedModel([])
    agents = [DebateAgent(name="a", model=model), DebateAgent(name="b", model=model)]
    with pytest.raises(ValueError, match="unknown agents"):
        Debate(agents=agents, topology={"a": ["zed"]})
    with pytest.raises(ValueError, match="cannot read itself"):
        Debate(agents=agents, topology={"a": ["a"]})
    with pytest.raises(ValueError, match="unique"):
        Debate(agents=[agents[0], agents[0]])


async def test_majority_vote_and_tie_goes_to_first_agent_in_order() -> None:
    debate, _ = team({"a": ["5"], "b": ["7"], "c": ["7"]})
    assert (await Runner(debate).run("t", QUESTION)).final_answer == "7"
    debate, _ = team({"a": ["5"], "b": ["7"], "c": ["5.0"], "d": ["7"]})
    assert (await Runner(debate).run("t", QUESTION)).final_answer == "5"
    debate, _ = team({"a": ["7"], "b": ["5"]})
    assert (await Runner(debate).run("t", QUESTION)).final_answer == "7"


async def test_unparsable_answers_abstain() -> None:
    models = [ScriptedModel(["I do not know."]), ScriptedModel(["maybe \\boxed{4}"])]
    agents = [DebateAgent(name=f"x{i}", model=m) for i, m in enumerate(models)]
    assert (await Runner(Debate(agents=agents, rounds=1)).run("t", QUESTION)).final_answer == "4"
    silent = [DebateAgent(name="s", model=ScriptedModel(["no idea"]))]
    result = await Runner(Debate(agents=silent, rounds=1)).run("t", QUESTION)
    assert result.final_answer is None
    assert any(e.kind == "error" and e.category == "no_answer" for e in result.events)


async def test_judge_sees_question_and_last_round_answers_and_usage_is_summed() -> None:
    judge_model = ScriptedModel(["Both agree on 14."])
    debate, _models = team(
        {"a": ["14", "14"], "b": ["20", "14"]}, judge=DebateAgent(name="judge", model=judge_model)
    )
    runner = Runner(debate)
    result = await runner.run("t", QUESTION)
    [judge_input] = judge_model.calls
    prompt = judge_input[-1].text()
    assert QUESTION in prompt
    assert answer("a", 2, "14") in prompt and answer("b", 2, "14") in prompt
    assert answer("b", 1, "20") not in prompt
    outcome = await debate_outcome(runner, debate, "t")
    assert outcome.summary == "Both agree on 14." and outcome.answer == "14"
    assert outcome.usage["a"]["calls"] == 2 and outcome.usage["judge"]["calls"] == 1
    assert outcome.usage["a"]["prompt_tokens"] > 0 and outcome.total_tokens > 0
    judged = [e for e in result.events if isinstance(e, DebateTurnEvent) and e.role == "judge"]
    assert [e.agent for e in judged] == ["judge"]


async def test_events_carry_agent_names_and_rounds() -> None:
    debate, _ = team({"a": ["1", "2"], "b": ["1", "2"]})
    result = await Runner(debate).run("t", QUESTION)
    turns = [e for e in result.events if isinstance(e, MessageEvent)]
    assert sorted((e.agent, e.round) for e in turns) == [("a", 1), ("a", 2), ("b", 1), ("b", 2)]
    assert all(isinstance(e, DebateTurnEvent) for e in turns)
    final = [e for e in result.events if isinstance(e, FinalAnswerEvent)]
    assert [e.content for e in final] == ["2"]


async def test_a_round_runs_its_agents_concurrently() -> None:
    models = [ScriptedModel([answer(f"p{i}", 1, "1")] * 2, delay=0.3) for i in range(3)]
    agents = [DebateAgent(name=f"p{i}", model=m) for i, m in enumerate(models)]
    started = time.perf_counter()
    result = await Runner(Debate(agents=agents, rounds=1)).run("t", QUESTION)
    elapsed = time.perf_counter() - started
    assert result.final_answer == "1"
    assert elapsed < 0.6, f"a 3-agent round took {elapsed:.2f}s; calls did not overlap"
    started = time.perf_counter()
    await Runner(Debate(agents=agents, rounds=1, concurrent=False)).run("s", QUESTION)
    assert time.perf_counter() - started >= 0.9


async def test_persona_becomes_a_system_message() -> None:
    model = ScriptedModel(["\\boxed{1}"])
    debate = Debate(agents=[DebateAgent(name="a", model=model, persona="You are terse.")], rounds=1)
    await Runner(debate).run("t", QUESTION)
    assert (
        isinstance(model.calls[0][0], SystemMessage)
        and model.calls[0][0].content == "You are terse."
    )


async def test_a_new_question_on_the_same_thread_starts_a_fresh_debate() -> None:
    debate, models = team({"a": ["1", "2"], "b": ["1", "2"]})
    runner = Runner(debate)
    await runner.run("t", QUESTION)
    for model in models.values():
        model.turns += [answer(model.name, 1, "8"), answer(model.name, 2, "8")]
    assert (await runner.run("t", "What is 4+4?")).final_answer == "8"
    fresh = models["a"].calls[2]
    assert len(fresh) == 1 and "What is 4+4?" in fresh[0].text()
    assert (await debate_outcome(runner, debate, "t")).question == "What is 4+4?"
    assert [m.content for m in await runner.messages("t")][-1] == "8"


async def test_baselines_are_degenerate_debates() -> None:
    debate, _ = team({"a": ["1", "1"], "b": ["1", "1"], "c": ["1", "1"]})
    made = debate_baselines(debate)
    assert [len(made[k].agents) for k in ("single", "reflection", "majority")] == [1, 1, 6]
    assert made["single"].rounds == 1 and made["reflection"].rounds == 2
    assert made["majority"].rounds == 1
    seeds = [a.options.seed for a in independent_majority(debate, samples=3).agents]
    assert seeds == [0, 1, 2]
    model = ScriptedModel(["\\boxed{3}", "\\boxed{4}"])
    reflect = self_reflection(Debate(agents=[DebateAgent(name="solo", model=model)], rounds=2))
    outcome = await reflect.solve(QUESTION)
    assert outcome.answer == "4" and "Check carefully" in model.calls[1][2].text()


@pytest.mark.local_model
async def test_two_agent_two_round_debate_on_the_embedded_model() -> None:
    from hanlin.llm.local_model import LocalModel

    model = LocalModel(n_threads=2)
    agents = [
        DebateAgent(name=n, model=model, options=ChatOptions(max_tokens=48, seed=i))
        for i, n in enumerate(["alice", "bob"])
    ]
    debate = Debate(agents=agents, rounds=2)
    runner = Runner(debate)
    result = await runner.run("local", "What is 3+4*2?")
    assert result.error is None
    turns = [e for e in result.events if isinstance(e, DebateTurnEvent)]
    assert sorted((e.agent, e.round) for e in turns) == [
        ("alice", 1),
        ("alice", 2),
        ("bob", 1),
        ("bob", 2),
    ]
    assert all(e.content.strip() for e in turns)
    outcome = await debate_outcome(runner, debate, "local")
    assert len(outcome.transcript) == 2 and set(outcome.votes) == {"alice", "bob"}
    assert all(
        outcome.usage[n]["calls"] == 2 and outcome.usage[n]["completion_tokens"] > 0
        for n in ("alice", "bob")
    )
