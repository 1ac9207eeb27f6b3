"""Events become chat messages: live tokens per agent, collapsible steps, approvals, errors."""

from __future__ import annotations

from hanlin.contract.events import (
    ErrorEvent,
    FinalAnswerEvent,
    InterruptEvent,
    MemoryRecallEvent,
    MessageEvent,
    PlanEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from hanlin.llm.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage
from hanlin.ui.chat_view import ChatTranscript, history_from_messages, strip_tool_markup


def test_tokens_stream_into_one_message_per_agent_and_markup_is_hidden() -> None:
    view = ChatTranscript()
    view.add_user("hi")
    for piece in ["Hel", "lo", ' <tool_call>\n{"name": "calc']:
        view.apply(TokenEvent(agent="solver", text=piece))
    assert len(view.messages) == 2
    assert view.messages[1]["content"].endswith("Hello")
    assert "**solver**" in view.messages[1]["content"]
    view.apply(TokenEvent(agent="critic", text="Hm"))
    assert len(view.messages) == 3 and "**critic**" in view.messages[2]["content"]
    assert view.messages[1]["content"].split()[0] != view.messages[2]["content"].split()[0]


def test_a_final_message_replaces_the_stream_and_the_answer_is_not_repeated() -> None:
    view = ChatTranscript()
    view.apply(TokenEvent(agent="a", text="The answer is 4"))
    view.apply(MessageEvent(agent="a", content="The answer is 4."))
    view.apply(FinalAnswerEvent(agent="a", content="The answer is 4."))
    assert [m["content"].split("\n\n")[-1] for m in view.messages] == ["The answer is 4."]
    assert view.final_answer == "The answer is 4."


def test_tool_call_and_result_share_one_collapsible_step() -> None:
    view = ChatTranscript()
    view.apply(
        ToolCallEvent(
            agent="a", call=ToolCall(id="c1", name="calculator", arguments={"expression": "2+2"})
        )
    )
    step = view.messages[0]
    assert step["metadata"] == {"title": "🛠️ a → calculator", "status": "pending"}
    assert '"expression": "2+2"' in step["content"]
    view.apply(ToolResultEvent(agent="a", call_id="c1", name="calculator", content="4"))
    assert step["metadata"] == {"title": "✅ a → calculator", "status": "done"}
    assert "**Result**" in step["content"] and "4" in step["content"]
    view.apply(ToolCallEvent(agent="a", call=ToolCall(id="c2", name="python", arguments={})))
    view.apply(
        ToolResultEvent(
            agent="a",
            call_id="c2",
            name="python",
            content="boom",
            is_error=True,
            error_kind="tool_raised",
        )
    )
    assert view.messages[1]["metadata"]["title"] == "❌ a → python"
    assert "(tool_raised)" in view.messages[1]["content"]


def test_plans_memories_errors_and_approvals_are_shown() -> None:
    view = ChatTranscript()
    view.apply(PlanEvent(agent="planner", steps=["look up", "compute"]))
    view.apply(MemoryRecallEvent(agent="a", memories=["likes tea"]))
    view.apply(
        InterruptEvent(
            agent="a",
            interrupt_id="i1",
            request={"call": {"id": "c1", "name": "python", "arguments": {"code": "print(1)"}}},
        )
    )
    view.apply(ErrorEvent(agent="a", message="server down", category="run_failed"))
    titles = [m.get("metadata", {}) and m["metadata"]["title"] for m in view.messages]
    assert (
        titles[0] == "📋 Plan by planner"
        and "1. look up\n2. compute" in view.messages[0]["content"]
    )
    assert titles[1] == "🧠 a recalled 1 memories" and "likes tea" in view.messages[1]["content"]
    assert titles[2].startswith("⏸️ a asks to run python")
    assert view.pending and view.pending[0].interrupt_id == "i1"
    assert view.messages[3]["content"] == "⚠️ **run_failed** — a: server down"
    view.settle_approvals("approved")
    assert view.messages[2]["metadata"] == {
        "title": "⏸️ a asks to run python · approved",
        "status": "done",
    }
    assert view.pending == []


def test_a_stored_thread_is_rebuilt() -> None:
    call = ToolCall(id="c1", name="calculator", arguments={"expression": "3*3"})
    history = history_from_messages(
        [
            UserMessage(content="3*3?"),
            AssistantMessage(tool_calls=[call], name="assistant"),
            ToolMessage(tool_call_id="c1", name="calculator", content="9"),
            AssistantMessage(content="It is 9.", name="assistant"),
        ]
    )
    assert history[0] == {"role": "user", "content": "3*3?"}
    assert history[1]["metadata"]["title"] == "✅ assistant → calculator"
    assert history[2]["content"].endswith("It is 9.")


def test_strip_tool_markup() -> None:
    assert strip_tool_markup('ok <tool_call>\n{"name": "x"}\n</tool_call> done') == "ok  done"
    assert strip_tool_markup('partial <tool_call>{"na') == "partial"
