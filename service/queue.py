"""The run queue: a Redis stream read through a consumer group.

``XREADGROUP`` hands each queued run to one worker; the entry stays in the group's pending
list until that worker acknowledges it. A worker that dies leaves its entry pending, and
``XAUTOCLAIM`` hands entries idle longer than a lease to another worker. A live worker keeps
its entries fresh with ``XCLAIM ... JUSTID`` (which resets the idle time) each time it renews
the run's lease, so only runs whose worker stopped renewing are reclaimed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from hanlin.service.keys import QUEUE_GROUP, ServiceKeys


@dataclass(frozen=True)
class QueueEntry:
    entry_id: str
    run_id: str
    reclaimed: bool


async def ensure_group(client: Redis, keys: ServiceKeys) -> None:
    """Create the consumer group (from the stream's start, so runs queued before any worker
    existed are served); a no-op when it exists."""
    try:
        await client.xgroup_create(keys.queue, QUEUE_GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


class RunQueue:
    """One worker's view of the queue, as consumer ``consumer`` of the shared group."""

    def __init__(self, client: Redis, keys: ServiceKeys, consumer: str, *, idle_ms: int) -> None:
        self.client = client
        self.keys = keys
        self.consumer = consumer
        self.idle_ms = idle_ms
        self._cursor = "0-0"

    async def next(self, *, block_ms: int) -> QueueEntry | None:
        """An entry whose worker went quiet, else a new one (waiting up to ``block_ms``)."""
        try:
            return await self._reclaim() or await self._read(block_ms)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await ensure_group(self.client, self.keys)
            return None

    async def _reclaim(self) -> QueueEntry | None:
        reply = cast(
            list[Any],
            await self.client.xautoclaim(
                self.keys.queue,
                QUEUE_GROUP,
                self.consumer,
                min_idle_time=self.idle_ms,
                start_id=self._cursor,
                count=1,
            ),
        )
        self._cursor = reply[0] or "0-0"
        for entry_id, fields in reply[1]:
            if fields:
                return QueueEntry(entry_id, fields["run_id"], reclaimed=True)
            await self.done(entry_id)  # its entry was deleted: nothing left to run
        return None

    async def _read(self, block_ms: int) -> QueueEntry | None:
        reply = cast(
            list[Any],
            await self.client.xreadgroup(
                QUEUE_GROUP, self.consumer, {self.keys.queue: ">"}, count=1, block=block_ms
            ),
        )
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                return QueueEntry(entry_id, fields["run_id"], reclaimed=False)
        return None

    async def touch(self, entry_id: str) -> None:
        """Reset the entry's idle time (and take it back if another worker reclaimed it)."""
        await self.client.xclaim(
            self.keys.queue, QUEUE_GROUP, self.consumer, 0, [entry_id], justid=True
        )

    async def done(self, entry_id: str) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.xack(self.keys.queue, QUEUE_GROUP, entry_id)
            pipe.xdel(self.keys.queue, entry_id)
            await pipe.execute()
