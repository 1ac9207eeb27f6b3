"""MemoryBank's memory-augmented prompt: what the model is told it remembers, per turn.

The current user message is the query. The memories most similar to it are recalled (which
strengthens them against forgetting) and shown with the day they are from, together with
the global event summary and the user's portrait, the two records MemoryBank keeps up to
date across all days.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from hanlin.memory.prompts import Language, RetrievedMemory, check_language, memory_system_section
from hanlin.memory.records import MemoryKind, ScoredMemory
from hanlin.memory.store import MemoryStore

# What a search may recall. The global summary and the portrait are always shown in full, and
# the daily personality notes are raw material for the portrait, so none of them is searched.
RECALLED_KINDS: tuple[MemoryKind, ...] = ("turn", "daily_summary", "experience", "reflection")


class MemoryContext(BaseModel):
    """The memory section for the system prompt, and what went into it."""

    text: str  # "" when there is nothing to remember yet
    recalled: list[ScoredMemory] = Field(default_factory=list)  # best match first
    global_summary: str | None = None
    portrait: str | None = None

    @property
    def event_memories(self) -> list[str]:
        """The recalled memories as one dated line each, for a recall event."""
        return [f"[{m.record.day}] {m.record.text}" for m in self.recalled]


async def build_memory_context(
    store: MemoryStore,
    user_id: str,
    query: str,
    *,
    k: int = 3,
    language: Language = "en",
    agent_id: str | None = None,
    kinds: Sequence[MemoryKind] = RECALLED_KINDS,
    min_score: float | None = None,
) -> MemoryContext:
    """Recall the ``k`` memories closest to ``query`` and build the prompt section.

    ``agent_id`` limits everything to that agent's memories of the user (None: any agent's).
    ``min_score`` drops recalled memories whose cosine similarity is lower (they are still
    strengthened, since the search found them).
    """
    language = check_language(language)
    recalled: list[ScoredMemory] = []
    if query.strip():
        recalled = await store.search(user_id, query, k=k, kinds=list(kinds), agent_id=agent_id)
        if min_score is not None:
            recalled = [m for m in recalled if m.score >= min_score]
    global_summary = await _latest_text(store, user_id, agent_id, "global_summary")
    portrait = await _latest_text(store, user_id, agent_id, "portrait")
    chronological = sorted(recalled, key=lambda m: (m.record.day, m.record.created_at))
    text = memory_system_section(
        [
            RetrievedMemory(day=m.record.day, kind=m.record.kind, text=m.record.text)
            for m in chronological
        ],
        global_summary=global_summary,
        portrait=portrait,
        language=language,
    )
    return MemoryContext(
        text=text, recalled=recalled, global_summary=global_summary, portrait=portrait
    )


async def _latest_text(
    store: MemoryStore, user_id: str, agent_id: str | None, kind: MemoryKind
) -> str | None:
    views = await store.list(user_id, agent_id=agent_id, kinds=[kind], limit=1)
    return views[0].record.text if views else None
