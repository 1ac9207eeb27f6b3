"""A small deterministic embedder for memory tests: hashed bag of words with random directions.

Each token (a word, or one CJK character) maps to a fixed Gaussian vector seeded by a digest of
the token; a text is the normalized sum. Texts sharing words are close, and scores are
continuous, so rankings have no ties.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy

_TOKEN = re.compile(r"[\u4e00-\u9fff]|[^\W_]+", re.UNICODE)


class HashedBagOfWords:
    def __init__(self, dim: int = 64, name: str = "hashed-bow") -> None:
        self.dim = dim
        self.name = f"{name}-{dim}"
        self.calls = 0

    def _token(self, token: str) -> numpy.ndarray:
        seed = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "big")
        return numpy.random.default_rng(seed).standard_normal(self.dim)

    def _embed(self, text: str) -> numpy.ndarray:
        vector = numpy.full(self.dim, 1e-3)
        for token in _TOKEN.findall(text.lower()):
            vector += self._token(token)
        return (vector / numpy.linalg.norm(vector)).astype(numpy.float32)

    def embed_documents(self, texts: Sequence[str]) -> numpy.ndarray:
        self.calls += 1
        return (
            numpy.stack([self._embed(text) for text in texts])
            if texts
            else numpy.zeros((0, self.dim), numpy.float32)
        )

    def embed_query(self, text: str) -> numpy.ndarray:
        self.calls += 1
        return self._embed(text)


class FailingEmbedder(HashedBagOfWords):
    """Fails the first ``failures`` calls, as a model server that is restarting would."""

    def __init__(self, failures: int, dim: int = 64) -> None:
        super().__init__(dim)
        self.failures = failures

    def embed_documents(self, texts: Sequence[str]) -> numpy.ndarray:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError(f"embedding server unavailable (call {self.calls})")
        return numpy.stack([self._embed(text) for text in texts])
