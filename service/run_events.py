"""Reading a run's event stream: what ``stream`` and ``join`` serve, from any API replica.

Each event is one entry of the run's Redis stream and its SSE ``id`` is the entry id, so a
client that reconnects with ``Last-Event-ID`` resumes right after the last event it got:
nothing is lost or sent twice. Without it, the run's events are replayed from the start.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Collection
from typing import Any, cast

from redis.asyncio import Redis

from hanlin.service.keys import ServiceKeys
from hanlin.service.records import FINAL_STATUSES
from hanlin.service.wire import dumps, mode_of

ENTRY_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
BLOCK_MS = 2000  # below the Redis client's socket timeout
KEEPALIVE_EVERY = 7  # blocks without events between SSE comments (about 15 s)


def sse(event: str, data: str, entry_id: str | None = None) -> bytes:
    head = f"id: {entry_id}\n" if entry_id else ""
    return f"{head}event: {event}\ndata: {data}\n\n".encode()


class RunEvents:
    def __init__(self, client: Redis, keys: ServiceKeys) -> None:
        self.client = client
        self.keys = keys

    async def _read(self, key: str, cursor: str, count: int) -> list[Any]:
        reply = await self.client.xread({key: cursor}, count=count, block=BLOCK_MS)
        return cast(list[Any], reply or [])

    async def _ended(self, run_id: str) -> bool:
        """True when the run is gone, or final with no stream left to read."""
        status = await self.client.hget(self.keys.run(run_id), "status")
        if status is None:
            return True
        return status in FINAL_STATUSES and not await self.client.exists(
            self.keys.run_events(run_id)
        )

    async def follow(
        self, run_id: str, *, after: str | None, modes: Collection[str] | None
    ) -> AsyncIterator[bytes]:
        """SSE frames of the run's events after ``after`` (all when None), through ``end``.
        ``modes`` keeps only those stream modes (``metadata``, ``error``, ``end`` always)."""
        key = self.keys.run_events(run_id)
        cursor = after or "0-0"
        quiet = 0
        while True:
            reply = await self._read(key, cursor, 200)
            if not reply:
                if await self._ended(run_id):
                    yield sse("end", dumps({"run_id": run_id}))
                    return
                quiet += 1
                if quiet % KEEPALIVE_EVERY == 0:
                    yield b": keepalive\n\n"
                continue
            for _stream, entries in reply:
                for entry_id, fields in entries:
                    cursor = entry_id
                    event = fields["event"]
                    mode = mode_of(event)
                    if modes is None or mode is None or mode in modes:
                        yield sse(event, fields["data"], entry_id)
                    if event == "end":
                        return

    async def wait_end(self, run_id: str) -> None:
        """Return once the run has ended (or is gone)."""
        key = self.keys.run_events(run_id)
        last = cast(list[Any], await self.client.xrevrange(key, count=1))
        if last and last[0][1].get("event") == "end":
            return
        cursor = last[0][0] if last else "0-0"
        while True:
            reply = await self._read(key, cursor, 500)
            if not reply:
                status = await self.client.hget(self.keys.run(run_id), "status")
                if status is None or status in FINAL_STATUSES:
                    return
                continue
            for _stream, entries in reply:
                for entry_id, fields in entries:
                    cursor = entry_id
                    if fields["event"] == "end":
                        return
