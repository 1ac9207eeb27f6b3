"""K-nearest-neighbour search over memory vectors: in Redis when it can, in process when not.

``RedisVectorIndex`` puts a Redis Query Engine index (``FT.CREATE ... ON HASH``) on the memory
hashes, with TAG fields for user, agent and kind and a NUMERIC creation time, so filters run
inside the KNN query. Exact FLAT search is used while the index is small and HNSW once it
holds ``hnsw_threshold`` documents: the HNSW index is built next to the FLAT one and replaces
it once it has indexed every document, so searches never see a half-built index.

Redis servers without the search module (many hosted ones) get the in-process
:class:`hanlin.memory.numpy_index.NumpyVectorIndex` over the same hashes instead, with the
same results; ``hanlin.memory.vector_choice.open_vector_index`` picks one from what the server
answers, or from config.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy
import redis.asyncio as aioredis
from pydantic import BaseModel, Field
from redis.exceptions import NoPermissionError, ResponseError

from hanlin.memory.records import KeySpace, user_token

Backend = Literal["redis", "numpy"]


class VectorIndexConfig(BaseModel):
    """Which backend and algorithm to use; ``auto`` decides from the server and index size."""

    backend: Literal["auto", "redis", "numpy"] = "auto"
    algorithm: Literal["auto", "flat", "hnsw"] = "auto"
    hnsw_threshold: int = Field(default=20_000, ge=1)  # documents at which auto picks HNSW
    hnsw_m: int = Field(default=16, ge=2)
    hnsw_ef_construction: int = Field(default=200, ge=1)
    hnsw_ef_runtime: int = Field(default=64, ge=1)
    size_check_every: int = Field(default=1_000, ge=1)  # adds between index-size checks
    # HNSW with a filter: Redis may brute-force every memory that passes the filter, which is
    # slow for a user who owns much of a large index; then walk HNSW in batches instead.
    batches_min_docs: int = Field(default=5_000, ge=0)
    batches_min_share: float = Field(default=0.05, ge=0, le=1)
    build_timeout_s: float = Field(default=120.0, gt=0)  # wait for a newly created active index
    max_cached_users: int = Field(default=1_000, ge=1)  # numpy backend: users kept in memory


class VectorFilter(BaseModel):
    """Which memories a KNN query may return."""

    user_id: str
    agent_id: str | None = None
    kinds: tuple[str, ...] | None = None
    since: float | None = None  # created_at >= since
    until: float | None = None  # created_at <= until


@dataclass(frozen=True)
class VectorHit:
    key: str
    score: float  # cosine similarity


@dataclass(frozen=True)
class IndexedVector:
    """What an index needs to know about a memory just written."""

    key: str
    embedding: numpy.ndarray
    agent_id: str
    kind: str
    created_at: float


class VectorIndex(Protocol):
    backend: Backend

    async def prepare(self) -> None: ...

    async def search(
        self, vector: numpy.ndarray, k: int, where: VectorFilter
    ) -> list[VectorHit]: ...

    async def note_added(self, user_id: str, item: IndexedVector, version: int) -> None: ...

    async def note_removed(self, user_id: str, keys: list[str], version: int) -> None: ...

    def describe(self) -> dict[str, Any]: ...


async def server_has_search(client: aioredis.Redis) -> bool:
    """True when the server runs the Query Engine (FT.* commands) and lets us use it."""
    try:
        await client.execute_command("FT._LIST")
    except NoPermissionError:
        return False
    except ResponseError as error:
        message = str(error).lower()
        return not ("unknown command" in message or "noperm" in message)
    return True


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _as_dict(reply: Any) -> dict[str, Any]:
    """A RESP3 map or a RESP2 flat [key, value, ...] list as a dict with str keys."""
    if isinstance(reply, dict):
        return {_text(k): v for k, v in reply.items()}
    return {_text(k): v for k, v in zip(reply[::2], reply[1::2], strict=False)}


def _number(value: float | None, default: str) -> str:
    return default if value is None else repr(float(value))


class RedisVectorIndex:
    """KNN in the Redis Query Engine over the memory hashes (FLAT, then HNSW when large)."""

    backend: Backend = "redis"

    def __init__(
        self, client: aioredis.Redis, keys: KeySpace, dim: int, config: VectorIndexConfig
    ) -> None:
        self._client = client
        self._keys = keys
        self._dim = dim
        self._config = config
        self.algorithm: Literal["flat", "hnsw"] = "flat"
        self._pending_hnsw = False
        self._adds_since_check = 0
        self._last_check = 0.0
        self._index_docs = 0
        self._user_docs: dict[str, tuple[int, float]] = {}  # user -> (memories, when counted)

    @property
    def index_name(self) -> str:
        return self._keys.index_name(self.algorithm)

    def describe(self) -> dict[str, Any]:
        return {"backend": "redis", "algorithm": self.algorithm, "index": self.index_name}

    async def prepare(self) -> None:
        """Choose (and create if needed) the index to query, and start HNSW when due."""
        self._last_check = time.monotonic()
        existing = {_text(name) for name in await self._client.execute_command("FT._LIST")}
        forced = self._config.algorithm
        if forced != "auto":
            self.algorithm = forced
            if self._keys.index_name(forced) not in existing:
                await self._create(forced)
                await self._wait_indexed(forced)
            self._index_docs = int(_text(_as_dict(await self._info(forced)).get("num_docs", 0)))
            return
        flat, hnsw = self._keys.index_name("flat"), self._keys.index_name("hnsw")
        if hnsw in existing:
            info = await self._info("hnsw")
            if _indexing_done(info) or flat not in existing:
                self.algorithm, self._pending_hnsw = "hnsw", False
                self._index_docs = int(_text(_as_dict(info).get("num_docs", 0)))
                if flat in existing:
                    await self._drop("flat")
                return
            self.algorithm, self._pending_hnsw = "flat", True
            return
        if flat not in existing:
            await self._create("flat")
            await self._wait_indexed("flat")
        self.algorithm = "flat"
        docs = int(_text(_as_dict(await self._info("flat")).get("num_docs", 0)))
        if docs >= self._config.hnsw_threshold:
            await self._create("hnsw")
            self._pending_hnsw = True

    async def search(self, vector: numpy.ndarray, k: int, where: VectorFilter) -> list[VectorHit]:
        if self._pending_hnsw and time.monotonic() - self._last_check > 0.5:
            await self.prepare()
        elif self.algorithm == "hnsw" and time.monotonic() - self._last_check > 10.0:
            await self.prepare()  # refreshes the index size the hybrid policy looks at
        try:
            return await self._query(vector, k, where)
        except ResponseError as error:
            if (
                "no such index" not in str(error).lower()
                and "unknown index" not in str(error).lower()
            ):
                raise
            await self.prepare()  # another process switched FLAT -> HNSW under us
            return await self._query(vector, k, where)

    async def note_added(self, user_id: str, item: IndexedVector, version: int) -> None:
        self._adds_since_check += 1
        if (
            self._config.algorithm == "auto"
            and self.algorithm == "flat"
            and (self._adds_since_check >= self._config.size_check_every)
        ):
            self._adds_since_check = 0
            await self.prepare()

    async def note_removed(self, user_id: str, keys: list[str], version: int) -> None:
        return None  # deleting a hash removes it from the Query Engine index by itself

    async def _query(self, vector: numpy.ndarray, k: int, where: VectorFilter) -> list[VectorHit]:
        filters = [f"@user_key:{{{user_token(where.user_id)}}}"]
        if where.agent_id is not None:
            filters.append(f"@agent_key:{{{user_token(where.agent_id)}}}")
        if where.kinds is not None:
            filters.append("@kind:{" + "|".join(where.kinds) + "}")
        if where.since is not None or where.until is not None:
            filters.append(
                f"@created_at:[{_number(where.since, '-inf')} {_number(where.until, '+inf')}]"
            )
        ef = ""
        if self.algorithm == "hnsw":
            ef = f" EF_RUNTIME {self._config.hnsw_ef_runtime}"
            if await self._user_owns_much(where.user_id):
                ef += " HYBRID_POLICY BATCHES"
        query = f"({' '.join(filters)})=>[KNN {k} @embedding $vec{ef} AS dist]"
        blob = numpy.ascontiguousarray(vector, dtype=numpy.float32).tobytes()
        reply = await self._client.execute_command(
            "FT.SEARCH",
            self.index_name,
            query,
            "PARAMS",
            2,
            "vec",
            blob,
            "SORTBY",
            "dist",
            "ASC",
            "RETURN",
            1,
            "dist",
            "LIMIT",
            0,
            k,
            "DIALECT",
            2,
        )
        return _parse_hits(reply)

    async def _user_owns_much(self, user_id: str) -> bool:
        """Whether the user's memories are many and a large share of the index (counts are
        cached for 10 s)."""
        counted = self._user_docs.get(user_id)
        if counted is None or time.monotonic() - counted[1] > 10.0:
            counted = (int(await self._client.zcard(self._keys.ids(user_id))), time.monotonic())
            if len(self._user_docs) > 10_000:
                self._user_docs.clear()
            self._user_docs[user_id] = counted
        docs = counted[0]
        return docs >= self._config.batches_min_docs and (
            docs >= self._config.batches_min_share * max(1, self._index_docs)
        )

    async def _create(self, algorithm: Literal["flat", "hnsw"]) -> None:
        vector_args: list[Any] = ["TYPE", "FLOAT32", "DIM", self._dim, "DISTANCE_METRIC", "COSINE"]
        if algorithm == "hnsw":
            vector_args += [
                "M",
                self._config.hnsw_m,
                "EF_CONSTRUCTION",
                self._config.hnsw_ef_construction,
            ]
        try:
            await self._client.execute_command(
                "FT.CREATE",
                self._keys.index_name(algorithm),
                "ON",
                "HASH",
                "PREFIX",
                1,
                self._keys.record_prefix,
                "SCHEMA",
                "user_key",
                "TAG",
                "agent_key",
                "TAG",
                "kind",
                "TAG",
                "created_at",
                "NUMERIC",
                "SORTABLE",
                "embedding",
                "VECTOR",
                algorithm.upper(),
                len(vector_args),
                *vector_args,
            )
        except ResponseError as error:
            if "already exists" not in str(error).lower():
                raise

    async def _drop(self, algorithm: str) -> None:
        try:  # without DD: the hashes stay, only this index goes
            await self._client.execute_command("FT.DROPINDEX", self._keys.index_name(algorithm))
        except ResponseError as error:
            if (
                "unknown index" not in str(error).lower()
                and "no such index" not in str(error).lower()
            ):
                raise

    async def _info(self, algorithm: str) -> Any:
        return await self._client.execute_command("FT.INFO", self._keys.index_name(algorithm))

    async def _wait_indexed(self, algorithm: str) -> None:
        deadline = time.monotonic() + self._config.build_timeout_s
        while not _indexing_done(await self._info(algorithm)):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the Redis index {self._keys.index_name(algorithm)} was still indexing "
                    f"existing memories after {self._config.build_timeout_s:.0f}s"
                )
            await asyncio.sleep(0.05)


def _indexing_done(info: Any) -> bool:
    fields = _as_dict(info)
    return int(float(_text(fields.get("indexing", 0)))) == 0 and (
        float(_text(fields.get("percent_indexed", 1))) >= 1.0
    )


def _parse_hits(reply: Any) -> list[VectorHit]:
    """FT.SEARCH with ``RETURN 1 dist``, in RESP3 (map) or RESP2 (flat list) form."""
    hits: list[VectorHit] = []
    if isinstance(reply, dict):
        for row in reply[b"results"] if b"results" in reply else reply["results"]:
            row = _as_dict(row)
            extra = _as_dict(row.get("extra_attributes") or {})
            hits.append(VectorHit(_text(row["id"]), 1.0 - float(_text(extra["dist"]))))
        return hits
    for key, fields in zip(reply[1::2], reply[2::2], strict=False):
        hits.append(VectorHit(_text(key), 1.0 - float(_text(_as_dict(fields)["dist"]))))
    return hits
