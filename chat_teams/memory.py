"""The chat teams' long-term memory: opened on first use by the process that runs a team.

A team is also built where it never runs (an API process reading a thread's state), and
there nothing is opened: the store's embedding model loads only when an agent first recalls
or keeps something. The model is loaded once per process and shared; each event loop that
uses the store (the worker's, the chat page's memory panel) gets its own Redis connection,
since an asyncio client belongs to the loop it was made on. If the store cannot be opened
(Redis without vector search, no embedding model), memory is off for this process: agents
recall nothing and keep nothing (``MemoryUnavailable``), and the chat goes on.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from typing import Any

from hanlin.memory import MemoryStore, MemoryStoreConfig
from hanlin.memory.retrying import MemoryUnavailable

log = logging.getLogger(__name__)


class ChatMemoryStore:
    """The parts of ``MemoryStore`` agents, memory tools and the memory panel use, on stores
    opened lazily (one per event loop, one embedding model for all)."""

    def __init__(
        self,
        redis_url: str,
        *,
        embedder: Any = None,
        config: MemoryStoreConfig | None = None,
    ) -> None:
        self.redis_url = redis_url
        self.config = config or MemoryStoreConfig()
        self.problem: str | None = None
        self._embedder = embedder
        self._embedder_lock = threading.Lock()
        self._stores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, MemoryStore] = (
            weakref.WeakKeyDictionary()
        )
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def max_text_chars(self) -> int:
        return self.config.max_text_chars

    @property
    def curve(self) -> Any:
        """The forgetting curve (for the chat's memory panel), once a store is open."""
        for store in list(self._stores.values()):
            return store.curve
        raise MemoryUnavailable(self.problem or "long-term memory is not open yet")

    def _shared_embedder(self) -> Any:
        with self._embedder_lock:
            if self._embedder is None:
                from hanlin.llm.embeddings import default_embedder

                self._embedder = default_embedder()
            return self._embedder

    async def opened(self) -> MemoryStore:
        """This loop's store; raises ``MemoryUnavailable`` (with the reason) when it cannot be
        opened."""
        loop = asyncio.get_running_loop()
        store = self._stores.get(loop)
        if store is not None:
            return store
        lock = self._locks.setdefault(loop, asyncio.Lock())
        async with lock:
            if loop not in self._stores and self.problem is None:
                try:
                    embedder = await asyncio.to_thread(self._shared_embedder)
                    self._stores[loop] = await MemoryStore.open(
                        self.redis_url, embedder, config=self.config
                    )
                except Exception as exc:  # noqa: BLE001 - the chat works without long-term memory
                    self.problem = f"long-term memory is off: {type(exc).__name__}: {exc}"
                    log.warning(self.problem)
        store = self._stores.get(loop)
        if store is None:
            raise MemoryUnavailable(self.problem or "long-term memory is off")
        return store

    async def search(self, *args: Any, **kwargs: Any) -> Any:
        return await (await self.opened()).search(*args, **kwargs)

    async def list(self, *args: Any, **kwargs: Any) -> Any:
        return await (await self.opened()).list(*args, **kwargs)

    async def add(self, *args: Any, **kwargs: Any) -> Any:
        return await (await self.opened()).add(*args, **kwargs)

    async def close(self) -> None:
        """Closes this loop's store (another loop's connection ends with its loop)."""
        store = self._stores.pop(asyncio.get_running_loop(), None)
        if store is not None:
            await store.close()
