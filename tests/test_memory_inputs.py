"""Bad input to the memory store fails at once with a specific error, and stores nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence

import numpy
import pytest
from memory_support import HashedBagOfWords

from hanlin.llm.scripted import ScriptedModel
from hanlin.memory import (
    ManualClock,
    MemoryInputError,
    MemoryStore,
    MemoryStoreConfig,
    MemoryStoreError,
)
from hanlin.memory.summarizer import MemorySummarizer, MemorySummarizerError

DAY1 = "2023-04-27"


def config(**fields: object) -> MemoryStoreConfig:
    # Backoff long enough that five attempts would show in the embedder's call count.
    return MemoryStoreConfig(
        prefix=f"test:in:{uuid.uuid4().hex[:10]}", retries=4, backoff_s=0.01, **fields
    )  # type: ignore[arg-type]


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[MemoryStore]:
    async with await MemoryStore.open(redis_url, HashedBagOfWords(), config=config()) as s:
        yield s


def embedder_calls(store: MemoryStore) -> int:
    return store._embedder.calls  # type: ignore[attr-defined, no-any-return]


async def test_blank_texts_are_refused_and_nothing_is_stored(store: MemoryStore) -> None:
    for blank in ("", "   ", "\n\t \u3000"):
        with pytest.raises(MemoryInputError, match="text must|empty or only whitespace"):
            await store.add("ann", "bot", blank)
    with pytest.raises(MemoryInputError, match=r"texts\[1\] is empty or only whitespace"):
        await store.add_many("ann", "bot", ["a real fact", "  "])
    assert await store.list("ann") == []
    assert embedder_calls(store) == 0  # refused before any embedding


async def test_text_length_is_capped_with_a_configurable_limit(redis_url: str) -> None:
    async with await MemoryStore.open(redis_url, HashedBagOfWords(), config=config()) as store:
        assert store.max_text_chars == 32_000
        with pytest.raises(
            MemoryInputError, match=r"text is 1,000,000 characters long, over the limit of 32,000"
        ):
            await store.add("bo", "bot", "x" * 1_000_000)
        with pytest.raises(MemoryInputError, match=r"the query is 40,000 characters long"):
            await store.search("bo", "y" * 40_000)
        assert embedder_calls(store) == 0
    async with await MemoryStore.open(
        redis_url, HashedBagOfWords(), config=config(max_text_chars=50)
    ) as store:
        kept = await store.add("bo", "bot", "z" * 50)
        with pytest.raises(MemoryInputError, match=r"texts\[0\] is 51 characters long.*of 50"):
            await store.add_many("bo", "bot", ["z" * 51, "fine"])
        assert [view.record.id for view in await store.list("bo")] == [kept.id]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (b"bytes from a socket", r"must be a str, got bytes \(decode it to str first\)"),
        (None, "must be a str, got NoneType"),
        (42, "must be a str, got int"),
        (
            "half a pair \udc8f of surrogates",
            r"not valid Unicode text: it holds a lone surrogate U\+DC8F at position 12",
        ),
    ],
)
async def test_bad_texts_fail_at_the_boundary_not_after_retries(
    store: MemoryStore,
    bad: object,
    message: str,
) -> None:
    with pytest.raises(MemoryInputError, match=message):
        await store.add("cy", "bot", bad)  # type: ignore[arg-type]
    with pytest.raises(MemoryInputError, match=message):
        await store.add_many("cy", "bot", ["fine", bad])  # type: ignore[list-item]
    if not isinstance(bad, str):
        with pytest.raises(MemoryInputError, match="query must be a str"):
            await store.search("cy", bad)  # type: ignore[arg-type]
    else:
        with pytest.raises(MemoryInputError, match=message):
            await store.search("cy", bad)
    assert embedder_calls(store) == 0
    assert await store.list("cy") == []


async def test_bad_ids_metadata_and_times_store_nothing(store: MemoryStore) -> None:
    with pytest.raises(MemoryInputError, match="user_id must not be empty"):
        await store.add("", "bot", "a fact")
    with pytest.raises(MemoryInputError, match="agent_id must be a str, got NoneType"):
        await store.add("di", None, "a fact")  # type: ignore[arg-type]
    with pytest.raises(MemoryInputError, match="user_id is not valid Unicode"):
        await store.add("di\ud800", "bot", "a fact")
    with pytest.raises(MemoryInputError, match="user_id is 1,000 characters long"):
        await store.search("d" * 1_000, "a fact")
    with pytest.raises(MemoryInputError, match="metadata must be JSON-serializable"):
        await store.add("di", "bot", "a fact", metadata={"tags": {"a", "b"}})
    with pytest.raises(MemoryInputError, match="metadata is not valid Unicode"):
        await store.add("di", "bot", "a fact", metadata={"note": "\udcff"})
    with pytest.raises(MemoryInputError, match="finite number of epoch seconds, got nan"):
        await store.add("di", "bot", "a fact", at=float("nan"))
    with pytest.raises(MemoryInputError, match="day must look like YYYY-MM-DD"):
        await store.add("di", "bot", "a fact", day="yesterday")
    assert embedder_calls(store) == 0
    assert await store.list("di") == []


async def test_an_empty_query_recalls_nothing(store: MemoryStore) -> None:
    fact = await store.add("ed", "bot", "ed keeps bees")
    for blank in ("", "  \n"):
        with pytest.raises(MemoryInputError, match="nothing to search for"):
            await store.search("ed", blank)
    assert (await store.get("ed", "bot", fact.id)).strength == 1  # type: ignore[union-attr]
    vector = numpy.asarray(store._embedder.embed_query("bees"))  # type: ignore[attr-defined]
    assert (await store.search("ed", vector, k=1))[0].record.id == fact.id


class RefusingEmbedder(HashedBagOfWords):
    """Refuses every text, as a model server answering 400 to an over-long input would."""

    def embed_documents(self, texts: Sequence[str]) -> numpy.ndarray:
        self.calls += 1
        raise ValueError("input is longer than this model accepts")


async def test_an_embedder_refusal_is_reported_after_one_attempt(redis_url: str) -> None:
    embedder = RefusingEmbedder()
    async with await MemoryStore.open(redis_url, embedder, config=config()) as store:
        refused = r"embedding 1 memories with hashed-bow-64: the embedder refused the input"
        with pytest.raises(MemoryStoreError, match=refused + r".*ValueError: input is longer"):
            await store.add("fa", "bot", "a fact")
        assert embedder.calls == 1
        assert await store.list("fa") == []


def at(hour: int) -> float:
    return dt.datetime.fromisoformat(f"{DAY1}T{hour:02d}:00:00+00:00").timestamp()


async def summarizer_store(redis_url: str) -> MemoryStore:
    clock = ManualClock(at(23))
    return await MemoryStore.open(
        redis_url, HashedBagOfWords(), clock=clock, config=config(max_text_chars=200)
    )


async def test_an_overlong_daily_answer_stores_nothing_of_the_day(redis_url: str) -> None:
    async with await summarizer_store(redis_url) as store:
        await store.add("gu", "companion", "User: hi\nAI: hello", at=at(9))
        model = ScriptedModel(["A short summary.", "p" * 201])
        with pytest.raises(
            MemorySummarizerError,
            match=r"answered a memory summary request with 201 characters, over "
            r"the store's limit of 200; nothing was stored",
        ):
            await MemorySummarizer(store, model).close_day("gu", "companion", DAY1)
        assert {view.record.kind for view in await store.list("gu")} == {"turn"}


async def test_an_overlong_portrait_keeps_the_old_global_records(redis_url: str) -> None:
    async with await summarizer_store(redis_url) as store:
        await store.add("hu", "companion", "User: hi\nAI: hello", at=at(9))
        model = ScriptedModel(["Summary.", "Warm.", "Global summary.", "g" * 500])
        with pytest.raises(MemorySummarizerError, match="500 characters"):
            await MemorySummarizer(store, model).close_day("hu", "companion", DAY1)
        kinds = sorted(view.record.kind for view in await store.list("hu"))
        assert kinds == ["daily_personality", "daily_summary", "turn"]  # no half-made globals


async def test_search_k_is_bounded_and_checked(store: MemoryStore) -> None:
    """A huge ``k`` would read and strengthen a whole user's memories in one search."""
    await store.add("ann", "bot", "ann grows tomatoes")
    for bad in (0, -3, 2.5, True, 1_001, 10**9):
        with pytest.raises(MemoryInputError, match="k must be"):
            await store.search("ann", "tomatoes", k=bad)  # type: ignore[arg-type]
    [hit] = await store.search("ann", "tomatoes", k=1_000)
    assert hit.record.text == "ann grows tomatoes"
