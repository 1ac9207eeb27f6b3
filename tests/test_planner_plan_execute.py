"""Plan-and-execute with a scripted model: plan prompt, ordered subtasks, re-planning, limits."""

from __future__ import annotations

from hanlin.agents.planners import PlanExecuteAgent
from hanlin.contract.events import ErrorEvent, FinalAnswerEvent, PlanEvent
from hanlin.llm.messages import SystemMessage, ToolMessage, UserMessage
from hanlin.llm.scripted import ScriptedModel, call
from hanlin.planner.plan_execute import PLAN_INSTRUCTIONS, step_failed
from hanlin.runtime.runner import Runner
from hanlin.tools.builtin.calculator import calculator


def plans(result) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return [e.steps for e in result.events if isinstance(e, PlanEvent)]


def errors(result, category: str) -> list[ErrorEvent]:  # type: ignore[no-untyped-def]
    return [e for e in result.events if isinstance(e, ErrorEvent) and e.category == category]


async def test_plan_then_subtasks_in_order_with_earlier_results_then_synthesis() -> None:
    model = ScriptedModel(
        [
            "Here is the plan:\n1. Compute 6*7\n2. Add 8 to that result",
            call("calculator", "c1", expression="6*7"),
            "42",
            call("calculator", "c2", expression="42+8"),
            "50",
            "The answer is 50.",
        ]
    )
    agent = PlanExecuteAgent(name="planner", model=model, tools=[calculator])
    runner = Runner(agent)
    result = await runner.run("t", "What is 6*7+8?")

    plan_prompt = model.calls[0]
    assert isinstance(plan_prompt[0], SystemMessage)
    assert plan_prompt[0].content == PLAN_INSTRUCTIONS.format(n=6)
    assert plan_prompt[1] == UserMessage(content="Task: What is 6*7+8?")
    assert plans(result) == [["Compute 6*7", "Add 8 to that result"]]
    assert model.tools_seen[0] == [], "planning is tool-free"

    first = model.calls[1]
    assert first[-1] == UserMessage(content="Subtask 1 of 2: Compute 6*7")
    assert "Task: What is 6*7+8?" in first[0].content and "1. Compute 6*7" in first[0].content
    assert "Results of the earlier subtasks" not in first[0].content
    assert model.tools_seen[1][0].name == "calculator"
    observation = model.calls[2][-1]
    assert isinstance(observation, ToolMessage) and observation.content == "42"

    second = model.calls[3]
    assert [m.role for m in second] == ["system", "user"], "each subtask has its own conversation"
    assert second[-1] == UserMessage(content="Subtask 2 of 2: Add 8 to that result")
    assert "1. Compute 6*7\n   Result: 42" in second[0].content

    synthesis = model.calls[5][-1].content
    assert (
        "1. Compute 6*7\n   Result: 42" in synthesis
        and "2. Add 8 to that result\n   Result: 50" in synthesis
    )
    assert result.final_answer == "The answer is 50."
    finals = [e for e in result.events if isinstance(e, FinalAnswerEvent)]
    assert finals[-1].content == "The answer is 50."
    assert model.served == len(model.turns)
    history = await runner.messages("t")
    assert [(m.role, m.content) for m in history] == [
        ("user", "What is 6*7+8?"),
        ("assistant", "The answer is 50."),
    ], "subtask conversations stay out of the thread"


async def test_failed_step_triggers_a_replan_of_the_remaining_work() -> None:
    model = ScriptedModel(
        [
            "1. Look up the population of Atlantis\n2. Double it",
            "I cannot find Atlantis in any source.",
            "1. Use the figure 21 given in the question\n2. Double it",
            "21",
            call("calculator", "c1", expression="21*2"),
            "42",
            "42",
        ]
    )
    result = await Runner(PlanExecuteAgent(name="p", model=model, tools=[calculator])).run(
        "t", "Atlantis has 21 people (if you cannot look it up). Double its population."
    )

    assert plans(result) == [
        ["Look up the population of Atlantis", "Double it"],
        ["Use the figure 21 given in the question", "Double it"],
    ]
    replan_prompt = model.calls[2][-1].content
    assert "This subtask failed: Look up the population of Atlantis" in replan_prompt
    assert "Its result: I cannot find Atlantis in any source." in replan_prompt
    assert "Completed subtasks:\n(none)" in replan_prompt
    assert model.calls[3][-1] == UserMessage(
        content="Subtask 1 of 2: Use the figure 21 given in the question"
    )
    assert "Result: 21" in model.calls[4][0].content
    assert len(errors(result, "step_failed")) == 1 and not errors(result, "replan_limit")
    assert result.final_answer == "42"


async def test_replan_limit_holds_and_zero_means_no_feedback() -> None:
    model = ScriptedModel(
        [
            "1. Open the vault",
            "cannot open it",
            "1. Pick the lock",
            "unable to pick it",
            "The vault could not be opened.",
        ]
    )
    result = await Runner(PlanExecuteAgent(name="p", model=model, max_replans=1)).run(
        "t", "Open the vault."
    )
    assert plans(result) == [["Open the vault"], ["Pick the lock"]]
    assert len(errors(result, "step_failed")) == 2 and len(errors(result, "replan_limit")) == 1
    assert "1. Pick the lock\n   Result: FAILED: unable to pick it" in model.calls[-1][-1].content
    assert result.final_answer == "The vault could not be opened."
    assert model.served == 5

    without_feedback = ScriptedModel(
        ["1. Open the vault\n2. Take the gold", "cannot open it", "No gold."]
    )
    result = await Runner(PlanExecuteAgent(name="p", model=without_feedback, max_replans=0)).run(
        "t", "Get gold."
    )
    assert plans(result) == [["Open the vault", "Take the gold"]]
    assert "Take the gold" not in without_feedback.calls[-1][-1].content, "later steps are skipped"
    assert result.final_answer == "No gold." and without_feedback.served == 3


async def test_step_limit_counts_as_failure_and_a_new_turn_starts_a_fresh_plan() -> None:
    model = ScriptedModel(
        [
            "1. Compute 2+2",
            call("calculator", "c1", expression="2+2"),
            call("calculator", "c2", expression="2+2"),
            "1. Say 4",
            "4",
            "4",
            "1. Say hi",
            "hi",
            "hi",
        ]
    )
    runner = Runner(PlanExecuteAgent(name="p", model=model, tools=[calculator], max_steps=2))
    first = await runner.run("t", "2+2?")
    assert "no result within 2 steps" in model.calls[3][-1].content
    assert first.final_answer == "4"
    second = await runner.run("t", "Say hi.")
    assert plans(second) == [["Say hi"]]
    assert model.calls[7][-1] == UserMessage(content="Subtask 1 of 1: Say hi")
    assert "Say 4" not in model.calls[7][0].content
    assert second.final_answer == "hi"


def test_default_failure_test() -> None:
    assert step_failed(None) and step_failed("  ") and step_failed("I can't reach the server")
    assert not step_failed("The result is 42")
