"""Long-term memory at 10k and 100k memories: retrieval latency, writes, forgetting, recall.

One user holds all memories (the worst case for a per-user filter). Vectors come from a fixed
random 384-dim embedder (the size of MiniLM / e5-small), and queries are given as vectors,
so no embedding time is measured. Per size:

* write throughput of ``add_many`` (pipelined atomic writes, batches of 1,000);
* KNN latency of the Redis Query Engine index (FLAT below the HNSW threshold, HNSW above)
  and of the in-process numpy index on the same data, plus a full ``search`` (KNN, then the
  recall script that fetches the memories and strengthens them);
* recall@10 of each index against exact brute force;
* the forgetting sweep (threshold mode) over all memories: once when nothing has faded yet
  (the cost of looking), once a day later when about 18% have (a daily sweep);
* the same two sweeps the way the store swept before (every key sent back to Redis, each
  fading hash deleted inside the script, ``memory_sweep_baseline.py``) over an identical
  second copy of the memories in the same server, and the ratio of the two;
* for both, the Redis CPU time used and the longest single event that held the server up
  (Redis's latency monitor: a sweep step, a deletion call, ...), for the current sweep counted
  until the store had deleted the forgotten hashes after it and the index had dropped them
  (``reclaim_s`` after the sweep returned).

The largest size also runs with a FLAT index (exact, cheaper writes and deletes, slower KNN).

Run: python benchmarks/memory.py [--sizes 10000 100000] [--queries 300] [--no-flat-at-largest]
Starts its own Redis Stack on a free port in a temporary folder and stops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy
import redis.asyncio as aioredis
from common import percentiles, print_table, write_results
from memory_sweep_baseline import per_key_sweep

from hanlin.memory import (
    ManualClock,
    MemoryStore,
    MemoryStoreConfig,
    VectorFilter,
    VectorIndexConfig,
)
from hanlin.redis_stack.server import RedisServerConfig, ensure_redis_server, stop_redis_server

DIM = 384
DAY = 86_400.0
HNSW_THRESHOLD = 20_000


class FixedRandomEmbedder:
    """Text ``"m<i>"`` -> row i of a fixed random unit matrix; costs an index lookup.

    Rows are drawn around random topic centres (about 50 memories per topic), as real
    embeddings cluster; uniform random vectors have no neighbourhoods for HNSW to find.
    """

    name = "fixed-random-384"
    dim = DIM

    def __init__(self, count: int, seed: int = 0) -> None:
        rng = numpy.random.default_rng(seed)
        centres = rng.standard_normal((max(1, count // 50), DIM))
        centres /= numpy.linalg.norm(centres, axis=1, keepdims=True)
        noise = rng.standard_normal((count, DIM)) / numpy.sqrt(DIM)
        rows = (centres[rng.integers(0, len(centres), count)] + noise).astype(numpy.float32)
        self.matrix = rows / numpy.linalg.norm(rows, axis=1, keepdims=True)

    def embed_documents(self, texts: Sequence[str]) -> numpy.ndarray:
        return self.matrix[[int(text[1:]) for text in texts]]

    def embed_query(self, text: str) -> numpy.ndarray:
        return self.matrix[int(text[1:])]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def near_queries(matrix: numpy.ndarray, count: int, seed: int = 1) -> numpy.ndarray:
    """Stored vectors plus noise: questions about a memory are near it, not on it."""
    rng = numpy.random.default_rng(seed)
    picked = matrix[rng.choice(len(matrix), count, replace=False)]
    noisy = picked + 0.5 * rng.standard_normal(picked.shape).astype(numpy.float32) / numpy.sqrt(DIM)
    return (noisy / numpy.linalg.norm(noisy, axis=1, keepdims=True)).astype(numpy.float32)


async def timed_knn(
    store: MemoryStore, queries: numpy.ndarray, k: int
) -> tuple[list[float], list[list[str]]]:
    where = VectorFilter(user_id="bench")
    await store.index.search(queries[0], k, where)  # warm-up (loads the numpy cache)
    samples, found = [], []
    for vector in queries:
        start = time.perf_counter()
        hits = await store.index.search(vector, k, where)
        samples.append((time.perf_counter() - start) * 1000)
        found.append([hit.key.rsplit(":", 1)[1] for hit in hits])
    return samples, found


def recall_at(found: list[list[str]], exact: list[list[str]]) -> float:
    return float(
        numpy.mean([len(set(f) & set(e)) / len(e) for f, e in zip(found, exact, strict=True)])
    )


class LatencyWatch:
    """The longest single event that held up the Redis server during a block, per kind (ms),
    from Redis's own latency monitor: a script, a command, an active-expire cycle, ...
    Measured inside the server, so a busy client machine does not inflate it."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client
        self.longest: dict[str, int] = {}

    async def __aenter__(self) -> LatencyWatch:
        await self._client.config_set("latency-monitor-threshold", 1)
        await self._client.execute_command("LATENCY", "RESET")
        return self

    async def __aexit__(self, *exc: object) -> None:
        latest = await self._client.execute_command("LATENCY", "LATEST")
        self.longest = {_text(event): int(max_ms) for event, _, _, max_ms, *_ in latest}
        await self._client.config_set("latency-monitor-threshold", 0)

    @property
    def max_ms(self) -> int:
        return max(self.longest.values(), default=0)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def write_memories(store: MemoryStore, clock: ManualClock, n: int) -> list[str]:
    """``n`` memories of one user, aged 0 to 1.6 days: a day on, ~18% are below R = 0.1."""
    ids: list[str] = []
    batches = range(0, n, 1_000)
    for number, first in enumerate(batches):
        at = clock.now() - 1.6 * DAY * number / len(batches)
        texts = [f"m{i}" for i in range(first, min(n, first + 1_000))]
        ids += [record.id for record in await store.add_many("bench", "bot", texts, at=at)]
    return ids


async def indexed_docs(client: aioredis.Redis, store: MemoryStore) -> int:
    reply = await client.execute_command("FT.INFO", store.index.describe()["index"])
    fields = reply if isinstance(reply, dict) else dict(zip(reply[::2], reply[1::2], strict=True))
    fields = {(k.decode() if isinstance(k, bytes) else k): v for k, v in fields.items()}
    return int(fields["num_docs"])


async def redis_cpu_s(client: aioredis.Redis) -> float:
    """CPU seconds the Redis server has used so far (all its threads)."""
    cpu = await client.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


async def wait_reclaimed(client: aioredis.Redis, store: MemoryStore, live: int) -> float:
    """Seconds until the forgotten hashes are deleted and the index holds only ``live``."""
    start = time.perf_counter()
    await store.reclaimed()
    while await indexed_docs(client, store) > live:
        if time.perf_counter() - start > 600:
            raise RuntimeError("the forgotten memories were not reclaimed within 10 minutes")
        await asyncio.sleep(0.02)
    return time.perf_counter() - start


async def mirror_recalls(
    client: aioredis.Redis,
    store: MemoryStore,
    ids: list[str],
    copy: MemoryStore,
    copy_ids: list[str],
) -> None:
    """Give the copy's memories the strength and last recall of the store's (the searches
    above recalled some), so both sweeps see the same state."""
    as_copy: dict[Any, bytes] = {a.encode(): b.encode() for a, b in zip(ids, copy_ids, strict=True)}
    for name in ("strength", "recalled"):
        values = await client.hgetall(getattr(store.keys, name)("bench"))
        await client.hset(
            getattr(copy.keys, name)("bench"),
            mapping={as_copy[key]: value for key, value in values.items()},
        )


async def compare_sweeps(
    url: str,
    store: MemoryStore,
    ids: list[str],
    clock: ManualClock,
    n: int,
    algorithm: str,
    index: VectorIndexConfig,
) -> dict[str, Any]:
    """Both sweeps, on two identical copies of the memories, a day after they were written."""
    embedder = FixedRandomEmbedder(n)
    copy_config = MemoryStoreConfig(prefix=f"bench{n}{algorithm}perkey", index=index)
    copy = await MemoryStore.open(url, embedder, config=copy_config, clock=clock)
    copy_ids = await write_memories(copy, clock, n)
    await asyncio.sleep(1.0)  # let background indexing settle
    client = aioredis.Redis.from_url(url)
    try:
        await mirror_recalls(client, store, ids, copy, copy_ids)
        look_only = await store.sweep("bench", threshold=0.1)
        _, per_key_look_s = await per_key_sweep(
            client, copy.keys, "bench", now=clock.now(), unit_seconds=DAY, threshold=0.1
        )
        clock.advance(days=1)
        async with LatencyWatch(client) as during_sweep:
            cpu_before = await redis_cpu_s(client)
            report = await store.sweep("bench", threshold=0.1)
            reclaim_s = await wait_reclaimed(client, store, n - len(report.forgotten_turns))
            sweep_cpu_s = await redis_cpu_s(client) - cpu_before
        async with LatencyWatch(client) as during_per_key:
            cpu_before = await redis_cpu_s(client)
            per_key_forgotten, per_key_s = await per_key_sweep(
                client, copy.keys, "bench", now=clock.now(), unit_seconds=DAY, threshold=0.1
            )
            per_key_cpu_s = await redis_cpu_s(client) - cpu_before
        assert per_key_forgotten == len(report.forgotten_turns)
        assert await indexed_docs(client, copy) == n - per_key_forgotten
    finally:
        await client.aclose()
        await copy.close()
    return {
        "sweep_nothing_faded_s": look_only.elapsed_s,
        "sweep_nothing_faded_forgotten": len(look_only.forgotten_turns),
        "sweep_s": report.elapsed_s,
        "sweep_forgotten": len(report.forgotten_turns),
        "sweep_reclaim_s": reclaim_s,
        "sweep_longest_event_ms": during_sweep.longest,  # the sweep and the reclaim after it
        "sweep_redis_cpu_s": sweep_cpu_s,  # the sweep and the reclaim after it
        "per_key_sweep_nothing_faded_s": per_key_look_s,
        "per_key_sweep_s": per_key_s,
        "per_key_sweep_longest_event_ms": during_per_key.longest,
        "per_key_sweep_redis_cpu_s": per_key_cpu_s,
        "sweep_speedup": per_key_s / report.elapsed_s,
        "sweep_nothing_faded_speedup": per_key_look_s / look_only.elapsed_s,
    }


async def run_size(
    url: str, n: int, n_queries: int, algorithm: str | None = None
) -> dict[str, Any]:
    """One size; the algorithm is what ``auto`` picks at that size unless given."""
    embedder = FixedRandomEmbedder(n)
    clock = ManualClock()
    algorithm = algorithm or ("hnsw" if n >= HNSW_THRESHOLD else "flat")
    index = VectorIndexConfig(algorithm=algorithm, hnsw_threshold=HNSW_THRESHOLD)
    config = MemoryStoreConfig(prefix=f"bench{n}{algorithm}", index=index)
    store = await MemoryStore.open(url, embedder, config=config, clock=clock)
    start = time.perf_counter()
    ids = await write_memories(store, clock, n)
    write_s = time.perf_counter() - start
    await asyncio.sleep(1.0)  # let background indexing settle before timing searches

    queries = near_queries(embedder.matrix, n_queries)
    exact_rows = numpy.argsort(-(queries @ embedder.matrix.T), axis=1)[:, :10]
    exact = [[ids[row] for row in rows] for rows in exact_rows]
    redis_ms, redis_found = await timed_knn(store, queries, 10)
    wide_recall = None
    if algorithm == "hnsw":  # the same HNSW index, searched with a wider beam
        wide_index = index.model_copy(update={"hnsw_ef_runtime": 256})
        wide = await MemoryStore.open(
            url, embedder, clock=clock, config=config.model_copy(update={"index": wide_index})
        )
        wide_ms, wide_found = await timed_knn(wide, queries, 10)
        wide_recall = {
            "ef_runtime": 256,
            "recall_at_10": recall_at(wide_found, exact),
            "knn_ms": percentiles(wide_ms),
        }
        await wide.close()
    search_ms = []
    for vector in queries[:100]:
        begin = time.perf_counter()
        await store.search("bench", vector, k=5)
        search_ms.append((time.perf_counter() - begin) * 1000)

    numpy_config = config.model_copy(update={"index": VectorIndexConfig(backend="numpy")})
    in_process = await MemoryStore.open(url, embedder, config=numpy_config, clock=clock)
    numpy_ms, numpy_found = await timed_knn(in_process, queries, 10)
    await in_process.close()

    sweeps = await compare_sweeps(url, store, ids, clock, n, algorithm, index)
    await store.close()
    async with aioredis.Redis.from_url(url) as client:
        await client.flushdb()  # each size starts from an empty server
    return {
        "memories": n,
        "redis_algorithm": algorithm,
        "write_per_s": n / write_s,
        "redis_knn_ms": percentiles(redis_ms),
        "store_search_ms": percentiles(search_ms),
        "numpy_knn_ms": percentiles(numpy_ms),
        "redis_recall_at_10": recall_at(redis_found, exact),
        "redis_recall_at_1": recall_at([f[:1] for f in redis_found], [e[:1] for e in exact]),
        "redis_wider_beam": wide_recall,
        "numpy_recall_at_10": recall_at(numpy_found, exact),
        **sweeps,
    }


async def main(sizes: list[int], n_queries: int, flat_at_largest: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="hanlin-memory-bench-") as folder:
        server = RedisServerConfig(port=free_port(), data_dir=Path(folder))
        url = ensure_redis_server(server)
        try:
            rows = [await run_size(url, n, n_queries) for n in sizes]
            if flat_at_largest and max(sizes) >= HNSW_THRESHOLD:  # exact search, cheap deletes
                rows.append(await run_size(url, max(sizes), n_queries, "flat"))
        finally:
            stop_redis_server(server)
    payload = {
        "dim": DIM,
        "queries": n_queries,
        "hnsw": {
            "M": 16,
            "EF_CONSTRUCTION": 200,
            "EF_RUNTIME": VectorIndexConfig().hnsw_ef_runtime,
        },
        "embedder": "fixed random, clustered (~50 per topic); queries = stored vector + noise",
        "redis_appendfsync": server.appendfsync,
        "results": rows,
    }
    path = write_results("memory", payload)
    print_table(
        [
            "memories",
            "redis index",
            "writes/s",
            "redis p50 ms",
            "redis p95 ms",
            "search p50 ms",
            "numpy p50 ms",
            "numpy p95 ms",
            "redis recall@10",
        ],
        [
            [
                r["memories"],
                r["redis_algorithm"],
                round(r["write_per_s"]),
                r["redis_knn_ms"]["p50"],
                r["redis_knn_ms"]["p95"],
                r["store_search_ms"]["p50"],
                r["numpy_knn_ms"]["p50"],
                r["numpy_knn_ms"]["p95"],
                r["redis_recall_at_10"],
            ]
            for r in rows
        ],
    )
    print()
    print_table(
        [
            "memories",
            "redis index",
            "forgotten",
            "scan sweep s",
            "per-key scan s",
            "daily sweep s",
            "per-key daily s",
            "speed-up",
            "reclaim s",
            "redis cpu s",
            "per-key cpu s",
            "longest event ms",
            "per-key longest ms",
        ],
        [
            [
                r["memories"],
                r["redis_algorithm"],
                r["sweep_forgotten"],
                r["sweep_nothing_faded_s"],
                r["per_key_sweep_nothing_faded_s"],
                r["sweep_s"],
                r["per_key_sweep_s"],
                round(r["sweep_speedup"], 1),
                r["sweep_reclaim_s"],
                r["sweep_redis_cpu_s"],
                r["per_key_sweep_redis_cpu_s"],
                max(r["sweep_longest_event_ms"].values(), default=0),
                max(r["per_key_sweep_longest_event_ms"].values(), default=0),
            ]
            for r in rows
        ],
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument(
        "--no-flat-at-largest",
        action="store_true",
        help="skip the extra FLAT run at the largest size",
    )
    args = parser.parse_args()
    asyncio.run(main(args.sizes, args.queries, not args.no_flat_at_largest))
