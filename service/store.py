"""Threads and runs in Redis, as the API sees them: every read and write is scoped to the
owner, and the changes that touch a thread's queue go through one atomic script."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any, Literal, cast

from redis.asyncio import Redis

from hanlin.service import lua
from hanlin.service.keys import ServiceKeys
from hanlin.service.records import (
    MultitaskStrategy,
    RunKwargs,
    RunRecord,
    ThreadRecord,
    utc_now,
)

SubmitOutcome = Literal["started", "queued", "busy", "missing"]
CancelOutcome = Literal["missing", "final", "cancelled", "requested"]


class ThreadTaken(Exception):
    """A thread with that id exists (and may belong to someone else)."""


class ServiceStore:
    """Owner-scoped access to the service's records; ``events_ttl_s`` bounds finished runs'
    event streams (joins after that find the run, not its events)."""

    def __init__(self, client: Redis, keys: ServiceKeys, *, events_ttl_s: int = 86400) -> None:
        self.client = client
        self.keys = keys
        self.events_ttl_s = events_ttl_s
        self._submit = client.register_script(lua.SUBMIT)
        self._cancel = client.register_script(lua.CANCEL)
        self._delete = client.register_script(lua.DELETE_THREAD)

    # threads -------------------------------------------------------------------------------

    async def create_thread(
        self, owner: str, *, thread_id: str | None = None, metadata: dict[str, Any] | None = None
    ) -> ThreadRecord:
        now = utc_now()
        record = ThreadRecord(
            thread_id=thread_id or str(uuid.uuid4()),
            owner=owner,
            created_at=now,
            updated_at=now,
            metadata=dict(metadata or {}),
        )
        key = self.keys.thread(record.thread_id)
        # HSETNX on the owner field claims the id; the rest follows only for the claimant.
        if not await self.client.hsetnx(key, "owner", owner):
            raise ThreadTaken(record.thread_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=record.to_hash())
            pipe.zadd(self.keys.user_threads(owner), {record.thread_id: now.timestamp()})
            await pipe.execute()
        return record

    async def get_thread(self, owner: str, thread_id: str) -> ThreadRecord | None:
        """The thread, or None when it does not exist or belongs to someone else."""
        raw = await self.client.hgetall(self.keys.thread(thread_id))
        if not raw or raw.get("owner") != owner or "created_at" not in raw:
            return None
        return ThreadRecord.from_hash(raw)

    async def update_thread(
        self,
        record: ThreadRecord,
        *,
        metadata: dict[str, Any] | None = None,
        assistant_id: str | None = None,
        config: dict[str, Any] | None = None,
    ) -> ThreadRecord:
        changes: dict[Any, Any] = {"updated_at": utc_now().isoformat()}
        if config is not None:
            changes["config"] = json.dumps(config)
        if metadata is not None:
            changes["metadata"] = json.dumps({**record.metadata, **metadata})
        if assistant_id is not None:
            changes["assistant_id"] = assistant_id
        await self.client.hset(self.keys.thread(record.thread_id), mapping=changes)
        fresh = await self.get_thread(record.owner, record.thread_id)
        return fresh or record

    async def list_threads(self, owner: str) -> list[ThreadRecord]:
        """The owner's threads, newest first."""
        ids = cast(list[str], await self.client.zrevrange(self.keys.user_threads(owner), 0, -1))
        async with self.client.pipeline(transaction=False) as pipe:
            for thread_id in ids:
                pipe.hgetall(self.keys.thread(thread_id))
            rows = await pipe.execute()
        return [
            ThreadRecord.from_hash(raw)
            for raw in rows
            if raw and raw.get("owner") == owner and "created_at" in raw
        ]

    async def delete_thread(self, owner: str, thread_id: str) -> bool:
        return bool(await self._delete(args=[self.keys.root, thread_id, owner]))

    # runs ----------------------------------------------------------------------------------

    async def submit_run(
        self,
        thread: ThreadRecord,
        *,
        assistant_id: str,
        request: RunKwargs,
        metadata: dict[str, Any],
        strategy: MultitaskStrategy,
    ) -> tuple[SubmitOutcome, RunRecord]:
        """Store a run and queue it, or put it behind the thread's active run, or refuse it
        (``busy``) when the strategy is ``reject`` and the thread has one."""
        now = utc_now()
        run = RunRecord(
            run_id=str(uuid.uuid4()),
            thread_id=thread.thread_id,
            assistant_id=assistant_id,
            owner=thread.owner,
            created_at=now,
            updated_at=now,
            metadata=metadata,
            multitask_strategy=strategy,
            request=request,
        )
        pairs = [item for pair in run.to_hash().items() for item in pair]
        outcome, _active = await self._submit(
            args=[
                self.keys.root,
                run.run_id,
                thread.thread_id,
                strategy,
                now.isoformat(),
                int(now.timestamp() * 1000),
                self.events_ttl_s,
                *pairs,
            ]
        )
        return outcome, run

    async def get_run(self, owner: str, thread_id: str, run_id: str) -> RunRecord | None:
        raw = await self.client.hgetall(self.keys.run(run_id))
        if not raw or raw.get("owner") != owner or raw.get("thread_id") != thread_id:
            return None
        return RunRecord.from_hash(raw)

    async def list_runs(
        self, owner: str, thread_id: str, *, limit: int, offset: int, status: str | None = None
    ) -> list[RunRecord]:
        """The thread's runs, newest first."""
        ids = cast(list[str], await self.client.zrevrange(self.keys.thread_runs(thread_id), 0, -1))
        runs = await self.runs_by_id(ids)
        mine = [r for r in runs if r.owner == owner and (status is None or r.status == status)]
        return mine[offset : offset + limit]

    async def runs_by_id(self, run_ids: Sequence[str]) -> list[RunRecord]:
        async with self.client.pipeline(transaction=False) as pipe:
            for run_id in run_ids:
                pipe.hgetall(self.keys.run(run_id))
            rows = await pipe.execute()
        return [RunRecord.from_hash(raw) for raw in rows if raw and "created_at" in raw]

    async def cancel_run(self, run_id: str) -> CancelOutcome:
        """Cancel at once when no worker holds the run; otherwise ask its worker to stop."""
        outcome: CancelOutcome = await self._cancel(
            args=[self.keys.root, run_id, utc_now().isoformat(), self.events_ttl_s]
        )
        return outcome

    async def delete_run(self, run: RunRecord) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.run(run.run_id), self.keys.run_events(run.run_id))
            pipe.zrem(self.keys.thread_runs(run.thread_id), run.run_id)
            await pipe.execute()
