"""Who owns which chat thread. Thread ids are made here, so no client can pick or guess one in.

An owner is the identity the server established for a request (the login, or the browser's
signed cookie), never an id a client sent. Kept in Redis next to the checkpoints, so a thread
keeps its owner when the app restarts; in memory for ``--memory-only``.
"""

from __future__ import annotations

import secrets
from typing import Any


def new_thread_id() -> str:
    return f"web-{secrets.token_hex(12)}"


class ThreadRegistry:
    """``owner`` of each issued thread, and each owner's most recently used thread."""

    def __init__(self, redis_url: str | None = None, *, prefix: str = "hanlin:ui") -> None:
        self._prefix = prefix
        self._redis: Any = None
        if redis_url is not None:
            from redis.asyncio import Redis

            self._redis = Redis.from_url(redis_url, decode_responses=True)
        self._owners: dict[str, str] = {}
        self._latest: dict[str, str] = {}

    async def issue(self, owner: str) -> str:
        """A new thread for ``owner``, which becomes their latest."""
        thread_id = new_thread_id()
        if self._redis is None:
            self._owners[thread_id] = owner
        elif not await self._redis.set(self._key("owner", thread_id), owner, nx=True):
            raise RuntimeError(f"thread id {thread_id} was issued twice")
        await self.use(owner, thread_id)
        return thread_id

    async def owner(self, thread_id: str) -> str | None:
        if self._redis is None:
            return self._owners.get(thread_id)
        value = await self._redis.get(self._key("owner", thread_id))
        return str(value) if value is not None else None

    async def owns(self, owner: str, thread_id: str) -> bool:
        return bool(owner) and await self.owner(thread_id) == owner

    async def use(self, owner: str, thread_id: str) -> None:
        """Marks ``thread_id`` as the thread a new page of ``owner`` opens."""
        if self._redis is None:
            self._latest[owner] = thread_id
        else:
            await self._redis.set(self._key("latest", owner), thread_id)

    async def latest(self, owner: str) -> str | None:
        if self._redis is None:
            return self._latest.get(owner)
        value = await self._redis.get(self._key("latest", owner))
        return str(value) if value is not None else None

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    def _key(self, kind: str, name: str) -> str:
        return f"{self._prefix}:{kind}:{name}"
