"""Exact cosine KNN in process, for Redis servers without the search module.

It loads a user's vectors from the memory hashes into a matrix and scores by dot product,
which is cosine similarity for the unit vectors the store writes. A per-user version counter
in Redis (bumped by every add and delete) tells it when another process has changed that
user's memories, so it reloads only then; its own writes it applies in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy
import redis.asyncio as aioredis

from hanlin.memory.records import MEMORY_KINDS, KeySpace
from hanlin.memory.vector_index import (
    Backend,
    IndexedVector,
    VectorFilter,
    VectorHit,
    VectorIndexConfig,
)


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


@dataclass
class _UserVectors:
    """One user's vectors as a growable matrix with parallel filter columns."""

    dim: int
    version: int = -1
    size: int = 0
    keys: list[str] = field(default_factory=list)
    position: dict[str, int] = field(default_factory=dict)
    matrix: numpy.ndarray = field(default_factory=lambda: numpy.zeros((0, 0), numpy.float32))
    alive: numpy.ndarray = field(default_factory=lambda: numpy.zeros(0, bool))
    agent: numpy.ndarray = field(default_factory=lambda: numpy.zeros(0, numpy.int32))
    kind: numpy.ndarray = field(default_factory=lambda: numpy.zeros(0, numpy.int8))
    created: numpy.ndarray = field(default_factory=lambda: numpy.zeros(0, numpy.float64))
    agent_codes: dict[str, int] = field(default_factory=dict)

    def add(
        self, key: str, vector: numpy.ndarray, agent_id: str, kind: str, created: float
    ) -> None:
        if key in self.position:
            return
        if self.size == len(self.alive):
            self._grow(max(64, 2 * self.size))
        row = self.size
        self.matrix[row] = vector
        self.alive[row] = True
        self.agent[row] = self.agent_codes.setdefault(agent_id, len(self.agent_codes))
        self.kind[row] = MEMORY_KINDS.index(kind)  # type: ignore[arg-type]
        self.created[row] = created
        self.keys.append(key)
        self.position[key] = row
        self.size += 1

    def remove(self, keys: list[str]) -> None:
        for key in keys:
            row = self.position.pop(key, None)
            if row is not None:
                self.alive[row] = False

    def search(self, vector: numpy.ndarray, k: int, where: VectorFilter) -> list[VectorHit]:
        n = self.size
        mask = self.alive[:n].copy()
        if where.agent_id is not None:
            code = self.agent_codes.get(where.agent_id)
            if code is None:
                return []
            mask &= self.agent[:n] == code
        if where.kinds is not None:
            wanted = [MEMORY_KINDS.index(kind) for kind in where.kinds]  # type: ignore[arg-type]
            mask &= numpy.isin(self.kind[:n], wanted)
        if where.since is not None:
            mask &= self.created[:n] >= where.since
        if where.until is not None:
            mask &= self.created[:n] <= where.until
        rows = numpy.flatnonzero(mask)
        if rows.size == 0:
            return []
        # einsum, not BLAS: a multi-threaded gemv stalls for milliseconds on a busy machine
        if rows.size > n // 2:
            scores = numpy.einsum("ij,j->i", self.matrix[:n], vector)[rows]
        else:
            scores = numpy.einsum("ij,j->i", self.matrix[rows], vector)
        take = min(k, rows.size)
        best = numpy.argpartition(-scores, take - 1)[:take]
        best = best[numpy.lexsort((rows[best], -scores[best]))]
        return [VectorHit(self.keys[rows[i]], float(scores[i])) for i in best]

    def _grow(self, capacity: int) -> None:
        def grown(array: numpy.ndarray, shape: tuple[int, ...]) -> numpy.ndarray:
            bigger = numpy.zeros(shape, dtype=array.dtype)
            bigger[: self.size] = array[: self.size]
            return bigger

        if self.matrix.shape[1] != self.dim:
            self.matrix = numpy.zeros((0, self.dim), numpy.float32)
        self.matrix = grown(self.matrix, (capacity, self.dim))
        self.alive = grown(self.alive, (capacity,))
        self.agent = grown(self.agent, (capacity,))
        self.kind = grown(self.kind, (capacity,))
        self.created = grown(self.created, (capacity,))


class NumpyVectorIndex:
    """Exact cosine KNN in process, over vectors loaded from the memory hashes."""

    backend: Backend = "numpy"
    _LOAD_BATCH = 2_000

    def __init__(
        self, client: aioredis.Redis, keys: KeySpace, dim: int, config: VectorIndexConfig
    ) -> None:
        self._client = client
        self._keys = keys
        self._dim = dim
        self._config = config
        self._users: dict[str, _UserVectors] = {}

    def describe(self) -> dict[str, Any]:
        return {"backend": "numpy", "algorithm": "exact", "cached_users": len(self._users)}

    async def prepare(self) -> None:
        return None

    async def search(self, vector: numpy.ndarray, k: int, where: VectorFilter) -> list[VectorHit]:
        version = int(await self._client.get(self._keys.version(where.user_id)) or 0)
        vectors = self._users.get(where.user_id)
        if vectors is None or vectors.version != version:
            vectors = await self._load(where.user_id)
        return vectors.search(numpy.asarray(vector, dtype=numpy.float32), k, where)

    async def note_added(self, user_id: str, item: IndexedVector, version: int) -> None:
        vectors = self._users.get(user_id)
        if vectors is None:
            return
        if vectors.version == version - 1:
            vectors.add(item.key, item.embedding, item.agent_id, item.kind, item.created_at)
            vectors.version = version
        else:
            vectors.version = -1  # someone else wrote in between: reload on the next search

    async def note_removed(self, user_id: str, keys: list[str], version: int) -> None:
        vectors = self._users.get(user_id)
        if vectors is None:
            return
        if vectors.version == version - 1:
            vectors.remove(keys)
            vectors.version = version
        else:
            vectors.version = -1

    async def _load(self, user_id: str) -> _UserVectors:
        """Read all of a user's vectors; tag the copy with the version seen before reading."""
        version = int(await self._client.get(self._keys.version(user_id)) or 0)
        keys = [_text(key) for key in await self._client.zrange(self._keys.ids(user_id), 0, -1)]
        vectors = _UserVectors(dim=self._dim)
        for start in range(0, len(keys), self._LOAD_BATCH):
            batch = keys[start : start + self._LOAD_BATCH]
            async with self._client.pipeline(transaction=False) as pipe:
                for key in batch:
                    pipe.hmget(key, "embedding", "agent_id", "kind", "created_at")
                rows = await pipe.execute()
            for key, (blob, agent, kind, created) in zip(batch, rows, strict=True):
                if blob is None:
                    continue  # deleted while we were reading; the version check catches up
                vector = numpy.frombuffer(blob, dtype=numpy.float32)
                if vector.size != self._dim:
                    raise ValueError(
                        f"memory {key} has a {vector.size}-dim vector "
                        f"but the store uses {self._dim}"
                    )
                vectors.add(key, vector, _text(agent), _text(kind), float(_text(created)))
        vectors.version = version
        if user_id not in self._users and len(self._users) >= self._config.max_cached_users:
            self._users.pop(next(iter(self._users)))
        self._users[user_id] = vectors
        return vectors
