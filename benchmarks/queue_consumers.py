"""The consumer processes of ``queue_choice.py``: one library's worker loop, reporting each
job's start and end on stdout, started by the benchmark as
``python queue_consumers.py LIB URL SLOTS BUDGET POLL_S``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

from arq.connections import RedisSettings, create_pool
from arq.worker import Worker as ArqWorker
from arq.worker import func
from redis.asyncio import Redis
from saq import Queue as SaqQueue
from saq import Worker as SaqWorker

from hanlin.service.keys import ServiceKeys
from hanlin.service.queue import QueueEntry, RunQueue, ensure_group

QUEUE = "qbench"  # arq's sorted set, saq's queue name
PREFIX = "qbench"  # hanlin's ServiceKeys prefix
HEARTBEAT_S = 0.5  # how often a held job refreshes its claim (hanlin's worker: min(0.5, lease/4))
BUDGET_S = 2  # the re-delivery budget every library is tuned to


def emit(kind: str, key: str) -> None:
    """One line per job event for the parent: kind, job key, wall-clock time."""
    sys.stdout.write(f"{kind} {key} {time.time():.6f}\n")
    sys.stdout.flush()


async def ready_then_go() -> None:
    emit("R", "-")
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


async def consume_streams(url: str, slots: int, budget: bool) -> None:
    """hanlin's worker loop over ``RunQueue``, the job being claim-then-acknowledge."""
    lease_s = BUDGET_S if budget else 10.0  # the worker's --lease-seconds (default 10)
    block_ms = max(50, min(1000, int(lease_s * 250)))  # as hanlin's worker computes it
    client = Redis.from_url(url, decode_responses=True)
    keys = ServiceKeys(PREFIX)
    await ensure_group(client, keys)
    queue = RunQueue(client, keys, f"c{os.getpid()}", idle_ms=int(lease_s * 1000))
    await ready_then_go()
    free = asyncio.Semaphore(slots)
    running: set[asyncio.Task[None]] = set()

    async def job(entry: QueueEntry) -> None:
        try:
            emit("S", entry.run_id)
            while entry.run_id.startswith("hold"):
                await asyncio.sleep(HEARTBEAT_S)
                await queue.touch(entry.entry_id)
            await queue.done(entry.entry_id)
            emit("D", entry.run_id)
        finally:
            free.release()

    while True:
        await free.acquire()
        entry = await queue.next(block_ms=block_ms)
        if entry is None:
            free.release()
            continue
        task = asyncio.create_task(job(entry))
        running.add(task)
        task.add_done_callback(running.discard)


async def consume_arq(url: str, slots: int, budget: bool, poll_s: float) -> None:
    async def noop(ctx: dict[str, Any], key: str) -> None:
        emit("S", key)
        if key.startswith("hold"):  # arq has no heartbeat: the job just runs
            await asyncio.sleep(3600)

    async def ended(ctx: dict[str, Any]) -> None:  # after arq recorded the result
        emit("D", ctx["job_id"])

    pool = await create_pool(RedisSettings.from_dsn(url), default_queue_name=QUEUE)
    worker = ArqWorker(
        [func(noop, name="noop")],
        redis_pool=pool,
        queue_name=QUEUE,
        max_jobs=slots,
        poll_delay=poll_s,
        job_timeout=BUDGET_S if budget else 300,  # 300: arq's default
        handle_signals=False,
        after_job_end=ended,
        log_results=False,
    )
    await ready_then_go()
    await worker.async_run()


async def consume_saq(url: str, slots: int, budget: bool) -> None:
    async def noop(ctx: dict[str, Any]) -> None:
        job = ctx["job"]
        emit("S", job.key)
        while job.key.startswith("hold"):
            await asyncio.sleep(HEARTBEAT_S)
            await job.update()  # saq's heartbeat: refreshes the job's ``touched``

    async def ended(ctx: dict[str, Any]) -> None:  # after saq recorded the outcome
        emit("D", ctx["job"].key)

    queue = SaqQueue.from_url(url, name=QUEUE)
    await queue.connect()
    timers = {"sweep": 1} if budget else None  # saq's default sweep: every 60 s
    worker = SaqWorker(
        queue, [("noop", noop)], concurrency=slots, timers=timers, after_process=ended
    )
    await ready_then_go()
    await worker.start()


def consumer_main(lib: str, url: str, slots: int, budget: bool, poll_s: float) -> None:
    if lib == "streams":
        asyncio.run(consume_streams(url, slots, budget))
    elif lib.startswith("arq"):
        asyncio.run(consume_arq(url, slots, budget, poll_s))
    else:
        asyncio.run(consume_saq(url, slots, budget))


if __name__ == "__main__":
    lib, url, slots, budget, poll = sys.argv[1:6]
    consumer_main(lib, url, int(slots), budget == "1", float(poll))
