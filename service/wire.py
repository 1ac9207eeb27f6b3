"""A run's stream as Server-Sent Events, in the Agent Protocol's stream modes.

``values`` and ``updates`` are the graph's own; ``custom`` carries hanlin's typed events as
they are; ``messages-tuple`` (``event: messages``, ``[message, metadata]``) and ``messages``
(``messages/metadata``, ``messages/partial``, ``messages/complete``) rebuild chat messages
from the token, message and tool-result events, shaped as LangChain serializes messages
(``type``, ``id``, ``content``, ``tool_calls``), which the SDK's consumers read.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from pydantic_core import to_jsonable_python

from hanlin.runtime import Event, MessageEvent, TokenEvent, ToolResultEvent

SsePart = tuple[str, str]  # (event name, JSON data)
ALWAYS_SENT = frozenset({"metadata", "error", "end"})


def dumps(value: Any) -> str:
    return json.dumps(to_jsonable_python(value, fallback=repr), ensure_ascii=False)


def interrupts_json(items: Sequence[Any]) -> list[dict[str, Any]]:
    """LangGraph ``Interrupt`` objects as the SDK's ``{"value", "id"}`` dicts."""
    return [{"value": to_jsonable_python(i.value, fallback=repr), "id": str(i.id)} for i in items]


def with_interrupts(chunk: dict[str, Any]) -> dict[str, Any]:
    if "__interrupt__" not in chunk:
        return chunk
    return {**chunk, "__interrupt__": interrupts_json(chunk["__interrupt__"])}


def mode_of(event: str) -> str | None:
    """The stream mode an SSE event belongs to (None: sent in every mode)."""
    if event in ALWAYS_SENT:
        return None
    if event == "messages":
        return "messages-tuple"
    return event.split("/", 1)[0]


def _ai(
    message_id: str, content: str, agent: str | None, *, chunk: bool, tool_calls: Sequence[Any] = ()
) -> dict[str, Any]:
    return {
        "type": "AIMessageChunk" if chunk else "ai",
        "id": message_id,
        "content": content,
        "name": agent,
        "tool_calls": [
            {"id": c.id, "name": c.name, "args": c.arguments, "type": "tool_call"}
            for c in tool_calls
        ],
        "additional_kwargs": {},
        "response_metadata": {},
    }


def _tool(event: ToolResultEvent) -> dict[str, Any]:
    return {
        "type": "tool",
        "id": f"tool-{event.call_id}",
        "content": event.content,
        "name": event.name,
        "tool_call_id": event.call_id,
        "status": "error" if event.is_error else "success",
        "additional_kwargs": {},
        "response_metadata": {},
    }


class PartTranslator:
    """Turns one run's drive items into SSE parts for the modes the run asked for."""

    def __init__(self, run_id: str, modes: Sequence[str]) -> None:
        self.run_id = run_id
        self.modes = frozenset(modes)
        self._open: dict[str | None, str] = {}  # agent -> id of the message being streamed
        self._text: dict[str, str] = {}

    def translate(self, mode: str, item: Any) -> list[SsePart]:
        if mode in ("values", "updates"):
            return [(mode, dumps(with_interrupts(item)))] if mode in self.modes else []
        return self._event(item)

    def _event(self, event: Event) -> list[SsePart]:
        parts: list[SsePart] = []
        if "custom" in self.modes:
            parts.append(("custom", dumps(event.model_dump(mode="json"))))
        if self.modes & {"messages", "messages-tuple"}:
            parts.extend(self._messages(event))
        return parts

    def _meta(self, agent: str | None) -> dict[str, Any]:
        return {"run_id": self.run_id, "langgraph_node": agent or "", "agent": agent}

    def _start(self, agent: str | None) -> tuple[str, list[SsePart]]:
        if agent in self._open:
            return self._open[agent], []
        message_id = f"msg-{uuid.uuid4().hex[:16]}"
        self._open[agent] = message_id
        self._text[message_id] = ""
        if "messages" not in self.modes:
            return message_id, []
        meta = {message_id: {"metadata": self._meta(agent)}}
        return message_id, [("messages/metadata", dumps(meta))]

    def _messages(self, event: Event) -> list[SsePart]:
        if isinstance(event, TokenEvent):
            return self._token(event)
        if isinstance(event, MessageEvent):
            return self._complete(event)
        if isinstance(event, ToolResultEvent):
            return self._tool_result(event)
        return []

    def _token(self, event: TokenEvent) -> list[SsePart]:
        message_id, parts = self._start(event.agent)
        self._text[message_id] += event.text
        if "messages-tuple" in self.modes:
            chunk = _ai(message_id, event.text, event.agent, chunk=True)
            parts.append(("messages", dumps([chunk, self._meta(event.agent)])))
        if "messages" in self.modes:
            partial = _ai(message_id, self._text[message_id], event.agent, chunk=False)
            parts.append(("messages/partial", dumps([partial])))
        return parts

    def _complete(self, event: MessageEvent) -> list[SsePart]:
        message_id, parts = self._start(event.agent)
        streamed = bool(self._text.pop(message_id, ""))
        del self._open[event.agent]
        if "messages-tuple" in self.modes and (event.tool_calls or not streamed):
            chunk = _ai(
                message_id,
                "" if streamed else event.content,
                event.agent,
                chunk=True,
                tool_calls=event.tool_calls,
            )
            parts.append(("messages", dumps([chunk, self._meta(event.agent)])))
        if "messages" in self.modes:
            full = _ai(
                message_id, event.content, event.agent, chunk=False, tool_calls=event.tool_calls
            )
            parts.append(("messages/complete", dumps([full])))
        return parts

    def _tool_result(self, event: ToolResultEvent) -> list[SsePart]:
        message = _tool(event)
        parts: list[SsePart] = []
        if "messages-tuple" in self.modes:
            parts.append(("messages", dumps([message, self._meta(event.agent)])))
        if "messages" in self.modes:
            meta = {message["id"]: {"metadata": self._meta(event.agent)}}
            parts.append(("messages/metadata", dumps(meta)))
            parts.append(("messages/complete", dumps([message])))
        return parts
