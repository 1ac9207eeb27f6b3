"""MemoryStore on real Redis: records, filters, both vector backends, FLAT -> HNSW, errors."""

from __future__ import annotations

import asyncio
import uuid

import numpy
import pytest
import redis.asyncio as aioredis
from memory_support import FailingEmbedder, HashedBagOfWords

from hanlin.memory import (
    ManualClock,
    MemoryStore,
    MemoryStoreConfig,
    MemoryStoreError,
    VectorIndexConfig,
    server_has_search,
)

DAY = 86_400.0
FACTS = [
    "I adopted a grey cat named Pepper last spring",
    "My sister lives in Osaka and teaches piano",
    "I am allergic to shellfish and peanuts",
    "We are planning a trip to Patagonia in November",
    "My favourite book is The Left Hand of Darkness",
    "I run five kilometres every morning before work",
    "The garden has tomatoes, basil and two fig trees",
    "I switched from Java to Rust at work this year",
    "My grandmother taught me to bake sourdough bread",
    "The car needs new winter tyres before December",
    "我每天早上喝一杯绿茶",
    "周末我喜欢在公园里骑自行车",
]
QUERIES = [
    "what pet do I have",
    "food allergy",
    "travel plans",
    "what do I drink in the morning",
    "bread baking",
    "programming language at work",
    "骑自行车",
    "car maintenance",
]


def config(**index: object) -> MemoryStoreConfig:
    return MemoryStoreConfig(
        prefix=f"test:{uuid.uuid4().hex[:10]}", index=VectorIndexConfig(**index)
    )


@pytest.fixture(params=["redis_url", "plain_redis_url"])
def any_redis(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(request.param))


async def test_backend_follows_the_servers_modules(redis_url: str, plain_redis_url: str) -> None:
    for url, backend in ((redis_url, "redis"), (plain_redis_url, "numpy")):
        client = aioredis.Redis.from_url(url)
        assert await server_has_search(client) is (backend == "redis")
        await client.aclose()
        async with await MemoryStore.open(url, HashedBagOfWords(), config=config()) as store:
            assert store.index.backend == backend
    with pytest.raises(MemoryStoreError, match="no search module"):
        await MemoryStore.open(plain_redis_url, HashedBagOfWords(), config=config(backend="redis"))


async def test_add_get_list_delete_round_trip(any_redis: str) -> None:
    clock = ManualClock()
    async with await MemoryStore.open(
        any_redis, HashedBagOfWords(), config=config(), clock=clock
    ) as store:
        record = await store.add(
            "u1", "bot", "remember the milk", metadata={"turn": 3, "lang": "en"}
        )
        assert (record.kind, record.strength, record.created_at, record.day) == (
            "turn",
            1,
            clock.now(),
            "2023-11-14",
        )
        assert await store.get("u1", "bot", record.id) == record
        assert await store.get("u1", "other-agent", record.id) is None
        assert [v.record for v in await store.list("u1")] == [record]
        assert await store.delete("u1", "bot", record.id) is True
        assert await store.delete("u1", "bot", record.id) is False
        assert await store.list("u1") == [] and await store.search("u1", "milk") == []
        with pytest.raises(ValueError, match="unknown memory kind"):
            await store.add("u1", "bot", "x", kind="diary")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="k must be a whole number of at least 1"):
            await store.search("u1", "x", k=0)


async def test_filters_by_user_agent_kind_and_time(any_redis: str) -> None:
    clock = ManualClock()
    t0 = clock.now()
    async with await MemoryStore.open(
        any_redis, HashedBagOfWords(), config=config(), clock=clock
    ) as store:
        await store.add("kim", "chef", "kim cooks ramen on sundays", at=t0)
        await store.add("kim", "coach", "kim ran ramen-fuelled marathon", at=t0 + DAY)
        await store.add(
            "kim", "chef", "ramen summary of the week", kind="daily_summary", at=t0 + 2 * DAY
        )
        await store.add("kim:ramen", "chef", "another user who also loves ramen", at=t0)
        await store.add("lee", "chef", "lee hates ramen", at=t0)

        def texts(hits: list) -> set[str]:  # type: ignore[type-arg]
            return {hit.record.text for hit in hits}

        everything = await store.search("kim", "ramen", k=10, recall=False)
        assert texts(everything) == {
            "kim cooks ramen on sundays",
            "kim ran ramen-fuelled marathon",
            "ramen summary of the week",
        }
        assert texts(await store.search("kim", "ramen", k=10, agent_id="chef")) == {
            "kim cooks ramen on sundays",
            "ramen summary of the week",
        }
        assert texts(await store.search("kim", "ramen", k=10, kinds=["daily_summary"])) == {
            "ramen summary of the week"
        }
        assert texts(await store.search("kim", "ramen", k=10, since=t0 + DAY)) == {
            "kim ran ramen-fuelled marathon",
            "ramen summary of the week",
        }
        assert texts(await store.search("kim", "ramen", k=10, since=t0 + DAY, until=t0 + DAY)) == {
            "kim ran ramen-fuelled marathon"
        }
        assert texts(await store.search("kim", "ramen", k=1, agent_id="nobody")) == set()
        assert texts(await store.search("kim", "ramen", k=3, kinds=[])) == set()
        listed = await store.list("kim", agent_id="chef", kinds=["turn"])
        assert [v.record.text for v in listed] == ["kim cooks ramen on sundays"]
        assert [
            v.record.text for v in await store.list("kim", since=t0 + DAY, newest_first=False)
        ] == ["kim ran ramen-fuelled marathon", "ramen summary of the week"]


async def test_search_strengthens_only_returned_turns(redis_url: str) -> None:
    clock = ManualClock()
    async with await MemoryStore.open(
        redis_url, HashedBagOfWords(), config=config(), clock=clock
    ) as store:
        turn = await store.add("mo", "bot", "mo collects vinyl records")
        summary = await store.add(
            "mo", "bot", "mo talked about vinyl records", kind="daily_summary"
        )
        other = await store.add("mo", "bot", "mo has a sore knee")
        clock.advance(hours=5)
        hits = await store.search("mo", "vinyl records", k=2)
        assert {hit.record.id for hit in hits} == {turn.id, summary.id}
        assert hits[0].score >= hits[1].score and hits[0].score > 0.5
        assert (await store.get("mo", "bot", turn.id)).strength == 2  # type: ignore[union-attr]
        assert (await store.get("mo", "bot", summary.id)).strength == 1  # type: ignore[union-attr]
        assert (await store.get("mo", "bot", other.id)).strength == 1  # type: ignore[union-attr]
        await store.search("mo", "vinyl records", k=2, recall=False)
        assert (await store.get("mo", "bot", turn.id)).strength == 2  # type: ignore[union-attr]


async def ranked(store: MemoryStore, user: str) -> list[list[tuple[str, float]]]:
    return [
        [(hit.record.text, hit.score) for hit in await store.search(user, query, k=5, recall=False)]
        for query in QUERIES
    ]


def assert_same_ranking(
    left: list[list[tuple[str, float]]], right: list[list[tuple[str, float]]]
) -> None:
    for a, b in zip(left, right, strict=True):
        assert [text for text, _ in a] == [text for text, _ in b]
        assert numpy.allclose([s for _, s in a], [s for _, s in b], atol=1e-5)


async def test_redis_and_in_process_indexes_rank_alike(
    redis_url: str, plain_redis_url: str
) -> None:
    clock = ManualClock()
    results = []
    for url in (redis_url, plain_redis_url):
        async with await MemoryStore.open(
            url, HashedBagOfWords(), config=config(), clock=clock
        ) as store:
            await store.add_many("nia", "bot", FACTS)
            await store.add_many("nia", "other-agent", ["I have a cat too", "Rust at work"])
            results.append(await ranked(store, "nia"))
    assert_same_ranking(results[0], results[1])
    assert all(len(hits) == 5 for hits in results[0])

    # The same data in one Redis Stack, read through the Query Engine and in process.
    same = config()
    async with await MemoryStore.open(
        redis_url, HashedBagOfWords(), config=same, clock=clock
    ) as store:
        await store.add_many("nia", "bot", FACTS)
        via_redis = await ranked(store, "nia")
    forced = same.model_copy(update={"index": VectorIndexConfig(backend="numpy")})
    async with await MemoryStore.open(
        redis_url, HashedBagOfWords(), config=forced, clock=clock
    ) as store:
        assert store.index.backend == "numpy"
        assert_same_ranking(via_redis, await ranked(store, "nia"))


async def test_in_process_index_sees_other_clients_writes(plain_redis_url: str) -> None:
    shared = config()
    async with (
        await MemoryStore.open(plain_redis_url, HashedBagOfWords(), config=shared) as reader,
        await MemoryStore.open(plain_redis_url, HashedBagOfWords(), config=shared) as writer,
    ):
        await writer.add("oz", "bot", "oz grows orchids")
        assert [h.record.text for h in await reader.search("oz", "orchids", k=3)] == [
            "oz grows orchids"
        ]
        added = await writer.add("oz", "bot", "oz repairs old clocks")
        assert (await reader.search("oz", "repairs old clocks", k=1))[0].record.id == added.id
        await writer.delete("oz", "bot", added.id)
        assert [h.record.text for h in await reader.search("oz", "clocks", k=3)] == [
            "oz grows orchids"
        ]
        await reader.add("oz", "bot", "oz speaks Welsh")  # its own write: applied to its cache
        assert len(await reader.search("oz", "Welsh orchids", k=5)) == 2


async def ft_indexes(url: str, prefix: str) -> dict[str, str]:
    client = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        names = [n for n in await client.execute_command("FT._LIST") if n.startswith(prefix + ":")]
        found = {}
        for name in names:
            info = await client.ft(name).info()
            found[name] = str(info["attributes"][-1]).upper()
        return found
    finally:
        await client.aclose()


async def test_flat_until_the_threshold_then_hnsw(redis_url: str) -> None:
    conf = config(hnsw_threshold=30, size_check_every=10)
    async with await MemoryStore.open(redis_url, HashedBagOfWords(), config=conf) as store:
        await store.add_many("pat", "bot", [f"pat note {i} about topic {i % 7}" for i in range(25)])
        assert store.index.describe()["algorithm"] == "flat"
        assert list(await ft_indexes(redis_url, conf.prefix)) == [f"{conf.prefix}:idx:flat"]
        await store.add_many("pat", "bot", [f"pat extra note {i}" for i in range(10)])
        for _ in range(40):  # HNSW is built next to FLAT, then takes over once complete
            await asyncio.sleep(0.6)
            hits = await store.search("pat", "note about topic 3", k=5, recall=False)
            if store.index.describe()["algorithm"] == "hnsw":
                break
        assert store.index.describe()["algorithm"] == "hnsw"
        assert len(hits) == 5
        indexes = await ft_indexes(redis_url, conf.prefix)
        assert (
            list(indexes) == [f"{conf.prefix}:idx:hnsw"]
            and "HNSW" in indexes[f"{conf.prefix}:idx:hnsw"]
        )
    async with await MemoryStore.open(redis_url, HashedBagOfWords(), config=conf) as reopened:
        assert reopened.index.describe()["algorithm"] == "hnsw"
        assert len(await reopened.list("pat")) == 35


async def test_forced_algorithm_and_high_threshold(redis_url: str) -> None:
    conf = config(hnsw_threshold=1_000, size_check_every=5)
    async with await MemoryStore.open(redis_url, HashedBagOfWords(), config=conf) as store:
        await store.add_many("quin", "bot", [f"quin note {i}" for i in range(40)])
        assert store.index.describe()["algorithm"] == "flat"
    forced = config(algorithm="hnsw")
    async with await MemoryStore.open(redis_url, HashedBagOfWords(), config=forced) as store:
        await store.add("quin", "bot", "quin note")
        indexes = await ft_indexes(redis_url, forced.prefix)
        assert (
            list(indexes) == [f"{forced.prefix}:idx:hnsw"]
            and "HNSW" in indexes[f"{forced.prefix}:idx:hnsw"]
        )
        assert (await store.search("quin", "quin note", k=1))[0].record.text == "quin note"


async def test_one_store_one_embedder(any_redis: str) -> None:
    conf = config()
    async with await MemoryStore.open(any_redis, HashedBagOfWords(dim=64), config=conf) as store:
        await store.add("ray", "bot", "hello")
    with pytest.raises(
        MemoryStoreError, match="embedded with 'hashed-bow-64'.*not 'hashed-bow-32'"
    ):
        await MemoryStore.open(any_redis, HashedBagOfWords(dim=32), config=conf)


async def test_embedding_failures_are_retried_then_reported(redis_url: str) -> None:
    flaky = FailingEmbedder(failures=2)
    conf = config().model_copy(update={"retries": 3, "backoff_s": 0.01})
    async with await MemoryStore.open(redis_url, flaky, config=conf) as store:
        stored = await store.add("sam", "bot", "survives two embedding failures")
        assert (await store.get("sam", "bot", stored.id)) == stored
    broken = FailingEmbedder(failures=100)
    conf = config().model_copy(update={"retries": 2, "backoff_s": 0.01})
    async with await MemoryStore.open(redis_url, broken, config=conf) as store:
        with pytest.raises(
            MemoryStoreError,
            match=r"embedding 1 memories with hashed-bow-64 failed: "
            r"the embedder failed after 3 attempts.*unavailable",
        ):
            await store.add("sam", "bot", "never stored")
        assert await store.list("sam") == []


async def test_client_must_return_bytes(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    with pytest.raises(ValueError, match="decode_responses=False"):
        await MemoryStore.open(client, HashedBagOfWords())
    await client.aclose()
