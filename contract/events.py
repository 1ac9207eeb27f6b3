"""Typed events a run streams to its caller.

Nodes emit them through LangGraph's stream writer as the model objects themselves (the
stream is not checkpointed, so nothing is serialized on the way); dicts of the same shape
are validated back into models. Keeping them here, below the runtime,
lets planners and agents emit events without reaching upward.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from hanlin.llm.messages import ToolCall


class _Event(BaseModel):
    agent: str | None = None


class TokenEvent(_Event):
    kind: Literal["token"] = "token"
    text: str


class MessageEvent(_Event):
    """A complete assistant turn (text and any tool calls) from one agent."""

    kind: Literal["message"] = "message"
    content: str
    tool_calls: list[ToolCall] = Field(default_factory=list)
    # A team's speaker may say more: the round it speaks in and its part (a debate's
    # "debater" or "judge"). Fields here, not only in a subclass, so they survive the trip
    # through JSON to another process.
    round: int | None = None
    role: str | None = None


class PlanEvent(_Event):
    kind: Literal["plan"] = "plan"
    steps: list[str]


class ToolCallEvent(_Event):
    kind: Literal["tool_call"] = "tool_call"
    call: ToolCall


class ToolResultEvent(_Event):
    kind: Literal["tool_result"] = "tool_result"
    call_id: str
    name: str
    content: str
    is_error: bool = False
    error_kind: str | None = None
    replayed: bool = Field(
        default=False, description="True when the result came from the journal, not a new run."
    )


class MemoryRecallEvent(_Event):
    kind: Literal["memory_recall"] = "memory_recall"
    memories: list[str]


class InterruptEvent(_Event):
    """The run paused for a person: ``request`` says what is asked (e.g. a tool approval)."""

    kind: Literal["interrupt"] = "interrupt"
    interrupt_id: str
    request: dict[str, Any]


class ErrorEvent(_Event):
    kind: Literal["error"] = "error"
    message: str
    category: str = "error"


class FinalAnswerEvent(_Event):
    kind: Literal["final"] = "final"
    content: str


Event = Annotated[
    TokenEvent
    | MessageEvent
    | PlanEvent
    | ToolCallEvent
    | ToolResultEvent
    | MemoryRecallEvent
    | InterruptEvent
    | ErrorEvent
    | FinalAnswerEvent,
    Field(discriminator="kind"),
]

event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def emit(event: _Event) -> None:
    """Send an event to the caller's stream; a no-op outside a streaming run."""
    from langgraph.config import get_stream_writer

    try:
        writer = get_stream_writer()
    except RuntimeError:
        return
    writer(event)
