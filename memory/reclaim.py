"""Deleting the hashes of forgotten memories after a sweep, a few at a time, oldest first.

Deleting a memory's hash makes the Redis Query Engine repair its HNSW graph there and then,
a few tenths of a millisecond per memory on the server's one thread, so a sweep that deleted
thousands inside its own scripts held every other client up for as long. The sweep therefore
only unlists a forgotten memory (no read sees it again) and queues its key in the user's
graveyard LIST; this empties the graveyards on a task of its own, oldest first, in small atomic
steps, so other clients wait at most one step and the sweep returns without waiting. What a
stopped process leaves queued stays in Redis and is deleted after the user's next sweep.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from hanlin.memory.records import KeySpace
from hanlin.memory.store_scripts import RECLAIM

logger = logging.getLogger(__name__)

CHUNK = 32  # hashes per step: about 10 ms of graph repair on an HNSW index


class HashReclaimer:
    """Empties the graveyards of the users it is given; ``drain`` waits for it."""

    def __init__(self, client: aioredis.Redis, keys: KeySpace, *, chunk: int = CHUNK) -> None:
        self._keys = keys
        self._chunk = chunk
        self._script = client.register_script(RECLAIM)
        self._users: deque[str] = deque()
        self._task: asyncio.Task[None] | None = None

    @property
    def pending_users(self) -> int:
        return len(self._users)

    def schedule(self, user_id: str) -> None:
        """Delete the hashes queued in ``user_id``'s graveyard, in the background."""
        if user_id not in self._users:
            self._users.append(user_id)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def drain(self) -> None:
        """Return once every scheduled graveyard is empty (or was left after an error)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _run(self) -> None:
        while self._users:
            user = self._users[0]
            try:
                left = await self._script(keys=[self._keys.graveyard(user)], args=[self._chunk])
            except (RedisError, OSError) as error:
                logger.warning(
                    "deleting the forgotten memories of %d users stopped (%s); they "
                    "stay queued in Redis until each user's next sweep",
                    len(self._users),
                    error,
                )
                self._users.clear()
                return
            if int(left) == 0:
                self._users.popleft()
