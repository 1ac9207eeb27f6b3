"""hanlin's agent service (``hanlin api`` + ``hanlin worker``) against an in-process Runner.

The workload (``service_app.py``): a ReAct ``Agent`` with one tool on a loopback
OpenAI-compatible model server, in its own process, that answers each call after a fixed
delay; every run makes three model calls and one tool call. The service runs it through a
real ``hanlin api`` process, real ``hanlin worker`` processes and a real Redis; clients use
the LangGraph SDK. Measured:

1. throughput (runs/s) with 1, 2 and 4 workers, all runs submitted at once with
   ``runs.create`` (``--waves`` x workers x per-worker concurrency runs, so every setting
   gets the same number of rounds), until the last one ended; the scaling ratio is runs/s
   at 4 over 4x runs/s at 1;
2. latency added over the peer, an in-process ``Runner`` with hanlin's Redis checkpointer and
   tool journal on the same Redis, running the same agent against the same model server, one
   run at a time, alternating sides: time to the first hanlin event and to the end of the
   run (for the service, from the request that enqueues the run), p50 and p95;
3. ``--sse-clients`` SDK clients streaming their own run at once from one API process, with
   4 workers that have a slot for every run: errors, runs without an ``end``, and events
   dropped, duplicated or out of order against the run's event stream in Redis; once with
   the API's Redis connection pool as it comes, once with ``max_connections`` raised in the
   API's Redis URL (``--sse-pool``);
4. take-over: a worker holding a run is killed with SIGKILL after the run's tool result
   (right at the step boundary, or while the next model call is in flight); the time until
   another worker publishes the run's next attempt and until the run ends, with a short
   ``--lease-seconds``, and whether the run still ends with its answer.

Run: python benchmarks/service.py [--delay 0.2] [--latency-runs 30] [--waves 10]
[--concurrency 4] [--sse-clients 200] [--takeover-trials 6] [--lease-seconds 2]
[--kill-after 0 0.1]
Starts its own Redis Stack on a free port in a temporary folder and stops everything it
started at the end, on failure too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import httpx
import redis.asyncio as aioredis
from common import percentiles, write_results
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from service_app import ASSISTANT, bench_agent
from service_fleet import Fleet, free_port
from service_report import MARKS, report

from hanlin import Runner, redis_runner
from hanlin.redis_stack.server import RedisServerConfig, ensure_redis_server, stop_redis_server
from hanlin.service.keys import ServiceKeys
from hanlin.service.records import FINAL_STATUSES

Entry = tuple[str, dict[str, str]]  # a Redis stream entry: id, fields
THROUGHPUT_WORKERS = (1, 2, 4)
DEFAULT_LEASE_S = 10.0  # the CLI's default, for every phase but the take-over


def ask(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def sdk_client(url: str, connections: int) -> LangGraphClient:
    """The SDK's client with a pool of ``connections`` and a pool wait long enough for a
    burst of requests (its own client gives up after 5 s)."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    transport = httpx.AsyncHTTPTransport(retries=5, limits=limits)
    timeout = httpx.Timeout(connect=30, read=300, write=300, pool=60)
    return LangGraphClient(httpx.AsyncClient(base_url=url, transport=transport, timeout=timeout))


# --- 2. added latency ------------------------------------------------------------------------


async def service_run(client: LangGraphClient) -> dict[str, float]:
    """Seconds from the request to the worker's ``metadata``, the first hanlin event, the
    final answer, the end."""
    started = time.perf_counter()
    marks: dict[str, float] = {}
    async for part in client.runs.stream(
        None, ASSISTANT, input=ask("look it up"), stream_mode="custom"
    ):
        now = time.perf_counter() - started
        if part.event == "metadata":
            marks.setdefault("pickup", now)
        elif part.event == "custom":
            marks.setdefault("first", now)
            if part.data.get("kind") == "final":
                marks["final"] = now
        elif part.event == "error":
            raise RuntimeError(f"service run failed: {part.data}")
    marks["whole"] = time.perf_counter() - started
    if "final" not in marks:
        raise RuntimeError("service run ended without a final answer")
    return marks


async def peer_run(runner: Runner) -> dict[str, float]:
    started = time.perf_counter()
    marks: dict[str, float] = {}
    async for event in runner.stream(uuid.uuid4().hex, "look it up"):
        marks.setdefault("first", time.perf_counter() - started)
        if event.kind == "final":
            marks["final"] = time.perf_counter() - started
    marks["whole"] = time.perf_counter() - started
    if "final" not in marks:
        raise RuntimeError("peer run ended without a final answer")
    return marks


class CpuMeter:
    """CPU time of every process in the benchmark (this one as ``client``) over one action,
    summed by role."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.by_role: dict[str, float] = {}

    def __enter__(self) -> CpuMeter:
        self.before, self.own = self.fleet.cpu_seconds(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        after, own = self.fleet.cpu_seconds(), time.process_time()
        self.by_role["client"] = self.by_role.get("client", 0.0) + own - self.own
        for pid, (role, used) in after.items():
            if pid in self.before:
                self.by_role[role] = self.by_role.get(role, 0.0) + used - self.before[pid][1]

    def per_run_ms(self, runs: int) -> dict[str, float]:
        return {role: used / runs * 1000 for role, used in sorted(self.by_role.items())}


async def measure_latency(fleet: Fleet, peer: Runner, runs: int) -> dict[str, Any]:
    client = get_client(url=fleet.api_url, api_key=None)
    service_cpu, peer_cpu = CpuMeter(fleet), CpuMeter(fleet)
    try:
        for _ in range(3):  # connections, compiled graphs and caches on both sides
            await service_run(client)
            await peer_run(peer)
        service: list[dict[str, float]] = []
        local: list[dict[str, float]] = []
        for _ in range(runs):
            with service_cpu:
                service.append(await service_run(client))
            with peer_cpu:
                local.append(await peer_run(peer))
    finally:
        await client.aclose()
    ms = {
        side: {mark: percentiles([s[mark] * 1000 for s in samples]) for mark in samples[0]}
        for side, samples in (("service", service), ("peer", local))
    }
    added = {
        mark: {q: ms["service"][mark][q] - ms["peer"][mark][q] for q in ("p50", "p95")}
        for mark in MARKS
    }
    cpu = {"service": service_cpu.per_run_ms(runs), "peer": peer_cpu.per_run_ms(runs)}
    return {"runs": runs, "ms": ms, "added_ms": added, "cpu_ms_per_run_by_process": cpu}


# --- 1. throughput ---------------------------------------------------------------------------


async def wave(fleet: Fleet, client: LangGraphClient, count: int) -> tuple[float, int]:
    """Submit ``count`` runs at once, then watch their records in Redis until all have ended:
    seconds from the first request to the last run's end, and runs that did not succeed.

    The client does not hold a ``wait`` or ``join`` request per run: how many of those one
    API process carries at once is phase 3's question, not this one's.
    """
    started = time.time()
    runs = await asyncio.gather(
        *(client.runs.create(None, ASSISTANT, input=ask(f"look it up {i}")) for i in range(count))
    )
    keys = [ServiceKeys(fleet.prefix).run(r["run_id"]) for r in runs]
    async with aioredis.from_url(fleet.redis_url, decode_responses=True) as redis_client:
        while True:
            async with redis_client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hmget(key, "status", "updated_at")
                records = await pipe.execute()
            if all(status in FINAL_STATUSES for status, _ in records):
                break
            await asyncio.sleep(0.05)
    # The end is the workers' own record of the last run's end (same machine, same clock).
    last = max(datetime.fromisoformat(updated).timestamp() for _, updated in records)
    return last - started, sum(1 for status, _ in records if status != "success")


async def measure_throughput(
    fleet: Fleet, waves: int, concurrency: int, counts: tuple[int, ...]
) -> list[dict[str, Any]]:
    rows = []
    for workers in counts:
        missing = workers - len(fleet.live_workers())
        if missing > 0:
            fleet.start_workers(missing, lease_s=DEFAULT_LEASE_S, concurrency=concurrency)
        slots = workers * concurrency
        runs = waves * slots
        client = sdk_client(fleet.api_url, 64)
        try:
            await wave(fleet, client, 2 * slots)  # every worker's first runs: connections
            with CpuMeter(fleet) as meter:
                elapsed, failed = await wave(fleet, client, runs)
        finally:
            await client.aclose()
        cpu = sum(meter.by_role.values())
        rows.append(
            {
                "workers": workers,
                "concurrency_per_worker": concurrency,
                "runs": runs,
                "seconds": elapsed,
                "runs_per_s": runs / elapsed,
                "failed": failed,
                # every process of the benchmark: API, workers, model server, Redis, client
                "cpu_s_per_run": cpu / runs,
                "cpu_ms_per_run_by_process": meter.per_run_ms(runs),
                "cores_busy": cpu / elapsed,
            }
        )
        print(f"  {workers} worker(s): {runs / elapsed:.2f} runs/s ({failed} failed)", flush=True)
    return rows


# --- 3. many SSE clients on one API ----------------------------------------------------------


async def stream_one(client: LangGraphClient) -> dict[str, Any]:
    started = time.perf_counter()
    seen: list[str | None] = []
    run_id = ""
    first = None
    ended = errors = False
    try:
        async for part in client.runs.stream(
            None, ASSISTANT, input=ask("look it up"), stream_mode=["custom", "values"]
        ):
            first = first if first is not None else time.perf_counter() - started
            if part.event == "metadata":
                run_id = run_id or str(part.data.get("run_id", ""))
            if part.event == "end":
                ended = True
            elif part.event == "error":
                errors = True
            else:
                seen.append(part.id)
    except Exception as exc:  # counted, not raised: the other streams go on
        return {"exception": f"{type(exc).__name__}: {exc}", "run_id": run_id}
    return {
        "run_id": run_id,
        "ids": seen,
        "ended": ended,
        "error_event": errors,
        "first_s": first,
        "whole_s": time.perf_counter() - started,
    }


def spread(samples: list[float]) -> dict[str, float | None]:
    """``percentiles``, or nothing to show when no stream got that far."""
    return dict(percentiles(samples)) if samples else {"p50": None, "p95": None, "mean": None}


def _entry_key(entry_id: str) -> tuple[int, int]:
    millis, seq = entry_id.split("-")
    return int(millis), int(seq)


async def audit(redis_url: str, prefix: str, result: dict[str, Any]) -> dict[str, int]:
    """Events the client got against the run's stream in Redis (the end entry aside)."""
    keys = ServiceKeys(prefix)
    async with aioredis.from_url(redis_url, decode_responses=True) as client:
        stored = cast(list[Entry], await client.xrange(keys.run_events(result["run_id"])))
    expected = [entry_id for entry_id, fields in stored if fields["event"] not in ("end", "error")]
    got = [i for i in result["ids"] if i]
    return {
        "dropped": len(set(expected) - set(got)),
        "duplicated": len(got) - len(set(got)),
        "unknown": len(set(got) - set(expected)),
        "out_of_order": int(got != sorted(got, key=_entry_key)),
        "without_id": len(result["ids"]) - len(got),
    }


async def measure_sse(fleet: Fleet, api_url: str, clients: int, pool: str) -> dict[str, Any]:
    """``clients`` SDK clients, each streaming its own run from the API at ``api_url``."""
    sdks = [get_client(url=api_url, api_key=None) for _ in range(clients)]
    try:
        started = time.perf_counter()
        results = await asyncio.gather(*(stream_one(sdk) for sdk in sdks))
        elapsed = time.perf_counter() - started
    finally:
        await asyncio.gather(*(sdk.aclose() for sdk in sdks))
    exceptions = [r["exception"] for r in results if "exception" in r]
    complete = [r for r in results if "exception" not in r]
    totals = {"dropped": 0, "duplicated": 0, "unknown": 0, "out_of_order": 0, "without_id": 0}
    for result in complete:
        if result["run_id"]:
            for name, count in (await audit(fleet.redis_url, fleet.prefix, result)).items():
                totals[name] += count
    return {
        "api_redis_pool": pool,
        "clients": clients,
        "seconds": elapsed,
        "exceptions": len(exceptions),
        "exception_samples": sorted(set(exceptions))[:5],
        "without_end": sum(1 for r in complete if not r["ended"]),
        "error_events": sum(1 for r in complete if r["error_event"]),
        "without_run_id": sum(1 for r in complete if not r["run_id"]),
        "events_received": sum(len(r["ids"]) for r in complete),
        **totals,
        "first_event_ms": spread([r["first_s"] * 1000 for r in complete if r["first_s"]]),
        "whole_run_ms": spread([r["whole_s"] * 1000 for r in complete]),
    }


# --- 4. take-over after kill -9 --------------------------------------------------------------


async def read_until(
    client: aioredis.Redis,
    key: str,
    cursor: str,
    wanted: Callable[[dict[str, str]], bool],
    timeout: float,
) -> Entry:
    """Read the run's event stream after ``cursor`` until an entry satisfies ``wanted``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = cast(
            list[tuple[str, list[Entry]]],
            await client.xread({key: cursor}, count=100, block=200) or [],
        )
        for _key, entries in reply:
            for entry_id, fields in entries:
                cursor = entry_id
                if wanted(fields):
                    return entry_id, fields
    raise TimeoutError(f"nothing wanted on {key} within {timeout}s")


def is_tool_result(fields: dict[str, str]) -> bool:
    return fields["event"] == "custom" and json.loads(fields["data"]).get("kind") == "tool_result"


def is_next_attempt(fields: dict[str, str]) -> bool:
    return fields["event"] == "metadata" and json.loads(fields["data"]).get("attempt", 1) > 1


async def takeover_trial(
    fleet: Fleet, client: LangGraphClient, kill_after: float
) -> dict[str, Any]:
    """Kill the run's worker ``kill_after`` seconds after its tool result was published."""
    keys = ServiceKeys(fleet.prefix)
    run = await client.runs.create(None, ASSISTANT, input=ask("look it up"), stream_mode="custom")
    events = keys.run_events(run["run_id"])
    async with aioredis.from_url(fleet.redis_url, decode_responses=True) as redis_client:
        cursor, _ = await read_until(redis_client, events, "0-0", is_tool_result, 60)
        await asyncio.sleep(kill_after)
        holder = await redis_client.hget(keys.run(run["run_id"]), "worker")
        fleet.kill9(str(holder))
        killed = time.perf_counter()
        cursor, _ = await read_until(redis_client, events, cursor, is_next_attempt, 60)
        taken = time.perf_counter() - killed
        await read_until(redis_client, events, cursor, lambda f: f["event"] == "end", 60)
        ended = time.perf_counter() - killed
    final = await client.runs.get(run["thread_id"], run["run_id"])
    values = cast(dict[str, Any], (await client.threads.get_state(run["thread_id"]))["values"])
    roles = [m.get("role") for m in values["messages"]]
    return {
        "kill_after_tool_result_s": kill_after,
        "killed": holder,
        "takeover_s": taken,
        "kill_to_end_s": ended,
        "status": final["status"],
        "attempt": final.get("attempt"),
        "answered": bool(values.get("final_answer")),
        "messages": roles,
    }


async def measure_takeover(
    fleet: Fleet, trials: int, lease_s: float, kill_after: list[float]
) -> dict[str, Any]:
    fleet.stop_workers()
    fleet.start_workers(2, lease_s=lease_s, concurrency=1)
    client = get_client(url=fleet.api_url, api_key=None)
    rows = []
    try:
        for _ in range(2):  # both workers' first runs
            await client.runs.wait(None, ASSISTANT, input=ask("warm up"))
        for trial in range(trials):
            offset = kill_after[trial % len(kill_after)]
            rows.append(await takeover_trial(fleet, client, offset))
            row = rows[-1]
            print(
                f"  trial {trial + 1} (kill {offset:.2f}s after the tool result): taken over in "
                f"{row['takeover_s']:.2f}s, {row['status']}, answered: {row['answered']}",
                flush=True,
            )
            fleet.start_workers(1, lease_s=lease_s, concurrency=1)  # back to two
    finally:
        await client.aclose()
    taken = [r["takeover_s"] for r in rows]
    answered = {
        str(offset): sum(r["answered"] for r in rows if r["kill_after_tool_result_s"] == offset)
        for offset in kill_after
    }
    return {
        "lease_s": lease_s,
        "renew_every_s": min(0.5, lease_s / 4),
        "trials": rows,
        "takeover_s": {**percentiles(taken), "max": max(taken)},
        "kill_to_end_s": percentiles([r["kill_to_end_s"] for r in rows]),
        "goal_s": lease_s + 2,
        "succeeded": sum(r["status"] == "success" for r in rows),
        "answered_by_kill_offset": answered,
    }


# --- the run ---------------------------------------------------------------------------------


async def measure(fleet: Fleet, args: argparse.Namespace) -> dict[str, Any]:
    print("latency (1 worker, one run at a time, alternating with the peer)", flush=True)
    fleet.start_workers(1, lease_s=DEFAULT_LEASE_S, concurrency=args.concurrency)
    peer = redis_runner(bench_agent(fleet.model_url), fleet.redis_url, prefix=f"{fleet.prefix}p")
    latency = await measure_latency(fleet, peer, args.latency_runs)
    print("throughput", flush=True)
    throughput = await measure_throughput(fleet, args.waves, args.concurrency, THROUGHPUT_WORKERS)
    print(f"{args.sse_clients} SSE clients", flush=True)
    fleet.stop_workers()  # enough slots that every stream carries events at the same time
    slots = -(-args.sse_clients // THROUGHPUT_WORKERS[-1])
    fleet.start_workers(THROUGHPUT_WORKERS[-1], lease_s=DEFAULT_LEASE_S, concurrency=slots)
    sse = [
        await measure_sse(
            fleet, fleet.api_url, args.sse_clients, "as started (--redis-connections default)"
        )
    ]
    if args.sse_pool:  # the same, on a second API whose Redis URL raises the pool's size
        raised = f"max_connections={args.sse_pool}"
        url = fleet.start_api("api-pool", f"{fleet.redis_url}?{raised}")
        sse.append(await measure_sse(fleet, url, args.sse_clients, f"{raised} in the URL"))
    print("take-over after kill -9", flush=True)
    takeover = await measure_takeover(
        fleet, args.takeover_trials, args.lease_seconds, args.kill_after
    )
    return {"latency": latency, "throughput": throughput, "sse": sse, "takeover": takeover}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.2, help="Seconds per model call.")
    parser.add_argument("--latency-runs", type=int, default=30)
    parser.add_argument("--waves", type=int, default=10, help="Runs per worker slot.")
    parser.add_argument("--concurrency", type=int, default=4, help="Runs per worker at once.")
    parser.add_argument("--sse-clients", type=int, default=200)
    parser.add_argument(
        "--sse-pool",
        type=int,
        default=1000,
        help="Repeat the SSE phase on an API whose Redis URL sets this max_connections (0: no).",
    )
    parser.add_argument("--takeover-trials", type=int, default=6)
    parser.add_argument(
        "--kill-after",
        type=float,
        nargs="+",
        default=[0.0, 0.1],
        help="Seconds after the tool result to kill the worker, cycled over the trials "
        "(0: at the step boundary; 0.1: while the next model call is in flight); keep them "
        "below --delay, so the run is still held.",
    )
    parser.add_argument("--lease-seconds", type=float, default=2.0, help="Take-over phase only.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hanlin-service-bench-") as folder:
        server = RedisServerConfig(port=free_port(), data_dir=Path(folder) / "redis")
        logs = Path(folder) / "logs"
        logs.mkdir()
        ensure_redis_server(server)
        fleet = Fleet(server.url, f"bench{uuid.uuid4().hex[:6]}", logs)
        fleet.redis_pid_file = server.resolved_data_dir / "redis.pid"
        try:
            fleet.start_model(args.delay)
            fleet.start_api()
            results = asyncio.run(measure(fleet, args))
        except BaseException:
            for log in sorted(logs.iterdir()):  # the folder goes with the run
                print(f"--- {log.name} (end)\n{fleet.log_of(log.stem)}")
            raise
        finally:
            fleet.stop()
            stop_redis_server(server)
    path = write_results("service", report(results, args))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
