"""ReAct orchestration with a scripted model: exact message flow, feedback, limits, approvals."""

from __future__ import annotations

from hanlin.agents.agent import Agent
from hanlin.contract.approval import ApprovalDecision
from hanlin.contract.events import (
    FinalAnswerEvent,
    MessageEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from hanlin.llm.chat_model import ChatResult
from hanlin.llm.messages import AssistantMessage, ToolMessage, UserMessage
from hanlin.llm.scripted import ScriptedModel, call
from hanlin.llm.tool_errors import ToolCallError, ToolErrorKind
from hanlin.runtime.runner import Runner
from hanlin.tools import tool
from hanlin.tools.builtin.calculator import calculator

executed: list[str] = []


@tool(requires_approval=True)
def send_email(to: str, body: str) -> str:
    """Send an email.

    Args:
        to: Recipient address.
        body: Message text.
    """
    executed.append(f"{to}:{body}")
    return f"sent to {to}"


async def test_tool_call_observation_reaches_model_and_answer_returns() -> None:
    model = ScriptedModel([call("calculator", "c1", expression="6*7"), "Final Answer: 42"])
    runner = Runner(Agent(name="solver", model=model, tools=[calculator]))
    result = await runner.run("t1", "What is 6*7?")

    assert result.final_answer == "42"
    second_prompt = model.calls[1]
    observation = second_prompt[-1]
    assert isinstance(observation, ToolMessage)
    assert observation.tool_call_id == "c1" and observation.content == "42"
    assert [m.role for m in second_prompt] == ["system", "user", "assistant", "tool"]
    kinds = [e.kind for e in result.events]
    assert kinds.index("tool_call") < kinds.index("tool_result") < kinds.index("final")
    assert any(isinstance(e, TokenEvent) for e in result.events)
    assert all(e.agent == "solver" for e in result.events if isinstance(e, MessageEvent))
    assert model.tools_seen[0][0].name == "calculator"


async def test_unknown_tool_becomes_categorized_observation() -> None:
    model = ScriptedModel([call("calculater", "c1", expression="1+1"), "2"])
    runner = Runner(Agent(name="a", model=model, tools=[calculator]))
    result = await runner.run("t", "1+1?")
    observation = model.calls[1][-1]
    assert isinstance(observation, ToolMessage) and observation.is_error
    assert observation.error_kind == ToolErrorKind.UNKNOWN_TOOL
    assert "calculator" in observation.content
    assert result.final_answer == "2"


async def test_unreadable_tool_call_is_fed_back_to_the_model() -> None:
    broken = ChatResult(
        message=AssistantMessage(content=""),
        tool_errors=[
            ToolCallError(kind=ToolErrorKind.UNPARSABLE, message="broken JSON in <tool_call>")
        ],
    )

    class BrokenOnce(ScriptedModel):
        async def stream(self, messages, *, tools=(), options=None):  # type: ignore[override]
            if not self.calls:
                self.calls.append(list(messages))
                from hanlin.llm.chat_model import Completed

                yield Completed(result=broken)
                return
            async for item in super().stream(messages, tools=tools, options=options):
                yield item

    model = BrokenOnce(["fine"])
    result = await Runner(Agent(name="a", model=model, tools=[calculator])).run("t", "hi")
    feedback = model.calls[1][-1]
    assert isinstance(feedback, UserMessage)
    assert "unparsable" in feedback.text() and "broken JSON" in feedback.text()
    assert result.final_answer == "fine"


async def test_step_limit_stops_a_looping_model() -> None:
    model = ScriptedModel([call("calculator", f"c{i}", expression="1") for i in range(10)])
    result = await Runner(Agent(name="a", model=model, tools=[calculator], max_steps=3)).run(
        "t", "go"
    )
    assert result.final_answer is None
    assert result.error is not None and "3 steps" in result.error
    assert len(model.calls) == 3


async def test_concurrent_calls_of_one_step_all_return_in_order() -> None:
    turn = AssistantMessage(
        tool_calls=[
            call("calculator", "a", expression="2+2").tool_calls[0],
            call("calculator", "b", expression="3*3").tool_calls[0],
        ]
    )
    model = ScriptedModel([turn, "done"])
    await Runner(Agent(name="a", model=model, tools=[calculator])).run("t", "go")
    observations = model.calls[1][-2:]
    assert [(o.tool_call_id, o.content) for o in observations] == [("a", "4"), ("b", "9")]


async def test_approval_approve_edit_reject() -> None:
    executed.clear()
    script = [call("send_email", "e1", to="a@x.org", body="hi"), "ok"] * 3
    runner = Runner(Agent(name="mailer", model=ScriptedModel(script), tools=[send_email]))

    paused = await runner.run("approve", "mail a")
    assert paused.final_answer is None and len(paused.pending) == 1
    assert paused.pending[0].request["call"]["name"] == "send_email"
    assert executed == []
    done = await runner.resume("approve", ApprovalDecision(action="approve"))
    assert done.final_answer == "ok" and executed == ["a@x.org:hi"]

    await runner.run("edit", "mail b")
    await runner.resume(
        "edit", ApprovalDecision(action="edit", arguments={"to": "b@x.org", "body": "hey"})
    )
    assert executed[-1] == "b@x.org:hey"

    await runner.run("reject", "mail c")
    rejected = await runner.resume("reject", ApprovalDecision(action="reject", reason="not now"))
    assert len(executed) == 2
    result = next(e for e in rejected.events if isinstance(e, ToolResultEvent))
    assert result.is_error and result.error_kind == "rejected" and "not now" in result.content


async def test_resume_without_decision_while_waiting_is_refused() -> None:
    runner = Runner(
        Agent(
            name="m",
            model=ScriptedModel([call("send_email", "e", to="a", body="b"), "x"]),
            tools=[send_email],
        )
    )
    await runner.run("t", "go")
    refused = await runner.resume("t")
    assert refused.error is not None and "approval" in refused.error
    assert len(await runner.pending("t")) == 1


async def test_model_failure_is_an_error_event_and_the_thread_resumes() -> None:
    model = ScriptedModel([call("calculator", "c1", expression="2*3")])
    runner = Runner(Agent(name="a", model=model, tools=[calculator]))
    failed = await runner.run("t", "go")
    assert failed.error is not None and "script exhausted" in failed.error
    assert await runner.is_unfinished("t")
    model.turns.append("6")
    resumed = await runner.resume("t")
    assert resumed.final_answer == "6"
    tool_events = [e for e in failed.events + resumed.events if isinstance(e, ToolCallEvent)]
    assert len(tool_events) == 1


async def test_threads_are_isolated_and_keep_history() -> None:
    model = ScriptedModel(["one", "two", "three"])
    runner = Runner(Agent(name="a", model=model))
    await runner.run("x", "first")
    await runner.run("y", "other")
    await runner.run("x", "second")
    assert [m.role for m in model.calls[2]] == ["system", "user", "assistant", "user"]
    assert len(await runner.messages("y")) == 2
    finals = [e for e in (await runner.run("y", "again")).events if isinstance(e, FinalAnswerEvent)]
    assert finals == [] or finals[0].agent == "a"


async def test_tool_policies_set_the_tool_choice_per_step() -> None:
    from hanlin.llm.chat_model import ChatOptions

    seen: list[str] = []

    class Recording(ScriptedModel):
        async def stream(self, messages, *, tools=(), options=None):  # type: ignore[override]
            seen.append((options or ChatOptions()).tool_choice)
            async for item in super().stream(messages, tools=tools, options=options):
                yield item

    turns = [
        call("calculator", "c", expression="1+1"),
        call("calculator", "d", expression="2"),
        "2",
    ]
    runner = Runner(
        Agent(name="a", model=Recording(turns * 2), tools=[calculator], tool_policy="call_first")
    )
    await runner.run("t", "1+1?")
    await runner.run("t", "again")
    assert seen == ["required", "auto", "auto"] * 2

    seen.clear()
    once = Runner(
        Agent(
            name="b",
            model=Recording([call("calculator", "c", expression="1"), "1"]),
            tools=[calculator],
            tool_policy="call_once",
        )
    )
    assert (await once.run("t", "1?")).final_answer == "1"
    assert seen == ["required", "none"]


async def test_empty_reply_gets_feedback_instead_of_an_empty_answer() -> None:
    model = ScriptedModel(["", "Final Answer: 7"])
    result = await Runner(Agent(name="a", model=model)).run("t", "3+4?")
    assert result.final_answer == "7"
    feedback = model.calls[1][-1]
    assert isinstance(feedback, UserMessage) and "empty" in feedback.text()


async def test_a_model_reusing_call_ids_gets_fresh_results_each_turn() -> None:
    counter = {"n": 0}

    @tool
    def tick() -> int:
        """Count calls."""
        counter["n"] += 1
        return counter["n"]

    model = ScriptedModel([call("tick", "call_0"), "first", call("tick", "call_0"), "second"])
    runner = Runner(Agent(name="a", model=model, tools=[tick]))
    await runner.run("same-ids", "tick")
    await runner.run("same-ids", "tick again")
    observations = [m for m in await runner.messages("same-ids") if isinstance(m, ToolMessage)]
    assert [o.content for o in observations] == ["1", "2"] and counter["n"] == 2
