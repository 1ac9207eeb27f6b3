"""The service's queue, leases and fencing, against a real Redis: the scripts that decide who
may execute and write a run."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from hanlin.service.keys import ServiceKeys
from hanlin.service.lease import LeaseLost, LeaseScripts, LeaseSettings
from hanlin.service.queue import RunQueue, ensure_group
from hanlin.service.records import RunKwargs, RunRecord, ThreadRecord
from hanlin.service.store import ServiceStore

INPUT = RunKwargs(input={"messages": [{"role": "user", "content": "hi"}]})


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Redis]:
    connection = Redis.from_url(redis_url, decode_responses=True)
    yield connection
    await connection.aclose()


@pytest.fixture
def keys() -> ServiceKeys:
    return ServiceKeys(f"t{uuid.uuid4().hex[:10]}")


def scripts(
    client: Redis, keys: ServiceKeys, lease_ms: int = 300, attempts: int = 3
) -> LeaseScripts:
    return LeaseScripts(client, keys, LeaseSettings(lease_ms=lease_ms, max_attempts=attempts))


async def submit(
    store: ServiceStore, thread: ThreadRecord, strategy: str = "reject"
) -> tuple[str, RunRecord]:
    return await store.submit_run(
        thread,
        assistant_id="react",
        request=INPUT,
        metadata={},
        strategy=strategy,  # type: ignore[arg-type]
    )


async def events(client: Redis, keys: ServiceKeys, run_id: str) -> list[tuple[str, str]]:
    entries = await client.xrange(keys.run_events(run_id))
    return [(fields["event"], fields["fence"]) for _id, fields in entries]


async def status(client: Redis, keys: ServiceKeys, run_id: str) -> str:
    return str(await client.hget(keys.run(run_id), "status"))


async def test_a_worker_whose_lease_lapsed_cannot_write_after_its_successor_claims(
    client: Redis, keys: ServiceKeys
) -> None:
    store = ServiceStore(client, keys)
    thread = await store.create_thread("alice")
    _, run = await submit(store, thread)
    leases = scripts(client, keys)
    outcome, first, _ = await leases.claim(run.run_id, "w1")
    assert outcome == "claimed" and first is not None and first.fence == 1
    await first.publish([("values", "{}")])

    held, _, holder = await leases.claim(run.run_id, "w2")
    assert (held, holder) == ("held", "w1|1"), "a live lease keeps others out"

    await asyncio.sleep(0.5)  # w1 is paused past its lease
    outcome, second, _ = await leases.claim(run.run_id, "w2")
    assert outcome == "claimed" and second is not None and second.fence == 2
    await second.publish([("values", "{}")])

    stale_writes = [
        lambda: first.publish([("values", "{}")]),
        first.renew,
        lambda: first.set_field("start_checkpoint", "x"),
        lambda: first.finish("success", thread_status="idle"),
        first.check,
    ]
    for stale_write in stale_writes:
        with pytest.raises(LeaseLost):
            await stale_write()
    assert first.lost
    assert await status(client, keys, run.run_id) == "running"

    await second.finish("success", thread_status="idle")
    assert await events(client, keys, run.run_id) == [
        ("values", "1"),
        ("values", "2"),
        ("end", "2"),
    ]
    assert await status(client, keys, run.run_id) == "success"


async def test_a_run_that_keeps_losing_its_worker_fails_after_max_attempts(
    client: Redis, keys: ServiceKeys
) -> None:
    store = ServiceStore(client, keys)
    thread = await store.create_thread("alice")
    _, run = await submit(store, thread)
    _, waiting = await submit(store, thread, "enqueue")
    leases = scripts(client, keys, lease_ms=100, attempts=3)
    for attempt in (1, 2, 3):
        outcome, lease, _ = await leases.claim(run.run_id, f"w{attempt}")
        assert outcome == "claimed" and lease is not None and lease.attempt == attempt
        await asyncio.sleep(0.2)  # the worker died: its lease lapses

    outcome, lease, reason = await leases.claim(run.run_id, "w4")
    assert (outcome, lease) == ("failed", None)
    assert "3 times" in reason and "w3" in reason
    record = await store.get_run("alice", thread.thread_id, run.run_id)
    assert record is not None and record.status == "error" and record.error == reason
    assert [e for e, _ in await events(client, keys, run.run_id)] == ["error", "end"]
    fresh = await store.get_thread("alice", thread.thread_id)
    assert fresh is not None and fresh.active_run == waiting.run_id, "the next run starts"
    assert fresh.status == "busy"


async def test_busy_threads_reject_or_queue_and_finishing_starts_the_next(
    client: Redis, keys: ServiceKeys
) -> None:
    store = ServiceStore(client, keys)
    await ensure_group(client, keys)
    thread = await store.create_thread("alice")
    first_outcome, first = await submit(store, thread)
    assert first_outcome == "started"
    assert (await submit(store, thread, "reject"))[0] == "busy"
    queued_outcome, queued = await submit(store, thread, "enqueue")
    assert queued_outcome == "queued"
    assert await client.xlen(keys.queue) == 1, "only the active run is on the work queue"

    outcome, lease, _ = await scripts(client, keys).claim(first.run_id, "w1")
    assert lease is not None
    await lease.finish("success", thread_status="idle")
    entries = await client.xrange(keys.queue)
    assert [fields["run_id"] for _id, fields in entries] == [first.run_id, queued.run_id]
    fresh = await store.get_thread("alice", thread.thread_id)
    assert fresh is not None and fresh.active_run == queued.run_id and fresh.status == "busy"


async def test_interrupt_strategy_cancels_the_active_run_and_goes_next(
    client: Redis, keys: ServiceKeys
) -> None:
    store = ServiceStore(client, keys)
    thread = await store.create_thread("alice")
    _, first = await submit(store, thread)
    _, later = await submit(store, thread, "enqueue")
    _, urgent = await submit(store, thread, "interrupt")
    assert await status(client, keys, first.run_id) == "interrupted", "unclaimed: cancelled now"
    fresh = await store.get_thread("alice", thread.thread_id)
    assert fresh is not None and fresh.active_run == urgent.run_id
    assert await client.lrange(keys.thread_waiting(thread.thread_id), 0, -1) == [later.run_id]


async def test_cancel_is_immediate_when_queued_and_a_request_when_running(
    client: Redis, keys: ServiceKeys
) -> None:
    store = ServiceStore(client, keys)
    thread = await store.create_thread("alice")
    _, running = await submit(store, thread)
    _, queued = await submit(store, thread, "enqueue")
    assert await store.cancel_run(queued.run_id) == "cancelled"
    assert await status(client, keys, queued.run_id) == "interrupted"
    assert [e for e, _ in await events(client, keys, queued.run_id)] == ["end"]

    _, lease, _ = await scripts(client, keys, lease_ms=5000).claim(running.run_id, "w1")
    assert lease is not None
    assert await lease.renew() is False
    assert await store.cancel_run(running.run_id) == "requested"
    assert await lease.renew() is True, "the worker learns of the cancel on its next renewal"
    assert await store.cancel_run("no-such-run") == "missing"


async def test_an_entry_is_reclaimed_only_when_its_worker_stops_refreshing_it(
    client: Redis, keys: ServiceKeys
) -> None:
    await ensure_group(client, keys)
    await client.xadd(keys.queue, {"run_id": "r1"})
    alive = RunQueue(client, keys, "alive", idle_ms=300)
    other = RunQueue(client, keys, "other", idle_ms=300)
    entry = await alive.next(block_ms=100)
    assert entry is not None and entry.run_id == "r1" and not entry.reclaimed
    for _ in range(4):  # the holder refreshes its entry as it renews its lease
        await asyncio.sleep(0.15)
        await alive.touch(entry.entry_id)
        assert await other.next(block_ms=10) is None
    await asyncio.sleep(0.4)  # the holder went quiet
    taken = await other.next(block_ms=10)
    assert taken is not None and taken.run_id == "r1" and taken.reclaimed
    await other.done(taken.entry_id)
    await asyncio.sleep(0.4)
    assert await alive.next(block_ms=10) is None, "a finished entry is never handed out again"


async def test_a_thread_id_belongs_to_its_first_owner(client: Redis, keys: ServiceKeys) -> None:
    store = ServiceStore(client, keys)
    await store.create_thread("alice", thread_id="shared-name")
    with pytest.raises(Exception, match="shared-name"):
        await store.create_thread("bob", thread_id="shared-name")
    assert await store.get_thread("bob", "shared-name") is None
    assert [t.thread_id for t in await store.list_threads("bob")] == []
