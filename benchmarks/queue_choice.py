"""The run queue (Redis Streams, ``hanlin.service.queue.RunQueue``) against arq and saq.

All three on one local Redis Stack, in the same run, with no-op jobs. A consumer is one job
slot of a worker process: arq's ``max_jobs``, saq's ``concurrency``, and for the Streams side
the loop of hanlin's worker (a semaphore of slots over one ``RunQueue`` consumer: claim the
entry, then acknowledge it). Every consumer process reports the moment each job starts and
ends on its stdout; the clock is the machine's, shared by all processes. Measured:

1. enqueue -> start latency at a steady trickle (``--trickle`` jobs at ``--rate`` per s,
   4 consumers): from just before the producer's enqueue call to the job's first line;
2. drain: ``--drain`` jobs queued before the consumers start, then the time until the last
   one is done, with 1 and with 4 consumers (stopped after ``--drain-cap`` seconds);
3. re-delivery: two worker processes of one slot each; a job that holds its slot (and keeps
   its claim fresh where the library has a way to) is killed with SIGKILL in the process
   holding it after ``--hold`` seconds; the time until the other process starts that job.
   Each library is set to a 2 s budget as far as its settings allow (Streams: ``XAUTOCLAIM``
   min-idle 2 s, as ``hanlin worker --lease-seconds 2``; saq: job heartbeat 2 s, sweep every
   1 s; arq: job timeout 2 s, which sets its in-progress key to expire 10 s later);
4. Redis commands per job: ``INFO commandstats`` deltas (commands run inside Lua scripts and
   MULTI/EXEC count too); at the trickle, all commands over the jobs; in a drain, the
   enqueueing commands over the jobs queued plus the consuming ones over the jobs done. The
   peak is the highest of the three phases.

arq is run twice: with its default poll delay (0.5 s) and with ``--arq-fast-poll``.

The two peers are not dependencies of hanlin (arq pins redis-py below 6, saq below 8, which
would downgrade hanlin's); install them for this benchmark only, without their pins:
``pip install --no-deps arq==0.28.0 saq==0.26.4 croniter``.

Run: python benchmarks/queue_choice.py [--trickle 500] [--rate 100] [--drain 5000]
[--drain-cap 15] [--kill-trials 2] [--hold 1.0]
Starts its own Redis Stack on a free port in a temporary folder and stops it, and every
consumer process, at the end, on failure too.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from arq.connections import RedisSettings, create_pool
from common import print_table, write_results
from queue_consumers import BUDGET_S, PREFIX, QUEUE
from redis.asyncio import Redis
from saq import Queue as SaqQueue

from hanlin.redis_stack.server import RedisServerConfig, ensure_redis_server, stop_redis_server
from hanlin.service.keys import ServiceKeys

CONSUMERS = Path(__file__).with_name("queue_consumers.py")
ENQUEUE_BATCH = 50  # enqueue calls in flight while filling the queue for a drain

MODELS = {
    "streams": "stream + consumer group; XREADGROUP blocks for new entries; a consumer that "
    "stops leaves its entry pending and XAUTOCLAIM hands entries idle past min-idle to another "
    "consumer; a live worker resets the idle time with XCLAIM JUSTID",
    "arq": "sorted set polled with ZRANGEBYSCORE every poll_delay; a worker takes a job by "
    "setting an in-progress key (WATCH/MULTI) that expires job_timeout + 10 s after the start "
    "(fixed in arq); no heartbeat, so a job whose worker died runs again only after that expiry",
    "saq": "list; workers BLMOVE from queued to active; a sweep (every timers['sweep'] s, one "
    "worker at a time) aborts active jobs past their timeout or heartbeat, waits up to 5 s "
    "(fixed in saq) for the abort to be acknowledged, then re-queues them if retries are left",
}


# --- the producer side -----------------------------------------------------------------------


@dataclass(frozen=True)
class Library:
    """One contestant: its name in the results, and how the producer enqueues for it."""

    name: str
    kind: str  # streams | arq | saq
    poll_s: float = 0.5  # arq only


class Producer:
    """Enqueues job ``key`` the way each library's clients do."""

    def __init__(self, lib: Library, url: str) -> None:
        self.lib = lib
        self.url = url
        self._enqueue: Callable[[str, bool], Awaitable[Any]]
        self._close: Callable[[], Awaitable[Any]]

    async def __aenter__(self) -> Producer:
        if self.lib.kind == "streams":
            client = Redis.from_url(self.url, decode_responses=True)
            stream = ServiceKeys(PREFIX).queue

            async def enqueue(key: str, budget: bool) -> Any:
                return await client.xadd(stream, {"run_id": key})  # as the API's script does

            self._enqueue, self._close = enqueue, client.aclose
        elif self.lib.kind == "arq":
            pool = await create_pool(RedisSettings.from_dsn(self.url), default_queue_name=QUEUE)

            async def enqueue(key: str, budget: bool) -> Any:
                return await pool.enqueue_job("noop", key, _job_id=key)

            self._enqueue, self._close = enqueue, pool.aclose
        else:
            queue = SaqQueue.from_url(self.url, name=QUEUE)
            await queue.connect()

            async def enqueue(key: str, budget: bool) -> Any:
                # budget: a 2 s heartbeat, no run-time limit, one retry for the re-delivery
                opts = {"heartbeat": BUDGET_S, "timeout": 0, "retries": 2} if budget else {}
                return await queue.enqueue("noop", key=key, **opts)

            self._enqueue, self._close = enqueue, queue.disconnect
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._close()

    async def enqueue(self, key: str, budget: bool = False) -> None:
        if await self._enqueue(key, budget) is None:
            raise RuntimeError(f"{self.lib.name}: job {key} was not enqueued")


@dataclass
class Consumer:
    """One consumer process and what it reported."""

    proc: asyncio.subprocess.Process
    log: Path
    starts: dict[str, float] = field(default_factory=dict)
    ends: dict[str, float] = field(default_factory=dict)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            kind, key, stamp = raw.decode().split()
            if kind == "R":
                self.ready.set()
            elif kind == "S":
                self.starts.setdefault(key, float(stamp))
            elif kind == "D":
                self.ends[key] = float(stamp)
            self.changed.set()

    def go(self) -> float:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")
        return time.time()

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()


class Fleet:
    """Consumer processes, each started and stopped by its pid."""

    def __init__(self, url: str, logs: Path) -> None:
        self.url = url
        self.logs = logs
        self.consumers: list[Consumer] = []
        self._readers: list[asyncio.Task[None]] = []
        self._started = 0  # every process gets its own log file

    async def start(self, lib: Library, slots: int, budget: bool = False) -> Consumer:
        self._started += 1
        log = self.logs / f"{self._started:03d}-{lib.name}.log"
        argv = [str(CONSUMERS), lib.kind, self.url, str(slots), str(int(budget))]
        with log.open("wb") as err:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                *argv,
                str(lib.poll_s),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
            )
        consumer = Consumer(proc, log)
        self.consumers.append(consumer)
        self._readers.append(asyncio.create_task(consumer.read()))
        try:
            await asyncio.wait_for(consumer.ready.wait(), 60)
        except TimeoutError:
            raise RuntimeError(f"{lib.name} consumer never ready:\n{log.read_text()}") from None
        return consumer

    async def stop(self) -> None:
        for consumer in self.consumers:
            consumer.kill()
        for consumer in self.consumers:
            await consumer.proc.wait()
        await asyncio.gather(*self._readers, return_exceptions=True)
        self.consumers.clear()
        self._readers.clear()


async def until(predicate: Callable[[], bool], consumers: list[Consumer], limit: float) -> bool:
    """Wait (at most ``limit`` s) until ``predicate`` holds after some consumer's report."""
    deadline = time.monotonic() + limit
    while True:
        for consumer in consumers:
            consumer.changed.clear()
        if predicate():
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        waits = [asyncio.create_task(c.changed.wait()) for c in consumers]
        await asyncio.wait(waits, timeout=min(left, 0.2), return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()


class Commands:
    """``INFO commandstats`` snapshots: the commands Redis ran between two of them, per job
    (each snapshot's own INFO is left out)."""

    def __init__(self, client: Redis) -> None:
        self.client = client
        self.last: dict[str, int] = {}

    async def _calls(self) -> dict[str, int]:
        stats = await self.client.info("commandstats")
        return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}

    async def start(self) -> None:
        self.last = await self._calls()

    async def per_job(self, jobs: int) -> dict[str, Any]:
        """Since the last snapshot, per job; this snapshot becomes the next start."""
        after = await self._calls()
        delta = {name: calls - self.last.get(name, 0) for name, calls in after.items()}
        delta["info"] = delta.get("info", 0) - 1
        self.last = after
        top = sorted(((n, c) for n, c in delta.items() if c > 0), key=lambda item: -item[1])
        return {
            "per_job": round(sum(c for _, c in top) / max(jobs, 1), 2),
            "by_command": {name: round(calls / max(jobs, 1), 2) for name, calls in top},
        }


# --- the phases ------------------------------------------------------------------------------


def ms_stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": round(statistics.median(ordered) * 1000, 2),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 2),
        "max": round(ordered[-1] * 1000, 2),
    }


async def trickle(
    fleet: Fleet, admin: Redis, lib: Library, jobs: int, rate: float
) -> dict[str, Any]:
    await admin.flushdb()
    consumer = await fleet.start(lib, slots=4)
    commands = Commands(admin)
    consumer.go()
    await asyncio.sleep(0.5)  # the worker's first poll or blocking read
    await commands.start()
    enqueued: dict[str, float] = {}
    async with Producer(lib, fleet.url) as producer:
        began = time.monotonic()
        for index in range(jobs):
            await asyncio.sleep(max(0.0, began + index / rate - time.monotonic()))
            key = f"t{index}-{uuid.uuid4().hex[:8]}"
            enqueued[key] = time.time()
            await producer.enqueue(key)
        sent_s = time.monotonic() - began
        finished = await until(lambda: len(consumer.ends) >= jobs, [consumer], 30)
    commands_per_job = await commands.per_job(len(consumer.ends))
    await fleet.stop()
    latencies = [consumer.starts[key] - t for key, t in enqueued.items() if key in consumer.starts]
    return {
        "jobs": jobs,
        "started": len(latencies),
        "all_done": finished,
        "offered_per_s": round(jobs / sent_s, 1),
        "latency_ms": ms_stats(latencies),
        "commands_per_job": commands_per_job["per_job"],
        "commands_by_name": commands_per_job["by_command"],
    }


async def drain(
    fleet: Fleet, admin: Redis, lib: Library, jobs: int, slots: int, cap: float
) -> dict[str, Any]:
    await admin.flushdb()
    consumer = await fleet.start(lib, slots=slots)
    commands = Commands(admin)
    await commands.start()
    async with Producer(lib, fleet.url) as producer:
        for first in range(0, jobs, ENQUEUE_BATCH):
            batch = range(first, min(jobs, first + ENQUEUE_BATCH))
            await asyncio.gather(*(producer.enqueue(f"d{i}") for i in batch))
    enqueue = await commands.per_job(jobs)
    began = consumer.go()
    finished = await until(lambda: len(consumer.ends) >= jobs, [consumer], cap)
    done = len(consumer.ends)
    consume = await commands.per_job(done)  # per job done: a capped drain leaves some queued
    await fleet.stop()
    last = max(consumer.ends.values(), default=began)
    elapsed = last - began if finished else cap
    return {
        "jobs": jobs,
        "done": done,
        "capped_at_s": None if finished else cap,
        "seconds": round(elapsed, 3),
        "jobs_per_s": round(done / elapsed, 1) if elapsed > 0 else 0.0,
        "commands_per_job": round(enqueue["per_job"] + consume["per_job"], 2),
        "commands_by_name": {"enqueue": enqueue["by_command"], "consume": consume["by_command"]},
    }


async def redelivery(
    fleet: Fleet, admin: Redis, lib: Library, hold: float, trial: int
) -> float | None:
    """Seconds from SIGKILL of the process holding a job to its start in the other one."""
    await admin.flushdb()
    pair = [await fleet.start(lib, slots=1, budget=True) for _ in range(2)]
    for consumer in pair:
        consumer.go()
    await asyncio.sleep(0.5)
    key = f"hold{trial}-{uuid.uuid4().hex[:8]}"
    async with Producer(lib, fleet.url) as producer:
        await producer.enqueue(key, budget=True)
    if not await until(lambda: any(key in c.starts for c in pair), pair, 10):
        await fleet.stop()
        raise RuntimeError(f"{lib.name}: the held job never started")
    holder = next(c for c in pair if key in c.starts)
    other = pair[1 - pair.index(holder)]
    await asyncio.sleep(max(0.0, holder.starts[key] + hold - time.time()))
    holder.kill()
    killed = time.time()
    limit = 40.0
    again = await until(lambda: key in other.starts, [other], limit)
    await fleet.stop()
    return round(other.starts[key] - killed, 3) if again else None


def summarize_redelivery(trials: list[float | None]) -> dict[str, Any]:
    seen = [t for t in trials if t is not None]
    return {
        "trials_s": trials,
        "median_s": round(statistics.median(seen), 3) if seen else None,
        "max_s": max(seen) if seen else None,
        "within_2s": bool(seen) and max(seen) <= BUDGET_S and len(seen) == len(trials),
    }


async def measure(url: str, logs: Path, args: argparse.Namespace) -> dict[str, Any]:
    libs = [
        Library("streams", "streams"),
        Library("arq", "arq", 0.5),
        Library(f"arq_poll_{args.arq_fast_poll:g}s", "arq", args.arq_fast_poll),
        Library("saq", "saq"),
    ]
    fleet = Fleet(url, logs)
    admin = Redis.from_url(url, decode_responses=True)
    out: dict[str, dict[str, Any]] = {lib.name: {} for lib in libs}
    try:
        # Phase by phase, the libraries one after the other, so drifting load hits all of them.
        for lib in libs:
            print(f"trickle {lib.name}", flush=True)
            out[lib.name]["trickle"] = await trickle(fleet, admin, lib, args.trickle, args.rate)
        for slots in (4, 1):
            for lib in libs:
                print(f"drain {lib.name} x{slots}", flush=True)
                out[lib.name][f"drain_{slots}"] = await drain(
                    fleet, admin, lib, args.drain, slots, args.drain_cap
                )
        killed = [lib for lib in libs if lib.poll_s == 0.5]  # one arq: its poll is not the bound
        trials: dict[str, list[float | None]] = {lib.name: [] for lib in killed}
        for trial in range(args.kill_trials):
            for lib in killed:
                print(f"re-delivery {lib.name} #{trial + 1}", flush=True)
                trials[lib.name].append(await redelivery(fleet, admin, lib, args.hold, trial))
        for name, seen in trials.items():
            out[name]["redelivery"] = summarize_redelivery(seen)
        server = await admin.info("server")
    finally:
        await fleet.stop()
        await admin.aclose()
    for lib in libs:
        phases = [out[lib.name][p]["commands_per_job"] for p in ("trickle", "drain_4", "drain_1")]
        out[lib.name]["commands_per_job_peak"] = max(phases)
    return {"libraries": out, "redis_server": server.get("redis_version", "?")}


# --- report ----------------------------------------------------------------------------------


def ratio(value: float | None, base: float | None) -> float | None:
    return float(f"{value / base:.3g}") if value is not None and base else None


def headline(lib: dict[str, Any]) -> dict[str, float | None]:
    """The figures compared across libraries (lower is better but for jobs/s)."""
    return {
        "latency_p50_ms": lib["trickle"]["latency_ms"]["p50"],
        "latency_p95_ms": lib["trickle"]["latency_ms"]["p95"],
        "drain_4_jobs_per_s": lib["drain_4"]["jobs_per_s"],
        "drain_1_jobs_per_s": lib["drain_1"]["jobs_per_s"],
        "redelivery_median_s": lib.get("redelivery", {}).get("median_s"),
        "commands_per_job_peak": lib["commands_per_job_peak"],
    }


def drain_cell(drain: dict[str, Any]) -> str:
    if drain["capped_at_s"] is None:
        return f"{drain['jobs_per_s']}"
    return f"{drain['jobs_per_s']} ({drain['done']} in {drain['capped_at_s']:g} s)"


def report(results: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    libs = results["libraries"]
    base = headline(libs["streams"])
    ratios = {
        name: {key: ratio(value, base[key]) for key, value in headline(lib).items()}
        for name, lib in libs.items()
    }
    headers = ["queue", "latency p50 ms", "p95", "max", "drain x4 jobs/s", "drain x1 jobs/s"]
    headers += ["re-delivery s", "commands/job"]
    rows = []
    for name, lib in libs.items():
        latency = lib["trickle"]["latency_ms"]
        redelivered = lib.get("redelivery", {}).get("median_s", "-")
        drains = [drain_cell(lib["drain_4"]), drain_cell(lib["drain_1"])]
        peak = lib["commands_per_job_peak"]
        rows.append(
            [name, latency["p50"], latency["p95"], latency["max"], *drains, redelivered, peak]
        )
    print_table(headers, rows)
    return {
        "settings": {
            "trickle_jobs": args.trickle,
            "trickle_rate_per_s": args.rate,
            "drain_jobs": args.drain,
            "drain_cap_s": args.drain_cap,
            "kill_trials": args.kill_trials,
            "hold_before_kill_s": args.hold,
            "consumers": "job slots of one worker process (arq max_jobs, saq concurrency, "
            "hanlin's worker loop over one RunQueue consumer); re-delivery: two processes of "
            "one slot each",
            "redis_server": results["redis_server"],
            "appendfsync": "everysec",
        },
        "versions": {name: version(name) for name in ("redis", "arq", "saq")},
        "models": MODELS,
        "results": libs,
        "ratio_to_streams": ratios,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trickle", type=int, default=500)
    parser.add_argument("--rate", type=float, default=100.0, help="Jobs per second.")
    parser.add_argument("--drain", type=int, default=5000)
    parser.add_argument("--drain-cap", type=float, default=15.0, help="Seconds per drain, at most.")
    parser.add_argument("--kill-trials", type=int, default=2)
    parser.add_argument("--hold", type=float, default=1.0, help="Seconds held before SIGKILL.")
    parser.add_argument(
        "--arq-fast-poll", type=float, default=0.05, help="arq's second poll delay."
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hanlin-queue-bench-") as folder:
        server = RedisServerConfig(port=free_port(), data_dir=Path(folder) / "redis")
        logs = Path(folder) / "logs"
        logs.mkdir()
        ensure_redis_server(server)
        try:
            results = asyncio.run(measure(server.url, logs, args))
        except BaseException:
            for log in sorted(logs.iterdir()):
                print(f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}")
            raise
        finally:
            stop_redis_server(server)
    path = write_results("queue_choice", report(results, args))
    print(f"\nwrote {path}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    main()
