"""Retrieval quality with the real embedding model on the bilingual set, through both backends."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy
import pytest

from hanlin.memory import MemoryStore, MemoryStoreConfig

DATA = Path(__file__).parent / "data" / "memory" / "bilingual.json"


@pytest.fixture(scope="module")
def embedder():  # type: ignore[no-untyped-def]
    embeddings = pytest.importorskip("hanlin.llm.embeddings")
    try:
        return embeddings.default_embedder()
    except embeddings.EmbeddingBackendMissing as error:
        pytest.skip(str(error))


@pytest.mark.parametrize("url_fixture", ["redis_url", "plain_redis_url"])
async def test_bilingual_questions_find_their_memory(
    url_fixture: str,
    embedder,
    request: pytest.FixtureRequest,  # type: ignore[no-untyped-def]
) -> None:
    """The store returns exactly the model's own top 5, and the model finds most answers.

    The quality floors are what multilingual-e5-small reaches on this set (same-language
    questions almost always, Chinese questions about English memories rarely); the store
    must not lose any of it.
    """
    data = json.loads(DATA.read_text(encoding="utf-8"))
    texts = [m["text"] for m in data["memories"]]
    matrix = embedder.embed_documents(texts)
    url = str(request.getfixturevalue(url_fixture))
    config = MemoryStoreConfig(prefix=f"test:{uuid.uuid4().hex[:10]}")
    found_at: dict[str, list[bool]] = {"top1": [], "top5": [], "same_language_top5": []}
    async with await MemoryStore.open(url, embedder, config=config) as store:
        records = await store.add_many("zoe", "bot", texts)
        answer_of = {r.id: m["id"] for r, m in zip(records, data["memories"], strict=True)}
        for query in data["queries"]:
            hits = await store.search("zoe", query["text"], k=5, recall=False)
            found = [answer_of[hit.record.id] for hit in hits]
            scores = matrix @ embedder.embed_query(query["text"])
            exact = [data["memories"][i]["id"] for i in numpy.argsort(-scores)[:5]]
            assert found == exact, query["text"]
            found_at["top1"].append(found[0] == query["memory_id"])
            found_at["top5"].append(query["memory_id"] in found)
            if query["kind"] in ("en", "zh", "mixed"):
                found_at["same_language_top5"].append(query["memory_id"] in found)
    rate = {name: sum(hits) / len(hits) for name, hits in found_at.items()}
    assert rate["same_language_top5"] >= 0.85, rate
    assert rate["top5"] >= 0.7 and rate["top1"] >= 0.5, rate
