"""The chat teams' long-term memory: opened on first use by the process that runs a team.

A team is also built where it never runs (an API process reading a thread's state), and
there nothing is opened: the store's embedding model loads only when an agent first recalls
or keeps something. If the store cannot be opened (Redis without vector search, no
embedding model), memory is off for this process: agents recall nothing and keep nothing
(``MemoryUnavailable``), and the chat goes on.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hanlin.memory import MemoryStore, MemoryStoreConfig
from hanlin.memory.retrying import MemoryUnavailable

log = logging.getLogger(__name__)


class ChatMemoryStore:
    """The parts of ``MemoryStore`` agents and memory tools use, on a store opened lazily."""

    def __init__(self, redis_url: str, *, store: MemoryStore | None = None) -> None:
        self.redis_url = redis_url
        self.problem: str | None = None
        self._store = store
        self._lock = asyncio.Lock()

    @property
    def max_text_chars(self) -> int:
        return self._store.max_text_chars if self._store else MemoryStoreConfig().max_text_chars

    @property
    def curve(self) -> Any:
        """The forgetting curve (for the chat's memory panel), once the store is open."""
        if self._store is None:
            raise MemoryUnavailable(self.problem or "long-term memory is not open yet")
        return self._store.curve

    async def opened(self) -> MemoryStore:
        """The store; raises ``MemoryUnavailable`` (with the reason) when it cannot be opened."""
        if self._store is not None:
            return self._store
        async with self._lock:
            if self._store is None and self.problem is None:
                try:
                    from hanlin.memory.embeddings import MultilingualE5Embedder

                    self._store = await MemoryStore.open(self.redis_url, MultilingualE5Embedder())
                except Exception as exc:  # noqa: BLE001 - the chat works without long-term memory
                    self.problem = f"long-term memory is off: {type(exc).__name__}: {exc}"
                    log.warning(self.problem)
        if self._store is None:
            raise MemoryUnavailable(self.problem or "long-term memory is off")
        return self._store

    async def search(self, *args: Any, **kwargs: Any) -> Any:
        return await (await self.opened()).search(*args, **kwargs)

    async def list(self, *args: Any, **kwargs: Any) -> Any:
        return await (await self.opened()).list(*args, **kwargs)

    async def add(self, *args: Any, **kwargs: Any) -> Any:
        return await (await self.opened()).add(*args, **kwargs)

    async def close(self) -> None:
        if self._store is not None:
            await self._store.close()
            self._store = None
