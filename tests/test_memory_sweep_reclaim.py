"""A sweep unlists what it forgets at once and deletes the hashes afterwards, on real Redis."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from memory_support import HashedBagOfWords
from tests_support import free_port

from hanlin.memory import ManualClock, MemoryStore, MemoryStoreConfig, VectorIndexConfig
from hanlin.memory.reclaim import CHUNK, HashReclaimer

DAY = 86_400.0


async def open_store(url: str, clock: ManualClock, algorithm: str = "hnsw") -> MemoryStore:
    config = MemoryStoreConfig(
        prefix=f"test:sr:{uuid.uuid4().hex[:10]}",
        sweep_batch=7,
        index=VectorIndexConfig(algorithm=algorithm),
    )  # type: ignore[arg-type]
    return await MemoryStore.open(url, HashedBagOfWords(), config=config, clock=clock)


async def indexed_docs(client: aioredis.Redis, store: MemoryStore) -> int:
    info = await client.execute_command("FT.INFO", store.index.describe()["index"])
    fields = info if isinstance(info, dict) else dict(zip(info[::2], info[1::2], strict=True))
    fields = {(k.decode() if isinstance(k, bytes) else k): v for k, v in fields.items()}
    return int(fields["num_docs"])


async def record_keys(client: aioredis.Redis, store: MemoryStore) -> set[bytes]:
    return {key async for key in client.scan_iter(match=f"{store.keys.record_prefix}*")}


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    connection = aioredis.Redis.from_url(redis_url)
    yield connection
    await connection.aclose()


async def test_forgotten_memories_are_gone_before_their_hashes_are(
    redis_url: str,
    client: aioredis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    held: list[str] = []
    monkeypatch.setattr(HashReclaimer, "schedule", lambda self, user: held.append(user))
    clock = ManualClock()
    async with await open_store(redis_url, clock) as store:
        tea = [f"jo likes green tea number {i}" for i in range(30)]
        old = await store.add_many("jo", "bot", tea, at=clock.now() - 3 * DAY)
        new = await store.add_many("jo", "bot", [f"jo likes black coffee {i}" for i in range(5)])
        summary = await store.add("jo", "bot", "jo drinks tea", kind="daily_summary")
        report = await store.sweep("jo", threshold=0.1)
        assert report.forgotten_turns == [r.id for r in old]  # in creation order
        assert (report.kept_turns, report.examined) == (5, 36)
        assert held == ["jo"]

        # The hashes are still there and indexed, queued oldest first for deletion ...
        queued = await client.lrange(store.keys.graveyard("jo"), 0, -1)
        assert queued == [store.keys.record("jo", "bot", r.id).encode() for r in old]
        assert await indexed_docs(client, store) == 36
        # ... yet no read sees them: not get, list, delete, nor a search they would top.
        assert await store.get("jo", "bot", old[0].id) is None
        assert await store.delete("jo", "bot", old[1].id) is False
        assert {v.record.id for v in await store.list("jo")} == {*(r.id for r in new), summary.id}
        hits = await store.search("jo", "jo likes green tea number 3", k=4)
        assert len(hits) == 4 and {h.record.id for h in hits} <= {*(r.id for r in new), summary.id}
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        # Only the memories returned were strengthened.
        strengths = [v.record.strength for v in await store.list("jo") if v.record.kind == "turn"]
        assert sorted(strengths) == sorted(
            [2] * sum(h.record.kind == "turn" for h in hits)
            + [1] * (5 - sum(h.record.kind == "turn" for h in hits))
        )


@pytest.mark.parametrize("algorithm", ["hnsw", "flat"])
async def test_hashes_are_deleted_after_the_sweep_oldest_first_in_small_calls(
    redis_url: str,
    client: aioredis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    algorithm: str,
) -> None:
    clock = ManualClock()
    async with await open_store(redis_url, clock, algorithm) as store:
        old = await store.add_many(
            "ky", "bot", [f"ky old note {i}" for i in range(70)], at=clock.now() - 5 * DAY
        )
        kept = await store.add("ky", "bot", "ky new note")
        keys = [store.keys.record("ky", "bot", r.id).encode() for r in old]
        async with client.monitor() as monitor:  # what the deleting steps ran, in order
            report = await store.sweep("ky", threshold=0.1)
            await store.reclaimed()
            deleted: list[list[str]] = []
            while sum(len(step) for step in deleted) < len(keys):
                command = (await monitor.next_command())["command"]
                if command.startswith("UNLINK ") and ":rec:" in command:
                    deleted.append(command.split()[1:])
        assert len(report.forgotten_turns) == 70
        assert [len(step) for step in deleted] == [CHUNK, CHUNK, 70 - 2 * CHUNK]
        assert [key.encode() for step in deleted for key in step] == keys
        assert await client.llen(store.keys.graveyard("ky")) == 0
        assert await indexed_docs(client, store) == 1
        left = {store.keys.record("ky", "bot", kept.id).encode()}
        assert await record_keys(client, store) == left


async def test_closing_the_store_finishes_the_deletions(
    redis_url: str,
    client: aioredis.Redis,
) -> None:
    clock = ManualClock()
    store = await open_store(redis_url, clock)
    notes = [f"lu old note {i}" for i in range(50)]
    await store.add_many("lu", "bot", notes, at=clock.now() - 5 * DAY)
    await store.sweep("lu", threshold=0.1)
    await store.close()
    assert await record_keys(client, store) == set()


async def test_what_a_stopped_process_left_queued_goes_after_the_next_sweep(
    redis_url: str,
    client: aioredis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock()
    store = await open_store(redis_url, clock)
    await store.add_many(
        "mo", "bot", [f"mo old note {i}" for i in range(40)], at=clock.now() - 5 * DAY
    )
    kept = await store.add("mo", "bot", "mo new note")
    with monkeypatch.context() as patch:  # this process loses Redis before it deletes anything
        nowhere = aioredis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1)
        patch.setattr(store._reclaimer, "_script", nowhere.register_script("return 0"))
        with caplog.at_level(logging.WARNING, logger="hanlin.memory.reclaim"):
            await store.sweep("mo", threshold=0.1)
            await store.close()
        await nowhere.aclose()
    assert "they stay queued in Redis until each user's next sweep" in caplog.text
    assert await client.llen(store.keys.graveyard("mo")) == 40
    async with await MemoryStore.open(
        redis_url, HashedBagOfWords(), config=store._config, clock=clock
    ) as later:
        report = await later.sweep("mo", threshold=0.1)
        assert report.forgotten_turns == []
    assert await record_keys(client, store) == {store.keys.record("mo", "bot", kept.id).encode()}
    assert await client.llen(store.keys.graveyard("mo")) == 0


async def test_steps_that_forget_some_of_their_memories_skip_none(redis_url: str) -> None:
    clock = ManualClock()
    async with await open_store(redis_url, clock, "flat") as store:  # 7 memories per step
        notes = await store.add_many(
            "ny", "bot", [f"ny note {i}" for i in range(60)], at=clock.now() - 5 * DAY
        )
        strong = notes[1::2] + notes[:20:3]  # every other one, and a run at the start
        for record in strong:
            await store._client.hset(store.keys.strength("ny"), record.id, 100)  # type: ignore[attr-defined]
        weak = [r.id for r in notes if r not in strong]
        report = await store.sweep("ny", threshold=0.1)
        assert report.forgotten_turns == weak
        assert (report.examined, report.kept_turns) == (60, 60 - len(weak))
        assert {v.record.id for v in await store.list("ny")} == {r.id for r in strong}
