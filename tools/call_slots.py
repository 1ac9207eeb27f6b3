"""Per-tool call slots: a tool that never returns can only use up its own.

Python cannot stop a thread, and a task that swallows its cancellation keeps running, so a
call stopped at its time limit may go on in the background after the registry has answered.
Each tool therefore owns ``limit`` slots:

- Sync code runs in a daemon thread started for the call, which holds a slot until the code
  returns. At most ``limit`` such threads exist per tool; further calls wait for a slot.
- Async code runs in a task and holds no thread, so live calls are not limited; a call that
  was stopped but keeps running holds a slot until it ends.

When every slot is held by a stopped call that is still running, a new call fails at once
with ``ToolBusy`` rather than queueing behind work that may never end. Other tools are not
affected, and the process holds at most ``limit`` threads per tool.

Why not a thread pool (the loop's default executor, or one ``ThreadPoolExecutor`` per tool):
its queue is unbounded and cannot tell live work from abandoned work, its threads are joined
at interpreter exit and by ``asyncio.run``, so one hung call keeps the process from exiting,
and its idle threads live as long as the process. A thread per call costs tens of
microseconds and ends with the call. Subprocesses could be killed, but need picklable tools,
arguments and results (closures and clients are not) and cost a process per call; code that
must be stoppable belongs in the sandbox, whose tools are async and kill their process.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from hanlin.tools.failure import ToolBusy

T = TypeVar("T")


class _Hold:
    """One slot in use; ``stopped`` once its caller gave up, ``ended`` once its code returned."""

    __slots__ = ("ended", "stopped", "thread")

    def __init__(self, thread: bool) -> None:
        self.thread = thread
        self.stopped = False
        self.ended = False


class EscapedError(Exception):
    """Carries what a tool raised that is not an ``Exception`` (``SystemExit``,
    ``KeyboardInterrupt``, a cancellation nobody asked for) out of its task: a task re-raises
    ``SystemExit`` and ``KeyboardInterrupt`` into the event loop, which stops it."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(repr(error))
        self.error = error


class CallSlots:
    """The slots of one tool (see the module notes). Safe to share across threads and loops."""

    def __init__(self, name: str, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"tool {name!r}: max_threads must be at least 1, got {limit}")
        self.name = name
        self.limit = limit
        self._lock = threading.Lock()
        self._threads = 0  # threads running this tool's code, stopped or not
        self._stopped_threads = 0
        self._stopped_tasks = 0
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    @property
    def threads(self) -> int:
        """Threads running this tool's code now, including those of stopped calls."""
        return self._threads

    @property
    def stopped(self) -> int:
        """Calls that were stopped (timed out or cancelled) and whose code still runs."""
        return self._stopped_threads + self._stopped_tasks

    def _busy(self) -> ToolBusy:
        return ToolBusy(
            f"{self.stopped} earlier calls of {self.name} were stopped but are "
            "still running, so it takes no new calls until one of them ends. "
            "Try again later or use another approach."
        )

    # ------------------------------------------------------------------ sync code

    async def run_thread(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in a new daemon thread once a slot is free; its slot outlives a stop."""
        await self._acquire_thread()
        hold = _Hold(thread=True)
        loop = asyncio.get_running_loop()
        outcome: asyncio.Future[T] = loop.create_future()
        context = contextvars.copy_context()

        def work() -> None:
            try:
                value = context.run(fn)
            except BaseException as exc:  # noqa: BLE001 - delivered to the caller, which decides
                self._release(hold)
                _deliver(loop, outcome, None, exc)
            else:
                self._release(hold)
                _deliver(loop, outcome, value, None)

        thread = threading.Thread(target=work, name=f"tool:{self.name}", daemon=True)
        try:
            thread.start()
        except BaseException:
            self._release(hold)
            raise
        try:
            return await outcome
        except asyncio.CancelledError:
            self._stop(hold)
            raise

    async def _acquire_thread(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            with self._lock:
                if self._threads < self.limit:
                    self._threads += 1
                    return
                if self._stopped_threads >= self._threads:
                    raise self._busy()
                waiter: asyncio.Future[None] = loop.create_future()
                self._waiters.append((loop, waiter))
            try:
                await waiter
            finally:
                with self._lock:
                    if (loop, waiter) in self._waiters:
                        self._waiters.remove((loop, waiter))

    # ------------------------------------------------------------------ async code

    async def run_task(self, start: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Await ``start()`` in its own task; if stopped and it keeps running, it holds a slot."""
        with self._lock:
            if self._stopped_tasks + self._stopped_threads >= self.limit:
                raise self._busy()
        task = asyncio.ensure_future(contain(start()))
        try:
            return await asyncio.shield(task)
        except EscapedError as escaped:
            raise escaped.error from None
        except asyncio.CancelledError:
            if not task.done():
                task.cancel()
                hold = _Hold(thread=False)
                with self._lock:
                    hold.stopped = True
                    self._stopped_tasks += 1

                def settle(done: asyncio.Future[Any], hold: _Hold = hold) -> None:
                    _discard(done)
                    self._release(hold)

                task.add_done_callback(settle)
            raise

    # ------------------------------------------------------------------ bookkeeping

    def _stop(self, hold: _Hold) -> None:
        with self._lock:
            if hold.ended or hold.stopped:
                return
            hold.stopped = True
            self._stopped_threads += 1
        self._wake()  # waiters re-check: the tool may now be busy

    def _release(self, hold: _Hold) -> None:
        with self._lock:
            hold.ended = True
            if hold.thread:
                self._threads -= 1
                self._stopped_threads -= hold.stopped
            else:
                self._stopped_tasks -= hold.stopped
        self._wake()

    def _wake(self) -> None:
        with self._lock:
            waiters, self._waiters = self._waiters, []
        for loop, waiter in waiters:
            try:
                loop.call_soon_threadsafe(_set_none, waiter)
            except RuntimeError:  # that loop is closed; nobody waits there any more
                pass


async def contain(coro: Awaitable[T]) -> T:
    """Await ``coro`` in the current task; a ``BaseException`` other than a cancellation of this
    task leaves as ``EscapedError``, so the task never re-raises it into the event loop."""
    try:
        return await coro
    except asyncio.CancelledError as exc:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        raise EscapedError(exc) from None
    except Exception:
        raise
    except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt and the like
        raise EscapedError(exc) from None


def _deliver(
    loop: asyncio.AbstractEventLoop,
    outcome: asyncio.Future[Any],
    value: Any,
    error: BaseException | None,
) -> None:
    def settle() -> None:
        if outcome.done():  # the caller stopped waiting
            return
        if error is None:
            outcome.set_result(value)
        else:
            outcome.set_exception(error)

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the loop is closed: nobody is waiting
        pass


def _set_none(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _discard(task: asyncio.Future[Any]) -> None:
    """Read a stopped task's outcome so asyncio does not warn that nobody did."""
    if not task.cancelled():
        task.exception()


__all__ = ["CallSlots", "EscapedError", "contain"]
