"""MemoryBank's long-term memory in Redis: store, retrieve (which strengthens), and forget.

Every change that touches more than one key is a Lua script, so it is atomic against other
clients: adding a memory (hash, per-user ZSET, per-day set, version counter), recalling one
(S + 1 only if it still exists), forgetting a batch of turns (R is recomputed inside the
script, so a memory recalled after the sweep looked at it is not lost), and dropping a day's
summary (only while that day has no turns, so a turn written meanwhile keeps it). A call
returns only after Redis has answered, so an acknowledged write is stored (and on disk when
the server fsyncs its AOF on every write, or when ``wait_for_fsync`` asks Redis to confirm).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, Self, TypeVar
from zoneinfo import ZoneInfo

import numpy
import redis.asyncio as aioredis
from pydantic import Field, ValidationError
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from hanlin.llm.embeddings import Embedder
from hanlin.memory.forgetting import (
    Clock,
    ForgettingCurve,
    SweepMode,
    SystemClock,
    forget_cutoffs,
    recalled,
)
from hanlin.memory.inputs import (
    MemoryInputError,
    check_id,
    check_metadata,
    check_text,
    check_texts,
    check_time,
)
from hanlin.memory.reclaim import HashReclaimer
from hanlin.memory.records import (
    FORGETTABLE_KINDS,
    HASH_FIELDS,
    MEMORY_KINDS,
    KeySpace,
    MemoryKind,
    MemoryRecord,
    MemoryView,
    ScoredMemory,
    SweepReport,
    record_from_values,
    record_to_hash,
)
from hanlin.memory.retrying import (
    MemoryStoreError,
    RetryPolicy,
    embedder_call,
    redis_call,
)
from hanlin.memory.store_scripts import ADD, DELETE, DROP_EMPTY_DAYS, RECALL, SWEEP
from hanlin.memory.vector_choice import open_vector_index
from hanlin.memory.vector_index import (
    IndexedVector,
    VectorFilter,
    VectorHit,
    VectorIndex,
    VectorIndexConfig,
)

T = TypeVar("T")
TimeBound = float | dt.datetime | None
_SEARCH_ROUNDS = 4  # KNN queries per search at most, when forgotten memories crowd the first


class MemoryStoreConfig(RetryPolicy):
    """Key prefix, index, forgetting curve and sweep threshold, time zone, retries, fsync."""

    prefix: str = "hanlin:mem"
    index: VectorIndexConfig = Field(default_factory=VectorIndexConfig)
    curve: ForgettingCurve = Field(default_factory=ForgettingCurve)
    forget_threshold: float = Field(default=0.1, gt=0, lt=1)  # threshold-mode sweep cutoff
    timezone: str = "UTC"  # which calendar day a memory belongs to
    wait_for_fsync: bool = False  # WAITAOF after writes: acknowledged only once on disk
    fsync_timeout_ms: int = Field(default=2_000, ge=1)
    sweep_batch: int = Field(default=2_000, ge=1, le=5_000)  # memories per atomic sweep step
    # Longest memory text or query accepted, in characters: about 8k tokens, more than a long
    # chat turn, far less than what would stall the embedder and bloat Redis.
    max_text_chars: int = Field(default=32_000, ge=1)
    max_search_k: int = Field(
        default=1_000, ge=1
    )  # a search returns (and strengthens) at most this


class MemoryStore:
    """Long-term memories per user and agent, with vector search and Ebbinghaus forgetting."""

    def __init__(
        self,
        client: aioredis.Redis,
        embedder: Embedder,
        index: VectorIndex,
        *,
        config: MemoryStoreConfig,
        clock: Clock,
        owns_client: bool,
    ) -> None:
        self._client = client
        self._embedder = embedder
        self._index = index
        self._config = config
        self._clock = clock
        self._owns_client = owns_client
        self._keys = KeySpace(config.prefix)
        self._reclaimer = HashReclaimer(client, self._keys)
        self._zone = ZoneInfo(config.timezone)
        self._scripts = {
            name: client.register_script(body)
            for name, body in {
                "add": ADD,
                "recall": RECALL,
                "delete": DELETE,
                "sweep": SWEEP,
                "drop_days": DROP_EMPTY_DAYS,
            }.items()
        }

    @classmethod
    async def open(
        cls,
        redis: str | aioredis.Redis,
        embedder: Embedder,
        *,
        config: MemoryStoreConfig | None = None,
        clock: Clock | None = None,
    ) -> MemoryStore:
        """Connect (a URL, or a client with ``decode_responses=False``) and pick the index."""
        config = config or MemoryStoreConfig()
        if isinstance(redis, str):
            client = aioredis.Redis.from_url(
                redis, socket_timeout=10, socket_connect_timeout=5, retry=Retry(NoBackoff(), 0)
            )
            owns = True
        else:
            if redis.get_connection_kwargs().get("decode_responses"):
                raise ValueError(
                    "MemoryStore needs a Redis client with decode_responses=False "
                    "(vectors are stored as raw float32 bytes)"
                )
            client, owns = redis, False
        keys = KeySpace(config.prefix)
        try:
            await redis_call(
                "checking the store's embedder",
                lambda: _check_embedder(client, keys, embedder),
                config,
            )
            index = await redis_call(
                "opening the vector index",
                lambda: open_vector_index(client, keys, embedder.dim, config.index),
                config,
            )
        except BaseException as error:
            if owns:
                await client.aclose()
            if isinstance(error, RuntimeError) and not isinstance(error, MemoryStoreError):
                raise MemoryStoreError(f"opening the vector index: {error}") from error
            raise
        return cls(
            client, embedder, index, config=config, clock=clock or SystemClock(), owns_client=owns
        )

    async def close(self) -> None:
        """Finish deleting what a sweep forgot, then let the connection go."""
        await self._reclaimer.drain()
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def index(self) -> VectorIndex:
        return self._index

    @property
    def keys(self) -> KeySpace:
        return self._keys

    @property
    def curve(self) -> ForgettingCurve:
        return self._config.curve

    @property
    def max_text_chars(self) -> int:
        """The longest text ``add`` stores, so writers can check theirs before asking a model."""
        return self._config.max_text_chars

    async def add(
        self,
        user_id: str,
        agent_id: str,
        text: str,
        kind: MemoryKind = "turn",
        at: float | None = None,
        *,
        day: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> MemoryRecord:
        """Embed and store one memory; returns once Redis has acknowledged it."""
        check_text(text, what="the text", max_chars=self._config.max_text_chars)
        return (
            await self.add_many(user_id, agent_id, [text], kind, at, day=day, metadata=metadata)
        )[0]

    async def add_many(
        self,
        user_id: str,
        agent_id: str,
        texts: Sequence[str],
        kind: MemoryKind = "turn",
        at: float | None = None,
        *,
        day: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> list[MemoryRecord]:
        """Embed ``texts`` in one batch and store them in pipelined atomic writes.

        Every argument is checked first (``MemoryInputError`` says what is wrong), so a bad
        text in a batch stores none of them and costs no embedding.
        """
        check_id(user_id, "user_id")
        check_id(agent_id, "agent_id")
        if kind not in MEMORY_KINDS:
            raise ValueError(f"unknown memory kind {kind!r}; use one of {', '.join(MEMORY_KINDS)}")
        texts = check_texts(texts, max_chars=self._config.max_text_chars)
        extra = check_metadata(metadata)
        given = check_time(at, "at")
        if not texts:
            return []
        now = self._clock.now() if given is None else given
        day = day or dt.datetime.fromtimestamp(now, self._zone).date().isoformat()
        stamp = int(now * 1_000_000)
        try:
            records = [
                MemoryRecord(
                    id=f"{stamp:015x}{i:05x}{uuid.uuid4().hex[:12]}",
                    user_id=user_id,
                    agent_id=agent_id,
                    kind=kind,
                    text=text,
                    created_at=now,
                    last_recall_at=now,
                    strength=1,
                    day=day,
                    metadata=dict(extra),
                )
                for i, text in enumerate(texts)
            ]
        except ValidationError as error:  # the day; the rest was checked above
            problems = "; ".join(
                str(item["msg"]).removeprefix("Value error, ") for item in error.errors()
            )
            raise MemoryInputError(f"cannot store these memories: {problems}") from error
        vectors = await self._embed_documents(texts)
        for start in range(0, len(records), 1_000):
            batch = list(
                zip(records[start : start + 1_000], vectors[start : start + 1_000], strict=True)
            )
            replies = await self._redis(
                f"storing {len(batch)} memories of user {user_id!r}", lambda b=batch: self._write(b)
            )
            for (record, vector), (_, version) in zip(batch, replies, strict=True):
                key = self._keys.record(user_id, agent_id, record.id)
                await self._index.note_added(
                    user_id, IndexedVector(key, vector, agent_id, kind, now), int(version)
                )
        await self._durable(f"storing memories of user {user_id!r}")
        return records

    async def search(
        self,
        user_id: str,
        query: str | numpy.ndarray,
        *,
        k: int = 5,
        kinds: Sequence[MemoryKind] | None = None,
        since: TimeBound = None,
        until: TimeBound = None,
        agent_id: str | None = None,
        recall: bool = True,
    ) -> list[ScoredMemory]:
        """The ``k`` memories most similar to ``query``, best first.

        Finding a memory is recalling it: each returned turn gets S + 1 and its Δt restarts
        (pass ``recall=False`` to look without strengthening, e.g. for a UI).
        """
        _check_search(user_id, query, k, kinds, agent_id, self._config.max_text_chars)
        if k > self._config.max_search_k:
            raise MemoryInputError(
                f"k must be at most {self._config.max_search_k} (MemoryStoreConfig.max_search_k), "
                f"got {k}"
            )
        if kinds is not None and not kinds:
            return []  # no kind allowed, nothing to find
        if isinstance(query, str):
            vector = await self._embed(
                f"embedding the query with {self._embedder.name}",
                lambda: self._embedder.embed_query(query),
            )
        else:
            vector = query
        vector = _unit_rows(
            numpy.asarray(vector, dtype=numpy.float32).reshape(1, -1),
            self._embedder.dim,
            "query vector",
        )[0]
        where = VectorFilter(
            user_id=user_id,
            agent_id=agent_id,
            kinds=tuple(kinds) if kinds is not None else None,
            since=_epoch(since),
            until=_epoch(until),
        )
        now = self._clock.now()
        results: list[ScoredMemory] = []
        seen: set[str] = set()
        fetch = k
        # A just-forgotten memory stays in the vector index until its hash is deleted, so a
        # KNN query may return some; then ask for more, and recall only as many as needed.
        for _ in range(_SEARCH_ROUNDS):
            hits = await self._redis(
                f"searching the memories of user {user_id!r}",
                lambda f=fetch: self._index.search(vector, f, where),
            )
            fresh = [hit for hit in hits if hit.key not in seen]
            while fresh and len(results) < k:
                batch, fresh = fresh[: k - len(results)], fresh[k - len(results) :]
                seen.update(hit.key for hit in batch)
                results += await self._recall(user_id, batch, now, recall)
            if len(results) >= k or len(hits) < fetch:
                break
            fetch *= 4
        if recall and results:
            await self._durable(f"recalling memories of user {user_id!r}")
        return sorted(results, key=lambda found: -found.score)

    async def _recall(
        self,
        user_id: str,
        hits: list[VectorHit],
        now: float,
        recall: bool,
    ) -> list[ScoredMemory]:
        """Read (and, with ``recall``, strengthen) the hits that are still memories."""
        state = [
            self._keys.strength(user_id),
            self._keys.recalled(user_id),
            self._keys.ids(user_id),
        ]
        rows = await self._redis(
            f"recalling memories of user {user_id!r}",
            lambda: self._scripts["recall"](
                keys=[*state, *(hit.key for hit in hits)],
                args=[repr(now) if recall else "", *HASH_FIELDS],
            ),
        )
        results = []
        n = len(HASH_FIELDS)
        for hit, row in zip(hits, rows, strict=True):
            saved = row[n : n + 2] if len(row) > n else (None, None)
            record = record_from_values(row[:n], *saved) if row else None
            if record is None:
                continue  # forgotten or deleted since the KNN query saw it
            retention = self.curve.record_retention(record, now)
            if recall and record.kind in FORGETTABLE_KINDS:
                record = recalled(record, now)
            results.append(ScoredMemory(record=record, score=hit.score, retention=retention))
        return results

    async def list(
        self,
        user_id: str,
        *,
        agent_id: str | None = None,
        kinds: Sequence[MemoryKind] | None = None,
        since: TimeBound = None,
        until: TimeBound = None,
        limit: int | None = None,
        newest_first: bool = True,
    ) -> list[MemoryView]:
        """Memories with their strength, retention now and when they will fade (for a UI)."""
        check_id(user_id, "user_id")
        low, high = _epoch(since), _epoch(until)
        low_s = "-inf" if low is None else repr(low)
        high_s = "+inf" if high is None else repr(high)
        keys = await self._redis(
            f"listing the memories of user {user_id!r}",
            lambda: (
                self._client.zrevrangebyscore(self._keys.ids(user_id), high_s, low_s)
                if newest_first
                else self._client.zrangebyscore(self._keys.ids(user_id), low_s, high_s)
            ),
        )
        now = self._clock.now()
        views: list[MemoryView] = []
        for start in range(0, len(keys), 1_000):
            for record in await self._fetch(user_id, keys[start : start + 1_000]):
                if agent_id is not None and record.agent_id != agent_id:
                    continue
                if kinds is not None and record.kind not in kinds:
                    continue
                views.append(self.view(record, now))
                if limit is not None and len(views) >= limit:
                    return views
        return views

    def view(self, record: MemoryRecord, now: float | None = None) -> MemoryView:
        now = self._clock.now() if now is None else now
        fades = record.kind in FORGETTABLE_KINDS
        return MemoryView(
            record=record,
            retention=self.curve.record_retention(record, now),
            elapsed_units=self.curve.elapsed_units(record.last_recall_at, now),
            fades=fades,
            forget_at=self.curve.forget_at(
                record.strength, record.last_recall_at, self._config.forget_threshold
            )
            if fades
            else None,
        )

    async def get(self, user_id: str, agent_id: str, memory_id: str) -> MemoryRecord | None:
        check_id(user_id, "user_id")
        check_id(agent_id, "agent_id")
        check_id(memory_id, "memory_id")
        key = self._keys.record(user_id, agent_id, memory_id)
        found = await self._redis(
            f"reading memory {memory_id}", lambda: self._fetch(user_id, [key])
        )
        return found[0] if found else None

    async def delete(self, user_id: str, agent_id: str, memory_id: str) -> bool:
        """Remove one memory of any kind; False when it did not exist."""
        check_id(user_id, "user_id")
        check_id(agent_id, "agent_id")
        check_id(memory_id, "memory_id")
        key = self._keys.record(user_id, agent_id, memory_id)
        deleted, version = await self._redis(
            f"deleting memory {memory_id}",
            lambda: self._scripts["delete"](
                keys=[
                    key,
                    self._keys.ids(user_id),
                    self._keys.version(user_id),
                    self._keys.strength(user_id),
                    self._keys.recalled(user_id),
                ]
            ),
        )
        if deleted:
            await self._index.note_removed(user_id, [key], int(version))
            await self._durable(f"deleting memory {memory_id}")
        return bool(deleted)

    async def users(self) -> list[str]:
        members = await self._redis(
            "listing users", lambda: self._client.smembers(self._keys.users)
        )
        return sorted(m.decode("utf-8") for m in members)

    async def sweep(
        self,
        user_id: str | None = None,
        *,
        mode: SweepMode = "threshold",
        threshold: float | None = None,
        seed: int | None = None,
    ) -> SweepReport:
        """Forget turns whose retention fell below their cutoff, then the summaries of empty days.

        Each user's memories are walked inside Redis in atomic steps of ``sweep_batch``, oldest
        first, so only what is forgotten travels back; it looks at as many as there were when it
        started. Reads and writes go on between steps. A forgotten memory is gone for every read
        at once; its hash is deleted after the sweep returns, a few at a time (``reclaimed``
        waits for that).
        """
        started = time.perf_counter()
        now = self._clock.now()
        threshold = self._config.forget_threshold if threshold is None else threshold
        if user_id is not None:
            check_id(user_id, "user_id")
        rng = numpy.random.default_rng(seed)
        users = [user_id] if user_id is not None else await self.users()
        examined = kept = 0
        buried: list[str] = []  # users with hashes to delete
        forgotten: list[str] = []
        removed: list[str] = []
        for user in users:
            size, turns, gone, queued = await self._sweep_user(user, mode, threshold, rng, now)
            examined, kept, forgotten = examined + size, kept + turns - len(gone), forgotten + gone
            if gone or queued:  # hashes an earlier process left queued are deleted too
                buried.append(user)
            dropped, version = await self._redis(
                f"dropping emptied days of user {user!r}",
                lambda u=user: self._scripts["drop_days"](
                    keys=[self._keys.summary_days(u)],
                    args=[self._keys.ids(u), self._keys.version(u)],
                ),
            )
            if dropped:
                dropped_keys = [d.decode("utf-8") for d in dropped]
                removed += [d.rsplit(":", 1)[1] for d in dropped_keys]
                await self._index.note_removed(user, dropped_keys, int(version))
        if forgotten or removed:
            await self._durable("sweeping forgotten memories")
        for user in buried:
            self._reclaimer.schedule(user)
        return SweepReport(
            mode=mode,
            now=now,
            users=len(users),
            examined=examined,
            forgotten_turns=forgotten,
            removed_summaries=removed,
            kept_turns=kept,
            elapsed_s=time.perf_counter() - started,
        )

    async def _sweep_user(
        self,
        user: str,
        mode: SweepMode,
        threshold: float,
        rng: numpy.random.Generator,
        now: float,
    ) -> tuple[int, int, list[str], int]:
        """One user's turns: (memories looked at, turns among them, ids forgotten, hashes that
        were already waiting in the graveyard).

        Walks the memory list by rank, ``sweep_batch`` at a time, up to the length it had at
        the start; a step's forgotten memories leave the list, so the next step starts that
        many ranks earlier. Other clients' writes and deletions meanwhile may make a step miss a
        memory or see one twice, which only moves its fate to the next sweep.
        """
        size, queued = await self._redis(
            f"sweeping user {user!r}", partial(self._sweep_sizes, user)
        )
        # One cutoff per memory in creation order, so a seed replays a sweep.
        cutoffs = forget_cutoffs(mode, size, threshold=threshold, rng=rng)
        looked = rank = turns = 0
        forgotten: list[str] = []
        while looked < size:
            count = min(self._config.sweep_batch, size - looked)
            tail = (
                [repr(threshold)]
                if mode == "threshold"
                else [repr(float(c)) for c in cutoffs[looked : looked + count]]
            )
            gone, version, seen_turns, seen = await self._redis(
                f"sweeping user {user!r}",
                partial(self._forget, user, [rank, rank + count - 1, *tail], now),
            )
            if not seen:
                break  # the list got shorter: other clients deleted memories meanwhile
            looked, turns = looked + int(seen), turns + int(seen_turns)
            rank += int(seen) - len(gone)
            if gone:
                gone_keys = [g.decode("utf-8") for g in gone]
                forgotten += [g.rsplit(":", 1)[1] for g in gone_keys]
                await self._index.note_removed(user, gone_keys, int(version))
        return looked, turns, forgotten, queued

    async def reclaimed(self) -> None:
        """Wait until the hashes of the memories that sweeps forgot are deleted."""
        await self._reclaimer.drain()

    async def _sweep_sizes(self, user: str) -> tuple[int, int]:
        """How many memories the user has, and how many hashes wait in their graveyard."""
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.zcard(self._keys.ids(user))
            pipe.llen(self._keys.graveyard(user))
            size, queued = await pipe.execute()
        return int(size), int(queued)

    async def _forget(self, user: str, ranks_and_cutoffs: Sequence[Any], now: float) -> Any:
        """One atomic sweep step; returns [forgotten keys, version, turns, memories looked at]."""
        first, last, *cutoffs = ranks_and_cutoffs
        return await self._scripts["sweep"](
            keys=[
                self._keys.strength(user),
                self._keys.recalled(user),
                self._keys.ids(user),
                self._keys.version(user),
                self._keys.graveyard(user),
            ],
            args=[repr(now), repr(self.curve.unit_seconds), first, last, *cutoffs],
        )

    async def _write(self, batch: list[tuple[MemoryRecord, numpy.ndarray]]) -> list[Any]:
        async with self._client.pipeline(transaction=False) as pipe:
            for record, vector in batch:
                user = record.user_id
                fields = record_to_hash(record, vector, self._keys)
                await self._scripts["add"](
                    keys=[
                        self._keys.record(user, record.agent_id, record.id),
                        self._keys.ids(user),
                        self._keys.version(user),
                        self._keys.users,
                        self._keys.strength(user),
                        self._keys.recalled(user),
                        self._keys.summary_days(user),
                    ],
                    args=[
                        repr(record.created_at),
                        user,
                        record.kind,
                        record.id,
                        fields["day_key"],
                        *(item for pair in fields.items() for item in pair),
                    ],
                    client=pipe,
                )
            return await pipe.execute()

    async def _fetch(self, user_id: str, keys: Sequence[bytes | str]) -> list[MemoryRecord]:
        if not keys:
            return []
        names = [k.decode() if isinstance(k, bytes) else k for k in keys]
        ids = [name.rsplit(":", 1)[1] for name in names]
        async with self._client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hmget(key, *HASH_FIELDS)
            pipe.hmget(self._keys.strength(user_id), ids)
            pipe.hmget(self._keys.recalled(user_id), ids)
            pipe.zmscore(self._keys.ids(user_id), names)
            *rows, strengths, recalls, listed = await pipe.execute()
        records = (
            record_from_values(*values) if score is not None else None
            for *values, score in zip(rows, strengths, recalls, listed, strict=True)
        )
        return [record for record in records if record is not None]  # forgotten: not listed

    async def _embed_documents(self, texts: list[str]) -> numpy.ndarray:
        vectors = await self._embed(
            f"embedding {len(texts)} memories with {self._embedder.name}",
            lambda: self._embedder.embed_documents(texts),
        )
        vectors = numpy.asarray(vectors, dtype=numpy.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(texts):
            raise MemoryStoreError(
                f"embedder {self._embedder.name} returned shape {vectors.shape} "
                f"for {len(texts)} texts"
            )
        return _unit_rows(vectors, self._embedder.dim, f"embedder {self._embedder.name}")

    async def _embed(self, what: str, call: Callable[[], numpy.ndarray]) -> numpy.ndarray:
        return await embedder_call(what, call, self._config)

    async def _redis(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        return await redis_call(what, operation, self._config)

    async def _durable(self, what: str) -> None:
        if not self._config.wait_for_fsync:
            return
        local, _ = await self._redis(
            what,
            lambda: self._client.execute_command("WAITAOF", 1, 0, self._config.fsync_timeout_ms),
        )
        if int(local) < 1:
            raise MemoryStoreError(
                f"{what}: Redis did not confirm the AOF fsync within "
                f"{self._config.fsync_timeout_ms} ms"
            )


async def _check_embedder(client: aioredis.Redis, keys: KeySpace, embedder: Embedder) -> None:
    """One store, one embedding space: refuse an embedder of another name or size."""
    await client.hsetnx(keys.meta, "embedder", embedder.name)
    await client.hsetnx(keys.meta, "dim", str(embedder.dim))
    name, dim = await client.hmget(keys.meta, "embedder", "dim")
    if name.decode() != embedder.name or int(dim) != embedder.dim:
        raise MemoryStoreError(
            f"the memories under prefix {keys.prefix!r} were embedded with {name.decode()!r} "
            f"({int(dim)} dims), not {embedder.name!r} ({embedder.dim} dims); vectors of "
            "different models cannot be compared. Use another prefix, or the same embedder."
        )


def _check_search(
    user_id: str,
    query: object,
    k: int,
    kinds: Sequence[str] | None,
    agent_id: str | None,
    max_chars: int,
) -> None:
    check_id(user_id, "user_id")
    if agent_id is not None:
        check_id(agent_id, "agent_id")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise MemoryInputError(f"k must be a whole number of at least 1, got {k!r}")
    if isinstance(query, str):
        check_text(query, what="the query", max_chars=max_chars)
    elif not isinstance(query, numpy.ndarray):
        raise MemoryInputError(
            f"the query must be a str or a numpy vector, got {type(query).__name__}"
            + (" (decode it to str first)" if isinstance(query, bytes | bytearray) else "")
        )
    for kind in kinds or ():
        if kind not in MEMORY_KINDS:
            raise ValueError(f"unknown memory kind {kind!r}; use one of {', '.join(MEMORY_KINDS)}")


def _unit_rows(vectors: numpy.ndarray, dim: int, source: str) -> numpy.ndarray:
    if vectors.shape[-1] != dim:
        raise MemoryStoreError(f"{source} gave {vectors.shape[-1]}-dim vectors, expected {dim}")
    norms = numpy.linalg.norm(vectors, axis=-1, keepdims=True)
    if not numpy.all(numpy.isfinite(vectors)) or numpy.any(norms == 0):
        raise MemoryStoreError(f"{source} gave a zero or non-finite vector")
    return (vectors / norms).astype(numpy.float32)


def _epoch(value: TimeBound) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"use a timezone-aware datetime for memory time filters, got {value}")
        return value.timestamp()
    return float(value)
