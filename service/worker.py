"""``hanlin worker``: takes runs off the queue and executes them under a lease.

Each run gets a task; beside it, a watcher renews the lease (and refreshes the queue entry)
every ``poll_s`` and reads the cancel flag. The watcher stops the task when the run is
cancelled, or when the lease turns out to be lost, in which case the worker abandons the run
without another write: the worker that took it over owns it now.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import uuid
from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis
from redis.exceptions import RedisError

from hanlin.runtime import Runner
from hanlin.service.app_registry import AppRunners, RunContext, ServiceApp
from hanlin.service.execution import RunOutcome, execute_run, thread_status_after_cancel
from hanlin.service.keys import ServiceKeys
from hanlin.service.lease import Lease, LeaseLost, LeaseScripts, LeaseSettings, current_lease
from hanlin.service.queue import QueueEntry, RunQueue, ensure_group
from hanlin.service.records import RunRecord

log = logging.getLogger("hanlin.service.worker")
StopReason = Literal["done", "cancel", "lost"]


@dataclass(frozen=True)
class WorkerSettings:
    redis_url: str
    prefix: str = "hanlin"
    lease_s: float = 10.0
    max_attempts: int = 3
    concurrency: int = 4
    events_ttl_s: int = 86400
    worker_id: str = ""

    @property
    def poll_s(self) -> float:
        """How often a running run's lease is renewed and its cancel flag read."""
        return min(0.5, self.lease_s / 4)


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Worker:
    def __init__(self, app: ServiceApp, settings: WorkerSettings) -> None:
        self.app = app
        self.settings = settings
        self.worker_id = settings.worker_id or new_worker_id()
        self.keys = ServiceKeys(settings.prefix)
        self.client = Redis.from_url(settings.redis_url, decode_responses=True)
        lease_ms = int(settings.lease_s * 1000)
        self.scripts = LeaseScripts(
            self.client,
            self.keys,
            LeaseSettings(lease_ms, settings.max_attempts, settings.events_ttl_s),
        )
        self.queue = RunQueue(self.client, self.keys, self.worker_id, idle_ms=lease_ms)
        self.runners = AppRunners(app, settings.redis_url, prefix=settings.prefix)

    async def serve(self) -> None:
        """Claim and execute runs until cancelled; then hand back the unfinished ones."""
        await ensure_group(self.client, self.keys)
        slots = asyncio.Semaphore(self.settings.concurrency)
        running: set[asyncio.Task[None]] = set()
        block_ms = max(50, min(1000, int(self.settings.lease_s * 250)))
        log.info("worker %s ready (lease %.1fs)", self.worker_id, self.settings.lease_s)
        try:
            while True:
                await slots.acquire()
                try:
                    entry = await self.queue.next(block_ms=block_ms)
                except RedisError as exc:
                    log.warning("worker %s: queue read failed: %s", self.worker_id, exc)
                    entry = None
                    await asyncio.sleep(block_ms / 1000)
                if entry is None:
                    slots.release()
                    continue
                task = asyncio.create_task(self._serve_logged(entry))
                running.add(task)
                task.add_done_callback(running.discard)
                task.add_done_callback(lambda _t: slots.release())
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            await self.client.aclose()

    async def _serve_logged(self, entry: QueueEntry) -> None:
        """Serve one entry; a failure (Redis gone, say) leaves it pending for a later claim."""
        try:
            await self._serve_entry(entry)
        except RedisError as exc:
            log.warning("worker %s: run %s not served: %s", self.worker_id, entry.run_id, exc)
        except Exception:
            log.exception("worker %s: run %s not served", self.worker_id, entry.run_id)

    async def _serve_entry(self, entry: QueueEntry) -> None:
        outcome, lease, detail = await self.scripts.claim(entry.run_id, self.worker_id)
        if outcome == "held":  # its worker is alive and will refresh the entry
            return
        if lease is None:
            if outcome == "failed":
                log.warning("run %s failed: %s", entry.run_id, detail)
            await self.queue.done(entry.entry_id)
            return
        await self.queue.touch(entry.entry_id)
        log.info(
            "worker %s claimed run %s (attempt %d, fence %d)",
            self.worker_id,
            entry.run_id,
            lease.attempt,
            lease.fence,
        )
        try:
            finished = await self._execute(entry, lease)
        except asyncio.CancelledError:  # shutdown: the run goes back to the queue unspent
            with contextlib.suppress(RedisError):
                await lease.release()
            raise
        if finished:
            await self.queue.done(entry.entry_id)

    async def _execute(self, entry: QueueEntry, lease: Lease) -> bool:
        """Run it; True when the outcome was recorded (False: the lease was lost)."""
        raw = await self.client.hgetall(self.keys.run(entry.run_id))
        try:
            run = RunRecord.from_hash(raw)
        except ValueError as exc:  # retrying cannot fix it: fail it now, serve the others
            await lease.finish(
                "error", error_kind="InvalidRun", error=f"the run record cannot be read: {exc}"
            )
            return True
        assistant = self.app.find(run.assistant_id)
        if assistant is None:
            await lease.finish(
                "error",
                error_kind="UnknownAssistant",
                error=f"this worker's app has no assistant {run.assistant_id!r}",
                thread_status="error",
            )
            return True
        try:
            runner = self.runners.for_run(
                assistant, run.request.config, RunContext(run.thread_id, run.owner)
            )
        except Exception as exc:  # a configuration the factory refuses: retrying cannot help
            log.warning("run %s: its assistant could not be built: %s", run.run_id, exc)
            await lease.finish(
                "error",
                error_kind="InvalidConfig",
                error=f"{type(exc).__name__}: {exc}",
                thread_status="error",
            )
            return True
        token = current_lease.set(lease)
        try:
            task = asyncio.create_task(execute_run(runner, run, lease))
        finally:
            current_lease.reset(token)
        try:
            reason = await self._watch(entry, lease, task)
        except asyncio.CancelledError:
            task.cancel()
            await asyncio.wait({task})
            raise
        try:
            return await self._record(reason, task, lease, runner, run)
        except LeaseLost:
            log.warning(
                "worker %s lost the lease of run %s; abandoned it", self.worker_id, run.run_id
            )
            return False

    async def _watch(
        self, entry: QueueEntry, lease: Lease, task: asyncio.Task[RunOutcome]
    ) -> StopReason:
        while True:
            done, _ = await asyncio.wait({task}, timeout=self.settings.poll_s)
            if done:
                return "done"
            try:
                cancel = await lease.renew()
                await self.queue.touch(entry.entry_id)
            except LeaseLost:
                reason: StopReason = "lost"
            except RedisError as exc:  # keep going: if Redis stays away, the lease lapses
                log.warning("worker %s: lease renewal failed: %s", self.worker_id, exc)
                continue
            else:
                if not cancel:
                    continue
                reason = "cancel"
            task.cancel()
            await asyncio.wait({task})
            return reason

    async def _record(
        self,
        reason: StopReason,
        task: asyncio.Task[RunOutcome],
        lease: Lease,
        runner: Runner,
        run: RunRecord,
    ) -> bool:
        if reason == "lost" or lease.lost:
            raise LeaseLost(run.run_id)
        if reason == "cancel":
            status = await thread_status_after_cancel(runner, run.thread_id)
            await lease.finish("interrupted", thread_status=status)
            log.info("run %s cancelled", run.run_id)
            return True
        exc = task.exception()
        if isinstance(exc, LeaseLost):
            raise exc
        if exc is not None:
            log.exception("run %s failed in the worker", run.run_id, exc_info=exc)
            await lease.finish(
                "error", error_kind=type(exc).__name__, error=str(exc), thread_status="error"
            )
            return True
        outcome = task.result()
        await lease.finish(
            outcome.status,
            error_kind=outcome.error_kind,
            error=outcome.error,
            thread_status=outcome.thread_status,
        )
        log.info("run %s finished: %s", run.run_id, outcome.status)
        return True


def run_worker(app: ServiceApp, settings: WorkerSettings) -> None:
    """Serve until SIGTERM or SIGINT; runs in progress go back to the queue."""

    async def main() -> None:
        worker = Worker(app, settings)
        task = asyncio.create_task(worker.serve())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())
