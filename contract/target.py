"""What a ``Runner`` (and a supervisor, and the service) can run: a named graph builder.

Agents and teams satisfy it by building their own LangGraph graph. ``prepare`` is optional:
targets that have it turn a user's attachments into what their models can read (perception),
and the runner calls it once per turn, for agents and teams alike.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from langgraph.graph import StateGraph

from hanlin.contract.journal import ToolJournal
from hanlin.llm.messages import UserMessage


@runtime_checkable
class RunTarget(Protocol):
    """Anything with a name and a ``graph()``: an agent, a team, or your own class."""

    name: str

    def graph(self, *, journal: ToolJournal | None = None) -> StateGraph: ...


@runtime_checkable
class Perceiving(Protocol):
    """A target that prepares a user's message (attachments) before its turn starts."""

    async def prepare(self, message: UserMessage) -> UserMessage: ...


def require_run_target(value: object, *, role: str = "target") -> RunTarget:
    """``value`` as a ``RunTarget``, or a TypeError saying what is missing."""
    if isinstance(value, RunTarget) and isinstance(getattr(value, "name", None), str):
        return value
    raise TypeError(
        f"{role} must be an agent or team (a str `name` and a `graph(journal=...)` method), "
        f"got {type(value).__name__}"
    )
