"""Least-to-most with a scripted model: decomposition, ordered solving, growing context."""

from __future__ import annotations

from hanlin.agents.planners import LeastToMostAgent
from hanlin.contract.events import PlanEvent
from hanlin.llm.messages import UserMessage
from hanlin.llm.scripted import ScriptedModel
from hanlin.planner.least_to_most import DecompositionExemplar, SolvedExemplar, numbered_items
from hanlin.runtime.runner import Runner

QUESTION = (
    "Amy climbs a 4-minute slide after a 1-minute walk; the park closes in 15 minutes. "
    "How many slides can she take?"
)


async def test_subquestions_are_solved_in_order_each_answer_added_to_the_context() -> None:
    model = ScriptedModel(
        [
            "1. How long does one climb and slide take?\n2. How many rounds fit in 15 minutes?",
            "5 minutes",
            "3 rounds",
            "3",
        ]
    )
    result = await Runner(LeastToMostAgent(name="l2m", model=model)).run("t", QUESTION)

    steps = [e.steps for e in result.events if isinstance(e, PlanEvent)]
    assert steps == [
        ["How long does one climb and slide take?", "How many rounds fit in 15 minutes?", QUESTION]
    ]
    assert model.calls[0][-1] == UserMessage(content=f"Q: {QUESTION}\nA:")
    assert (
        model.calls[1][-1].content
        == f"{QUESTION}\n\nQ: How long does one climb and slide take?\nA:"
    )
    assert model.calls[2][-1].content == (
        f"{QUESTION}\n\nQ: How long does one climb and slide take?\nA: 5 minutes\n\n"
        "Q: How many rounds fit in 15 minutes?\nA:"
    )
    assert model.calls[3][-1].content == (
        f"{QUESTION}\n\nQ: How long does one climb and slide take?\nA: 5 minutes\n\n"
        f"Q: How many rounds fit in 15 minutes?\nA: 3 rounds\n\nQ: {QUESTION}\nA:"
    )
    assert result.final_answer == "3" and model.served == 4


async def test_exemplars_are_shown_and_the_original_question_is_not_repeated() -> None:
    model = ScriptedModel(["1. What is 2+3?\n2. What is (2+3)*4?", "5", "20"])
    agent = LeastToMostAgent(
        name="l2m",
        model=model,
        decomposition_exemplars=[
            DecompositionExemplar(
                question="What is (1+1)*3?", subquestions=["What is 1+1?", "What is (1+1)*3?"]
            )
        ],
        solved_exemplars=[
            SolvedExemplar(
                problem="What is (1+1)*3?", steps=[("What is 1+1?", "2"), ("What is (1+1)*3?", "6")]
            )
        ],
    )
    result = await Runner(agent).run("t", "What is (2+3)*4?")
    assert model.calls[0][-1].content.startswith(
        "Q: What is (1+1)*3?\nA:\n1. What is 1+1?\n2. What is (1+1)*3?\n\n"
    )
    assert model.calls[1][-1].content.startswith(
        "What is (1+1)*3?\n\nQ: What is 1+1?\nA: 2\n\nQ: What is (1+1)*3?\nA: 6\n\nWhat is (2+3)*4?"
    )
    assert [e.steps for e in result.events if isinstance(e, PlanEvent)] == [
        ["What is 2+3?", "What is (2+3)*4?"]
    ]
    assert result.final_answer == "20" and model.served == 3


async def test_subquestion_limit_keeps_the_original_question_last() -> None:
    model = ScriptedModel(["1. a?\n2. b?\n3. c?", "A", "final"])
    result = await Runner(LeastToMostAgent(name="l2m", model=model, max_subquestions=2)).run(
        "t", "Q?"
    )
    assert [e.steps for e in result.events if isinstance(e, PlanEvent)] == [["a?", "Q?"]]
    assert result.final_answer == "final"


def test_numbered_items_accepts_lists_and_plain_lines() -> None:
    assert numbered_items("Plan:\n1) one\n2. two\n- three") == ["one", "two", "three"]
    assert numbered_items("first\n\nsecond") == ["first", "second"]
