"""Tool-result journal: makes a resumed tool step idempotent.

When a process dies in the middle of a tool step, LangGraph re-runs the whole node on resume.
Every finished call is recorded under (thread, call id) the moment it completes, so the
re-run replays recorded results instead of executing the tools a second time.
"""

from __future__ import annotations

from typing import Protocol

from hanlin.llm.messages import ToolMessage


class ToolJournal(Protocol):
    async def get(self, thread_id: str, call_id: str) -> ToolMessage | None: ...

    async def put(self, thread_id: str, call_id: str, result: ToolMessage) -> None: ...


class MemoryToolJournal:
    """Process-local journal, for runs without a durable checkpointer."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], ToolMessage] = {}

    async def get(self, thread_id: str, call_id: str) -> ToolMessage | None:
        return self._items.get((thread_id, call_id))

    async def put(self, thread_id: str, call_id: str, result: ToolMessage) -> None:
        self._items[(thread_id, call_id)] = result
