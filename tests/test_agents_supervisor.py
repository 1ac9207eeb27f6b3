"""Supervisor with scripted models: the exact hand-off flow, routing errors, limits, approvals."""

from __future__ import annotations

import pytest

from hanlin.agents.agent import Agent
from hanlin.agents.supervisor import Supervisor
from hanlin.contract.approval import ApprovalDecision
from hanlin.contract.events import (
    ErrorEvent,
    FinalAnswerEvent,
    MessageEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from hanlin.llm.chat_model import BaseChatModel, ChatResult, Completed
from hanlin.llm.messages import AssistantMessage, Message, SystemMessage, ToolMessage, UserMessage
from hanlin.llm.scripted import ScriptedModel, call
from hanlin.llm.toolcalls.parsing import parse_tool_calls
from hanlin.runtime.runner import Runner
from hanlin.tools import tool
from hanlin.tools.builtin.calculator import calculator

sent: list[str] = []


@tool(requires_approval=True)
def publish(text: str) -> str:
    """Publish a text.

    Args:
        text: What to publish.
    """
    sent.append(text)
    return f"published: {text}"


def team(boss: ScriptedModel, a: ScriptedModel, b: ScriptedModel, **kwargs) -> Supervisor:
    researcher = Agent(
        name="researcher", model=a, instructions="You find facts.", tools=[calculator]
    )
    writer = Agent(name="writer", model=b, instructions="You write summaries.")
    return Supervisor(name="boss", model=boss, members=[researcher, writer], **kwargs)


async def test_supervisor_delegates_to_a_then_b_then_finishes() -> None:
    boss = ScriptedModel(
        [
            call("transfer_to_researcher", "h1", task="Compute 6*7."),
            call("transfer_to_writer", "h2", task="Write one sentence about 42."),
            call("finish", "h3", answer="The answer is 42."),
        ]
    )
    a = ScriptedModel([call("calculator", "c1", expression="6*7"), "Final Answer: 42"])
    b = ScriptedModel(["42 is the answer."])
    result = await Runner(team(boss, a, b)).run("t1", "What is 6*7? Explain briefly.")

    assert result.final_answer == "The answer is 42." and result.error is None
    # The supervisor saw the roster and both hand-off tools plus finish.
    assert isinstance(boss.calls[0][0], SystemMessage) and "researcher" in boss.calls[0][0].content
    assert [t.name for t in boss.tools_seen[0]] == [
        "transfer_to_researcher",
        "transfer_to_writer",
        "finish",
    ]
    assert boss.calls[0][1:] == [UserMessage(content="What is 6*7? Explain briefly.")]
    # Member A got the delegated task as its only user message, ran its own tool loop.
    assert a.calls[0][0] == SystemMessage(content="You find facts.")
    assert a.calls[0][1:] == [UserMessage(content="Compute 6*7.")]
    assert isinstance(a.calls[1][-1], ToolMessage) and a.calls[1][-1].content == "42"
    # A's result is the supervisor's observation of the hand-off call.
    observation = boss.calls[1][-1]
    assert observation == ToolMessage(
        tool_call_id="h1", name="transfer_to_researcher", content="42"
    )
    assert b.calls[0][1:] == [UserMessage(content="Write one sentence about 42.")]
    assert boss.calls[2][-1] == ToolMessage(
        tool_call_id="h2", name="transfer_to_writer", content="42 is the answer."
    )
    assert len(boss.calls) == 3

    # Events carry the acting agent's name, in order; only the team's final answer is final.
    spoken = [
        (e.agent, e.content, [c.name for c in e.tool_calls])
        for e in result.events
        if isinstance(e, MessageEvent)
    ]
    assert spoken == [
        ("boss", "", ["transfer_to_researcher"]),
        ("researcher", "", ["calculator"]),
        ("researcher", "Final Answer: 42", []),
        ("boss", "", ["transfer_to_writer"]),
        ("writer", "42 is the answer.", []),
        ("boss", "", ["finish"]),
    ]
    tools = [(e.agent, e.call.name) for e in result.events if isinstance(e, ToolCallEvent)]
    assert tools == [
        ("boss", "transfer_to_researcher"),
        ("researcher", "calculator"),
        ("boss", "transfer_to_writer"),
        ("boss", "finish"),
    ]
    finals = [e for e in result.events if isinstance(e, FinalAnswerEvent)]
    assert [(e.agent, e.content) for e in finals] == [("boss", "The answer is 42.")]


async def test_unknown_member_is_a_categorized_observation_then_recovery() -> None:
    boss = ScriptedModel(
        [
            call("transfer_to_lawyer", "h1", task="Check it."),
            call("transfer_to_writer", "h2"),  # no task
            call("transfer_to_writer", "h3", task="Say hi."),
            "Final Answer: hi",  # a plain answer also finishes
        ]
    )
    b = ScriptedModel(["hi"])
    result = await Runner(team(boss, ScriptedModel([]), b)).run("t", "greet")

    unknown = boss.calls[1][-1]
    assert (
        isinstance(unknown, ToolMessage)
        and unknown.is_error
        and unknown.error_kind == "unknown_tool"
    )
    assert "transfer_to_lawyer" in unknown.content
    assert "Valid options: transfer_to_researcher, transfer_to_writer, finish" in unknown.content
    missing = boss.calls[2][-1]
    assert isinstance(missing, ToolMessage) and missing.error_kind == "missing_parameter"
    assert "task" in missing.content
    assert boss.calls[3][-1] == ToolMessage(
        tool_call_id="h3", name="transfer_to_writer", content="hi"
    )
    assert result.final_answer == "hi"
    errors = [(e.agent, e.category) for e in result.events if isinstance(e, ErrorEvent)]
    assert errors == [("boss", "unknown_tool"), ("boss", "missing_parameter")]
    assert result.error is None and len(b.calls) == 1


async def test_handoff_limit_is_refused_and_supervisor_finishes() -> None:
    boss = ScriptedModel(
        [
            call("transfer_to_writer", "h1", task="one"),
            call("transfer_to_writer", "h2", task="two"),
            call("transfer_to_writer", "h3", task="three"),
            call("finish", "h4", answer="done"),
        ]
    )
    b = ScriptedModel(["first", "second", "never"])
    result = await Runner(team(boss, ScriptedModel([]), b, max_handoffs=2)).run("t", "go")

    assert len(b.calls) == 2, "the third hand-off is refused, the member never runs"
    refused = boss.calls[3][-1]
    assert (
        isinstance(refused, ToolMessage) and refused.is_error and refused.error_kind == "rejected"
    )
    assert "hand-off limit (2)" in refused.content
    assert any(isinstance(e, ErrorEvent) and e.category == "handoff_limit" for e in result.events)
    assert result.final_answer == "done"


async def test_supervisor_step_limit_ends_the_run_with_an_error() -> None:
    boss = ScriptedModel([call("transfer_to_nobody", f"h{i}", task="x") for i in range(3)])
    result = await Runner(team(boss, ScriptedModel([]), ScriptedModel([]), max_steps=3)).run(
        "t", "go"
    )
    assert result.final_answer is None and result.error is not None and "3 steps" in result.error
    assert len(boss.calls) == 3


async def test_member_approval_surfaces_and_resumes() -> None:
    sent.clear()
    boss = ScriptedModel(
        [
            call("transfer_to_poster", "h1", task="Publish hello."),
            call("finish", "h2", answer="Published."),
        ]
    )
    poster = ScriptedModel([call("publish", "p1", text="hello"), "posted"])
    other = Agent(name="writer", model=ScriptedModel([]))
    runner = Runner(
        Supervisor(
            name="boss",
            model=boss,
            members=[Agent(name="poster", model=poster, tools=[publish]), other],
        )
    )

    paused = await runner.run("t", "publish hello")
    assert paused.final_answer is None and len(paused.pending) == 1
    assert (
        paused.pending[0].agent == "poster"
        and paused.pending[0].request["call"]["name"] == "publish"
    )
    assert sent == [] and await runner.is_unfinished("t")

    done = await runner.resume("t", ApprovalDecision(action="approve"))
    assert sent == ["hello"] and done.final_answer == "Published."
    assert len(poster.calls) == 2 and len(boss.calls) == 2, "nothing re-ran on resume"
    assert boss.calls[1][-1] == ToolMessage(
        tool_call_id="h1", name="transfer_to_poster", content="posted"
    )
    results = [(e.agent, e.name) for e in done.events if isinstance(e, ToolResultEvent)]
    assert results == [("poster", "publish"), ("boss", "transfer_to_poster"), ("boss", "finish")]


async def test_second_turn_on_the_same_thread_keeps_the_history() -> None:
    boss = ScriptedModel(
        [call("finish", "f1", answer="first"), call("finish", "f1", answer="second")]
    )
    runner = Runner(team(boss, ScriptedModel([]), ScriptedModel([])))
    assert (await runner.run("t", "one")).final_answer == "first"
    assert (await runner.run("t", "two")).final_answer == "second"
    history = boss.calls[1][1:]
    assert history[0] == UserMessage(content="one")
    assert history[-2] == AssistantMessage(content="first", name="boss")
    assert history[-1] == UserMessage(content="two")


def test_bad_configuration_is_refused() -> None:
    model = ScriptedModel([])
    with pytest.raises(ValueError, match="unique"):
        Supervisor(
            model=model, members=[Agent(name="a b", model=model), Agent(name="a_b", model=model)]
        )
    with pytest.raises(ValueError, match="also a member"):
        Supervisor(name="a", model=model, members=[Agent(name="a", model=model)])
    with pytest.raises(ValueError, match="unknown members"):
        Supervisor(model=model, members=[Agent(name="a", model=model)], descriptions={"z": "?"})


class TextToolModel(BaseChatModel):
    """Writes its turns as text and reads tool calls back with hanlin's text parser, the way
    local backends without native tool calling do."""

    name = "text-tools"

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.calls: list[list[Message]] = []

    async def stream(self, messages, *, tools=(), options=None):  # type: ignore[override]
        self.calls.append(list(messages))
        parsed = parse_tool_calls(self.texts[len(self.calls) - 1], tools)
        message = AssistantMessage(content=parsed.content, tool_calls=parsed.calls)
        yield Completed(result=ChatResult(message=message, tool_errors=parsed.errors))


async def test_routing_through_text_tool_calls() -> None:
    boss = TextToolModel(
        [
            '<tool_call>{"name": "transfer_to_lawyer", "arguments": {"task": "x"}}</tool_call>',
            (
                'Let me ask the writer.\n<tool_call>{"name": "transfer_to_writer", "arguments": '
                '{"task": "Say hi."}}</tool_call>'
            ),
            '<tool_call>{"name": "finish", "arguments": {"answer": "hi there"}}</tool_call>',
        ]
    )
    b = ScriptedModel(["hi"])
    result = await Runner(team(boss, ScriptedModel([]), b)).run("t", "greet")  # type: ignore[arg-type]

    feedback = boss.calls[1][-1]
    assert isinstance(feedback, UserMessage) and "unknown_tool" in feedback.text()
    assert "transfer_to_writer" in feedback.text()
    assert b.calls[0][1:] == [UserMessage(content="Say hi.")]
    observation = boss.calls[2][-1]
    assert isinstance(observation, ToolMessage) and observation.content == "hi"
    assert observation.name == "transfer_to_writer"
    assert result.final_answer == "hi there"


async def test_teams_nest_a_debate_and_a_supervisor_inside_a_supervisor() -> None:
    from hanlin.agents.debate import Debate, DebateAgent

    debaters = [
        ScriptedModel(["The result is \\boxed{12}."] * 2),
        ScriptedModel(["I get \\boxed{12}.", "Still \\boxed{12}."]),
    ]
    panel = Debate(
        name="panel",
        agents=[DebateAgent(name=f"d{i}", model=m) for i, m in enumerate(debaters)],
        rounds=2,
    )
    inner_boss = ScriptedModel(
        [
            call("transfer_to_writer", "w1", task="Say 12 nicely."),
            call("finish", "f1", answer="Twelve, nicely."),
        ]
    )
    writer = Agent(name="writer", model=ScriptedModel(["Twelve it is."]), instructions="You write.")
    desk = Supervisor(name="desk", model=inner_boss, members=[writer])
    top = ScriptedModel(
        [
            call("transfer_to_panel", "p1", task="What is 3*4?"),
            call("transfer_to_desk", "d1", task="Phrase the result 12."),
            call("finish", "f0", answer="3*4 = 12 (Twelve, nicely.)"),
        ]
    )
    result = await Runner(Supervisor(name="chief", model=top, members=[panel, desk])).run(
        "nested", "What is 3*4, nicely put?"
    )

    assert result.final_answer == "3*4 = 12 (Twelve, nicely.)" and result.error is None
    roster = top.calls[0][0].content
    assert "a Debate team" in roster and "a Supervisor team" in roster
    # The debate ran its two rounds on the delegated task and voted; its answer came back.
    assert all(m.served == 2 for m in debaters)
    assert "What is 3*4?" in debaters[0].calls[0][-1].content
    panel_result = next(m for m in top.calls[1] if isinstance(m, ToolMessage))
    assert panel_result.content == "12"
    # The nested supervisor delegated to its own member and its answer reached the chief.
    desk_result = [m for m in top.calls[2] if isinstance(m, ToolMessage)][-1]
    assert desk_result.content == "Twelve, nicely."
    speakers = {e.agent for e in result.events if isinstance(e, MessageEvent)}
    assert {"chief", "d0", "d1", "desk", "writer"} <= speakers
    finals = [e for e in result.events if isinstance(e, FinalAnswerEvent)]
    assert [e.agent for e in finals] == ["chief"]  # inner answers are results, not the run's


def test_a_member_must_be_an_agent_or_a_team() -> None:
    with pytest.raises(TypeError, match="must be an agent or team"):
        Supervisor(model=ScriptedModel([]), members=["not an agent"])
