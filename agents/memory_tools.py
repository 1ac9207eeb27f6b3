"""Long-term memory as tools, so an agent can look things up and write things down itself.

Both tools are bound to one user and one agent when they are made: the model chooses only
the query or the text, never whose memory it reads or writes.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hanlin.memory.augment import RECALLED_KINDS
from hanlin.memory.records import MemoryKind, ScoredMemory
from hanlin.memory.store import MemoryStore
from hanlin.tools.tool import Tool


class MemorySearchArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, description="What to look for, in the user's own words.")
    k: int = Field(default=3, ge=1, le=10, description="How many memories to return (1-10).")

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the query must contain some text")
        return value


class MemoryStoreArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        min_length=1,
        max_length=4000,
        description="The fact or note to remember, as one self-contained sentence.",
    )

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the text to remember must not be blank")
        return value.strip()


def format_hits(hits: list[ScoredMemory]) -> str:
    lines = [
        f"[{hit.record.day}] ({hit.record.kind}, similarity {hit.score:.2f}) {hit.record.text}"
        for hit in hits
    ]
    return "\n".join(lines)


class MemorySearchTool(Tool):
    """Search long-term memory of this user; returns matching memories with their dates."""

    name = "memory_search"
    Args = MemorySearchArgs

    def __init__(
        self, store: MemoryStore, user_id: str, agent_id: str, *, all_agents: bool = False
    ) -> None:
        self.store = store
        self.user_id = user_id
        self.agent_id = agent_id
        self.all_agents = all_agents

    async def run(self, args: MemorySearchArgs) -> str:
        hits = await self.store.search(
            self.user_id,
            args.query,
            k=args.k,
            kinds=list(RECALLED_KINDS),
            agent_id=None if self.all_agents else self.agent_id,
        )
        if not hits:
            return f"No memories match {args.query!r}."
        return format_hits(hits)


class MemoryStoreTool(Tool):
    """Save a fact or note about this user to long-term memory, to recall in later sessions."""

    name = "memory_store"
    Args = MemoryStoreArgs

    def __init__(
        self, store: MemoryStore, user_id: str, agent_id: str, *, kind: MemoryKind = "experience"
    ) -> None:
        self.store = store
        self.user_id = user_id
        self.agent_id = agent_id
        self.kind = kind

    async def run(self, args: MemoryStoreArgs) -> str:
        record = await self.store.add(
            self.user_id,
            self.agent_id,
            args.text,
            kind=self.kind,
            metadata={"source": "memory_store"},
        )
        return f"Remembered (memory {record.id}, {record.day})."


def memory_tools(
    store: MemoryStore,
    user_id: str,
    agent_id: str,
    *,
    all_agents: bool = False,
    store_kind: MemoryKind = "experience",
) -> list[Tool]:
    """``memory_search`` and ``memory_store`` bound to this user and agent.

    ``all_agents`` lets the search see what other agents remember of the user; notes are
    stored as ``store_kind`` (``experience``: kept until deleted; ``turn``: fades as
    dialogue does).
    """
    if not user_id or not agent_id:
        raise ValueError("memory tools need a non-empty user_id and agent_id")
    return [
        MemorySearchTool(store, user_id, agent_id, all_agents=all_agents),
        MemoryStoreTool(store, user_id, agent_id, kind=store_kind),
    ]
