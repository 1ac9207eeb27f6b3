"""Each planning strategy end to end on the embedded model: structure only, not skill."""

from __future__ import annotations

import pytest

from hanlin.agents.planners import (
    ChainOfThoughtAgent,
    LeastToMostAgent,
    PlanExecuteAgent,
    ReflexionAgent,
)
from hanlin.contract.events import ErrorEvent, PlanEvent
from hanlin.llm.chat_model import ChatOptions
from hanlin.llm.local_model import LocalModel
from hanlin.runtime.runner import Runner
from hanlin.tools.builtin.calculator import calculator

pytestmark = pytest.mark.local_model
SHORT = ChatOptions(max_tokens=32)
QUESTION = "What is 3 + 4 * 2?"


async def always_wrong(question: str, answer: str) -> bool:
    return False


def ended(result) -> bool:  # type: ignore[no-untyped-def]
    """An answer, or a reported error: a run never ends silently."""
    return result.final_answer is not None or any(isinstance(e, ErrorEvent) for e in result.events)


async def test_every_strategy_runs_on_the_embedded_model() -> None:
    model = LocalModel(n_threads=2)
    plan = await Runner(
        PlanExecuteAgent(
            name="planner",
            model=model,
            options=SHORT,
            tools=[calculator],
            max_steps=2,
            max_replans=0,
            max_plan_steps=2,
        )
    ).run("pe", QUESTION)
    assert any(isinstance(e, PlanEvent) for e in plan.events) and ended(plan)

    l2m = await Runner(
        LeastToMostAgent(name="l2m", model=model, options=SHORT, max_subquestions=2)
    ).run("lm", QUESTION)
    assert any(isinstance(e, PlanEvent) for e in l2m.events) and ended(l2m)

    cot = await Runner(ChainOfThoughtAgent(name="cot", model=model, options=SHORT)).run(
        "ct", QUESTION
    )
    assert ended(cot)

    reflexion = ReflexionAgent(
        name="rx", model=model, options=SHORT, max_steps=1, max_trials=2, evaluator=always_wrong
    )
    result = await Runner(reflexion).run("rx", QUESTION)
    assert ended(result)
    stored = await reflexion.reflections.search("default", "rx", QUESTION)
    assert len(stored) == 1, "one reflection after the first failed trial"
