"""Acknowledged memories survive a crash of Redis; outages fail loudly; sweeps lose no writes."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from memory_support import HashedBagOfWords
from tests_support import free_port

from hanlin.memory import ManualClock, MemoryStore, MemoryStoreConfig, MemoryStoreError
from hanlin.redis_stack.server import (
    RedisServerConfig,
    ensure_redis_server,
    redis_server_status,
    stop_redis_server,
)

DAY = 86_400.0


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServerConfig]:
    """A Redis Stack of this test's own (AOF fsync always), so crashing it disturbs no one."""
    config = RedisServerConfig(port=free_port(), data_dir=tmp_path / "redis", appendfsync="always")
    ensure_redis_server(config)
    yield config
    stop_redis_server(config)


def crash(config: RedisServerConfig) -> None:
    """SIGKILL: no shutdown save, only what the AOF already holds survives."""
    pid = redis_server_status(config).pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while redis_server_status(config).running and time.monotonic() < deadline:
        time.sleep(0.05)


async def test_acknowledged_memories_survive_a_redis_crash(own_redis: RedisServerConfig) -> None:
    conf = MemoryStoreConfig(prefix="crash")
    store = await MemoryStore.open(own_redis.url, HashedBagOfWords(), config=conf)
    singles = await asyncio.gather(
        *(store.add("vi", f"agent{i % 3}", f"vi fact {i}") for i in range(60))
    )
    batch = await store.add_many("vi", "bot", [f"vi batch fact {i}" for i in range(300)])
    summary = await store.add("vi", "bot", "vi summary", kind="daily_summary")
    hit = (await store.search("vi", "vi fact 7", k=1))[0]
    await store.close()
    acknowledged = {r.id for r in [*singles, *batch, summary]}

    crash(own_redis)
    ensure_redis_server(own_redis)
    async with await MemoryStore.open(own_redis.url, HashedBagOfWords(), config=conf) as store:
        assert store.index.backend == "redis"  # the index definition came back with the AOF
        assert {view.record.id for view in await store.list("vi")} == acknowledged
        recalled = await store.get("vi", hit.record.agent_id, hit.record.id)
        assert recalled is not None and recalled.strength == hit.record.strength == 2
        assert (await store.search("vi", "vi batch fact 123", k=1))[
            0
        ].record.text == "vi batch fact 123"


async def test_an_outage_gives_a_clear_error_after_bounded_retries(
    own_redis: RedisServerConfig,
) -> None:
    conf = MemoryStoreConfig(prefix="outage", retries=3, backoff_s=0.05, max_backoff_s=0.2)
    async with await MemoryStore.open(own_redis.url, HashedBagOfWords(), config=conf) as store:
        kept = await store.add("wu", "bot", "written before the outage")
        stop_redis_server(own_redis)
        started = time.monotonic()
        with pytest.raises(
            MemoryStoreError,
            match=r"storing 1 memories of user 'wu' failed: Redis did "
            r"not answer after 4 attempts",
        ):
            await store.add("wu", "bot", "written during the outage")
        assert time.monotonic() - started < 5  # 0.05 + 0.1 + 0.2 of backoff plus refused connects
        with pytest.raises(MemoryStoreError, match="searching the memories of user 'wu' failed"):
            await store.search("wu", "anything")
        with pytest.raises(MemoryStoreError, match="sweeping user 'wu' failed"):
            await store.sweep("wu")

        ensure_redis_server(own_redis)  # the same store reconnects on its own
        after = await store.add("wu", "bot", "written after the outage")
        assert {v.record.id for v in await store.list("wu")} == {kept.id, after.id}


async def test_sweep_concurrent_with_writes_loses_no_new_write(redis_url: str) -> None:
    clock = ManualClock()
    conf = MemoryStoreConfig(prefix=f"test:{uuid.uuid4().hex[:10]}", sweep_batch=50)
    old_days = [clock.now() - (10 + d) * DAY for d in range(5)]
    async with (
        await MemoryStore.open(redis_url, HashedBagOfWords(), config=conf, clock=clock) as store,
        await MemoryStore.open(redis_url, HashedBagOfWords(), config=conf, clock=clock) as writer,
    ):
        for at in old_days:
            await store.add_many("xu", "bot", [f"old turn {at} {i}" for i in range(200)], at=at)
            await store.add("xu", "bot", f"summary of {at}", kind="daily_summary", at=at)
        new_ids: list[str] = []

        async def keep_writing() -> None:
            for i in range(150):  # fresh turns, some on the old days whose turns are fading
                day = old_days[i % 5] if i % 2 else None
                record = await writer.add(
                    "xu",
                    "bot",
                    f"new turn {i}",
                    day=None if day is None else time.strftime("%Y-%m-%d", time.gmtime(day)),
                )
                new_ids.append(record.id)
                await asyncio.sleep(0)

        report, _ = await asyncio.gather(store.sweep("xu", threshold=0.1), keep_writing())
        remaining = await store.list("xu")
        remaining_turns = {v.record.id for v in remaining if v.record.kind == "turn"}
        assert remaining_turns == set(new_ids) and len(new_ids) == 150
        assert len(report.forgotten_turns) == 1000
        # Every key the per-user ZSET lists is a live memory, and the per-day sets agree.
        client = aioredis.Redis.from_url(redis_url)
        listed = await client.zrange(store.keys.ids("xu"), 0, -1)
        assert len(listed) == len(remaining) and all([await client.exists(k) for k in listed])
        turn_sets = [k async for k in client.scan_iter(match=f"{conf.prefix}:day:*:turns")]
        assert sum([await client.scard(k) for k in turn_sets]) == 150
        await client.aclose()


async def test_wait_for_fsync_confirms_or_refuses(redis_url: str, plain_redis_url: str) -> None:
    conf = MemoryStoreConfig(prefix=f"test:{uuid.uuid4().hex[:10]}", wait_for_fsync=True)
    async with await MemoryStore.open(redis_url, HashedBagOfWords(), config=conf) as store:
        record = await store.add("yo", "bot", "fsynced before the call returns")
        assert await store.get("yo", "bot", record.id) == record
    async with await MemoryStore.open(plain_redis_url, HashedBagOfWords(), config=conf) as store:
        with pytest.raises(MemoryStoreError, match="Redis refused the command.*appendonly"):
            await store.add("yo", "bot", "this server keeps no AOF")
