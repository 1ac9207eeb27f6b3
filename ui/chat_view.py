"""A run's events as chat messages: who spoke, live tokens, and collapsible steps.

Produces the message dicts Gradio's ``Chatbot`` shows (``role``, ``content``, ``metadata``
with a ``title`` for a collapsible step). Kept free of Gradio so it is tested directly and the
rest of hanlin never imports the UI toolkit.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hanlin.runtime import (
    ErrorEvent,
    Event,
    FinalAnswerEvent,
    InterruptEvent,
    MemoryRecallEvent,
    MessageEvent,
    PlanEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
)

ChatMessage = dict[str, Any]

# One colour per agent, in order of appearance: coloured squares survive markdown sanitising.
AGENT_MARKERS = ("🟦", "🟩", "🟧", "🟪", "🟥", "🟨", "🟫", "⬛")
_TOOL_MARKUP = re.compile(r"<tool_call>.*?(</tool_call>|$)", re.DOTALL)
RESULT_PREVIEW_CHARS = 4_000


def strip_tool_markup(text: str) -> str:
    """Streamed text without the ``<tool_call>`` blocks a local model writes (shown as steps)."""
    return _TOOL_MARKUP.sub("", text).strip()


def _arguments(arguments: dict[str, Any]) -> str:
    return "```json\n" + json.dumps(arguments, ensure_ascii=False, indent=2) + "\n```"


class ChatTranscript:
    """Folds events into chat messages; ``messages`` is what the chatbot shows now."""

    def __init__(self, history: list[ChatMessage] | None = None) -> None:
        self.messages: list[ChatMessage] = list(history or [])
        self._markers: dict[str, str] = {}
        self._streaming: dict[str, int] = {}  # agent -> index of its live message
        self._raw: dict[str, str] = {}
        self._steps: dict[str, int] = {}  # tool call id -> index of its step
        self._step_titles: dict[str, str] = {}
        self.pending: list[InterruptEvent] = []
        self.final_answer: str | None = None

    def label(self, agent: str | None) -> str:
        name = agent or "assistant"
        marker = self._markers.setdefault(
            name, AGENT_MARKERS[len(self._markers) % len(AGENT_MARKERS)]
        )
        return f"{marker} **{name}**"

    def add_user(self, text: str, attachments: list[str] | None = None) -> None:
        for path in attachments or []:
            self.messages.append({"role": "user", "content": {"path": path}})
        if text:
            self.messages.append({"role": "user", "content": text})

    def apply(self, event: Event) -> None:
        handler = getattr(self, f"_on_{event.kind}")
        handler(event)

    # --- one handler per event kind -----------------------------------------------------------

    def _on_token(self, event: TokenEvent) -> None:
        agent = event.agent or "assistant"
        self._raw[agent] = self._raw.get(agent, "") + event.text
        text = strip_tool_markup(self._raw[agent])
        if agent in self._streaming:
            self.messages[self._streaming[agent]]["content"] = f"{self.label(agent)}\n\n{text}"
        elif text:
            self._streaming[agent] = len(self.messages)
            self.messages.append({"role": "assistant", "content": f"{self.label(agent)}\n\n{text}"})

    def _on_message(self, event: MessageEvent) -> None:
        agent = event.agent or "assistant"
        self._raw.pop(agent, None)
        index = self._streaming.pop(agent, None)
        content = strip_tool_markup(event.content)
        round_number = getattr(event, "round", None)
        prefix = self.label(agent) + (f" · round {round_number}" if round_number else "")
        if getattr(event, "role", None) == "judge":
            prefix += " · judge"
        if not content:
            if index is not None:
                del self.messages[index]
                self._shift_after(index)
            return
        message = {"role": "assistant", "content": f"{prefix}\n\n{content}"}
        if index is None:
            self.messages.append(message)
        else:
            self.messages[index] = message

    def _on_plan(self, event: PlanEvent) -> None:
        steps = "\n".join(f"{n}. {step}" for n, step in enumerate(event.steps, start=1))
        self._step(f"📋 Plan by {event.agent or 'planner'}", steps or "(no steps)", "done")

    def _on_tool_call(self, event: ToolCallEvent) -> None:
        self._close_stream(event.agent)
        call = event.call
        title = f"{event.agent or 'assistant'} → {call.name}"
        self._step_titles[call.id] = title
        self._steps[call.id] = self._step(f"🛠️ {title}", _arguments(call.arguments), "pending")

    def _on_tool_result(self, event: ToolResultEvent) -> None:
        shown = event.content
        if len(shown) > RESULT_PREVIEW_CHARS:
            shown = shown[:RESULT_PREVIEW_CHARS] + f"\n… ({len(event.content)} characters in all)"
        body = f"```\n{shown}\n```"
        icon = "❌" if event.is_error else "✅"
        kind = f" ({event.error_kind})" if event.is_error and event.error_kind else ""
        replayed = " · replayed" if event.replayed else ""
        index = self._steps.get(event.call_id)
        if index is None:
            self._step(f"{icon} {event.name}{kind}{replayed}", body, "done")
            return
        step = self.messages[index]
        step["content"] = f"{step['content']}\n\n**Result{kind}{replayed}**\n{body}"
        title = self._step_titles.get(event.call_id, event.name)
        step["metadata"] = {**step["metadata"], "title": f"{icon} {title}", "status": "done"}

    def _on_memory_recall(self, event: MemoryRecallEvent) -> None:
        listed = "\n".join(f"- {memory}" for memory in event.memories)
        self._step(
            f"🧠 {event.agent or 'assistant'} recalled {len(event.memories)} memories",
            listed,
            "done",
        )

    def _on_interrupt(self, event: InterruptEvent) -> None:
        self.pending.append(event)
        call = event.request.get("call") or {}
        name = call.get("name", "a tool") if isinstance(call, dict) else "a tool"
        arguments = call.get("arguments", {}) if isinstance(call, dict) else {}
        self._step(
            f"⏸️ {event.agent or 'assistant'} asks to run {name}: approve, edit or reject",
            _arguments(arguments),
            "pending",
        )

    def _on_error(self, event: ErrorEvent) -> None:
        self._close_stream(event.agent)
        who = f"{event.agent}: " if event.agent else ""
        self.messages.append(
            {"role": "assistant", "content": f"⚠️ **{event.category}** — {who}{event.message}"}
        )

    def _on_final(self, event: FinalAnswerEvent) -> None:
        self.final_answer = event.content
        self._close_stream(event.agent)
        shown = strip_tool_markup(event.content)
        last = self.messages[-1] if self.messages else None
        if (
            last
            and last.get("role") == "assistant"
            and not last.get("metadata")
            and isinstance(last.get("content"), str)
            and last["content"].endswith(shown)
        ):
            return  # the answer already streamed as the last message
        self.messages.append(
            {"role": "assistant", "content": f"{self.label(event.agent)} · answer\n\n{shown}"}
        )

    def settle_approvals(self, verdict: str) -> None:
        """Mark waiting approval steps as answered (``verdict``: approved, edited, rejected)."""
        for message in self.messages:
            metadata = message.get("metadata") or {}
            if metadata.get("status") == "pending" and str(metadata.get("title", "")).startswith(
                "⏸️"
            ):
                title = metadata["title"].split(": approve, edit or reject")[0]
                message["metadata"] = {
                    **metadata,
                    "title": f"{title} · {verdict}",
                    "status": "done",
                }
        self.pending.clear()

    # --- helpers -------------------------------------------------------------------------------

    def _step(self, title: str, content: str, status: str) -> int:
        self.messages.append(
            {
                "role": "assistant",
                "content": content,
                "metadata": {"title": title, "status": status},
            }
        )
        return len(self.messages) - 1

    def _close_stream(self, agent: str | None) -> None:
        name = agent or "assistant"
        self._streaming.pop(name, None)
        self._raw.pop(name, None)

    def _shift_after(self, removed: int) -> None:
        for table in (self._streaming, self._steps):
            for key, index in table.items():
                if index > removed:
                    table[key] = index - 1


def history_from_messages(messages: list[Any]) -> list[ChatMessage]:
    """A stored thread (hanlin messages) as chat messages, e.g. after the app restarted."""
    from hanlin.llm.messages import AssistantMessage, ToolMessage, UserMessage

    transcript = ChatTranscript()
    for message in messages:
        if isinstance(message, UserMessage):
            text = (
                message.content
                if isinstance(message.content, str)
                else " ".join(getattr(part, "text", f"[{part.type}]") for part in message.content)
            )
            transcript.add_user(text)
        elif isinstance(message, AssistantMessage):
            transcript.apply(MessageEvent(agent=message.name, content=message.content))
            for call in message.tool_calls:
                transcript.apply(ToolCallEvent(agent=message.name, call=call))
        elif isinstance(message, ToolMessage):
            transcript.apply(
                ToolResultEvent(
                    call_id=message.tool_call_id,
                    name=message.name,
                    content=message.content,
                    is_error=message.is_error,
                    error_kind=message.error_kind,
                )
            )
    return transcript.messages
