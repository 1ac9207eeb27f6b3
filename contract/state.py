"""The graph state shared by hanlin's planners.

Messages are stored as JSON-ready dicts, not objects, so checkpoints hold only plain data and
strict deserialization never has to revive a class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, TypedDict

from hanlin.llm.messages import Message, messages_from_dicts


def append_messages(
    left: list[dict[str, Any]], right: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    return [*(left or []), *(right or [])]


class AgentState(TypedDict, total=False):
    messages: Annotated[list[dict[str, Any]], append_messages]
    steps: int
    final_answer: str | None
    context: str | None  # extra system-prompt text for this turn, e.g. recalled memories
    summary: str | None  # older messages folded into a summary by a short-term window
    folded: int  # how many leading messages the summary covers


def state_messages(state: AgentState) -> list[Message]:
    return messages_from_dicts(state.get("messages") or [])


def dump(message: Message) -> dict[str, Any]:
    return message.model_dump(mode="json", exclude_none=True)


def initial_state(messages: Sequence[Message], *, context: str | None = None) -> dict[str, Any]:
    """The state a turn starts from: its new messages, a fresh step count, no answer yet."""
    return {
        "messages": [dump(m) for m in messages],
        "steps": 0,
        "final_answer": None,
        "context": context,
    }
