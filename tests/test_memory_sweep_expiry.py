"""A sweep forgets at once and leaves the vector index to Redis's own expiry, on real Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from memory_support import HashedBagOfWords

from hanlin.memory import ManualClock, MemoryStore, MemoryStoreConfig, VectorIndexConfig
from hanlin.memory import store as store_module

DAY = 86_400.0


async def open_store(url: str, clock: ManualClock, algorithm: str = "hnsw") -> MemoryStore:
    config = MemoryStoreConfig(prefix=f"test:sx:{uuid.uuid4().hex[:10]}", sweep_batch=7,
                               index=VectorIndexConfig(algorithm=algorithm))  # type: ignore[arg-type]
    return await MemoryStore.open(url, HashedBagOfWords(), config=config, clock=clock)


async def indexed_docs(client: aioredis.Redis, store: MemoryStore) -> int:
    info = await client.execute_command("FT.INFO", store.index.describe()["index"])
    fields = info if isinstance(info, dict) else dict(zip(info[::2], info[1::2], strict=True))
    fields = {(k.decode() if isinstance(k, bytes) else k): v for k, v in fields.items()}
    return int(fields["num_docs"])


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    connection = aioredis.Redis.from_url(redis_url)
    yield connection
    await connection.aclose()


async def test_forgotten_memories_are_gone_while_their_hashes_wait_to_expire(
    redis_url: str, client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(store_module, "_FORGOTTEN_EXPIRE_MS", 600_000)  # linger for the test
    clock = ManualClock()
    async with await open_store(redis_url, clock) as store:
        tea = [f"jo likes green tea number {i}" for i in range(30)]
        old = await store.add_many("jo", "bot", tea, at=clock.now() - 3 * DAY)
        new = await store.add_many("jo", "bot", [f"jo likes black coffee {i}" for i in range(5)])
        summary = await store.add("jo", "bot", "jo drinks tea", kind="daily_summary")
        report = await store.sweep("jo", threshold=0.1)
        assert sorted(report.forgotten_turns) == sorted(r.id for r in old)
        assert (report.kept_turns, report.examined) == (5, 36)

        # The hashes are still there, indexed, and expiring: the sweep made no index deletion.
        forgotten_key = store.keys.record("jo", "bot", old[0].id)
        assert 0 < await client.pttl(forgotten_key) <= 600_000
        assert await indexed_docs(client, store) == 36
        # Yet no read sees them: not get, list, delete, nor a search they would top.
        assert await store.get("jo", "bot", old[0].id) is None
        assert await store.delete("jo", "bot", old[1].id) is False
        assert {v.record.id for v in await store.list("jo")} == {*(r.id for r in new), summary.id}
        hits = await store.search("jo", "jo likes green tea number 3", k=4)
        assert len(hits) == 4 and {h.record.id for h in hits} <= {*(r.id for r in new), summary.id}
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert all(h.record.strength == 2 for h in hits if h.record.kind == "turn")
        # Recalled once each: only the memories returned were strengthened.
        views = {v.record.id: v.record.strength for v in await store.list("jo")}
        assert sum(s == 2 for s in views.values()) == sum(h.record.kind == "turn" for h in hits)


async def test_redis_reclaims_forgotten_hashes_and_their_index_entries(
    redis_url: str, client: aioredis.Redis,
) -> None:
    clock = ManualClock()
    for algorithm in ("hnsw", "flat"):
        async with await open_store(redis_url, clock, algorithm) as store:
            await store.add_many("ky", "bot", [f"ky old note {i}" for i in range(40)],
                                 at=clock.now() - 5 * DAY)
            kept = await store.add("ky", "bot", "ky new note")
            report = await store.sweep("ky", threshold=0.1)
            assert len(report.forgotten_turns) == 40
            deadline = time.monotonic() + 20
            while await indexed_docs(client, store) > 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert await indexed_docs(client, store) == 1
            pattern = f"{store.keys.record_prefix}*"
            assert [key async for key in client.scan_iter(match=pattern)] == [
                store.keys.record("ky", "bot", kept.id).encode()]
