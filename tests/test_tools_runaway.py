"""Tools that misbehave: hang, ignore cancellation, exit the process. Others keep working."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import pytest
from tools_support import call

from hanlin.agents.agent import Agent
from hanlin.llm.messages import ToolMessage
from hanlin.llm.scripted import ScriptedModel
from hanlin.llm.scripted import call as scripted_call
from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.runtime.runner import Runner
from hanlin.tools import ToolRegistry, tool


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Lets hung tool threads end when the test is over, so they do not outlive it."""
    event = threading.Event()
    yield event
    event.set()


# ------------------------------------------------------------------ hung sync tools


async def test_hung_sync_tool_cannot_starve_other_tools(release: threading.Event) -> None:
    @tool(timeout=0.3)
    def hang() -> str:
        """Never returns (until the test ends)."""
        release.wait(120)
        return "late"

    @tool
    def instant() -> str:
        """Returns at once."""
        return "ok"

    registry = ToolRegistry([hang, instant], default_timeout=3.0)
    threads_before = threading.active_count()
    # More hung calls than any default thread pool has workers (at most 32).
    for _ in range(5):
        results = await registry.execute_many([call("hang", str(i)) for i in range(8)])
        kinds = {r.error.kind for r in results if r.error is not None}
        assert len(kinds) >= 1 and kinds <= {ToolErrorKind.TIMED_OUT, ToolErrorKind.BUSY}

    started = time.perf_counter()
    fine = await registry.execute(call("instant"))
    assert fine.content == "ok", fine.content
    assert time.perf_counter() - started < 0.5
    hung = [t for t in threading.enumerate() if t.name == "tool:hang"]
    assert len(hung) == hang.max_threads == hang.call_slots.threads
    assert threading.active_count() - threads_before <= hang.max_threads + 1  # + instant's

    started = time.perf_counter()
    busy = await registry.execute(call("hang"))
    assert time.perf_counter() - started < 0.1  # refused at once, not after the time limit
    assert busy.error is not None and busy.error.kind is ToolErrorKind.BUSY
    assert busy.content == (
        f"Error (busy): hang is busy: {hang.max_threads} earlier calls of hang were stopped but "
        "are still running, so it takes no new calls until one of them ends. "
        "Try again later or use another approach."
    )

    release.set()  # the stuck calls return, their slots come back
    deadline = time.monotonic() + 5
    while hang.call_slots.threads and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert (await registry.execute(call("hang"))).content == "late"


async def test_live_calls_of_a_sync_tool_queue_for_its_threads() -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    @tool(max_threads=3)
    def work(seconds: float) -> str:
        """Blocks for a while."""
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(seconds)
        with lock:
            running -= 1
        return "done"

    started = time.perf_counter()
    results = await ToolRegistry([work]).execute_many(
        [call("work", str(i), seconds=0.2) for i in range(7)]
    )
    elapsed = time.perf_counter() - started
    assert [r.content for r in results] == ["done"] * 7  # waiting for a thread is not busy
    assert peak == 3
    assert 0.55 < elapsed < 1.5, elapsed  # three rounds of 0.2 s


def test_process_exits_although_a_tool_thread_never_returns() -> None:
    script = textwrap.dedent("""
        import asyncio, time
        from hanlin.llm.messages import ToolCall
        from hanlin.tools import ToolRegistry, tool

        @tool(timeout=0.2)
        def hang() -> str:
            '''Sleeps for an hour.'''
            time.sleep(3600)
            return "late"

        async def main() -> None:
            result = await ToolRegistry([hang]).execute(ToolCall(id="1", name="hang"))
            print(result.error.kind.value, flush=True)

        asyncio.run(main())
    """)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "timed_out"
    assert time.perf_counter() - started < 30


# ------------------------------------------------------------------ async tools


async def test_async_tool_ignoring_cancellation_holds_only_its_own_slots() -> None:
    stop = asyncio.Event()

    @tool(timeout=0.2, max_threads=2)
    async def stubborn() -> str:
        """Ignores being cancelled until told to stop."""
        while not stop.is_set():
            try:
                await stop.wait()
            except asyncio.CancelledError:
                pass
        return "late"

    @tool
    async def quick() -> str:
        """Answers at once."""
        return "ok"

    registry = ToolRegistry([stubborn, quick])
    first = await registry.execute_many([call("stubborn", "1"), call("stubborn", "2")])
    assert all(r.error is not None and r.error.kind is ToolErrorKind.TIMED_OUT for r in first)
    assert stubborn.call_slots.stopped == 2

    started = time.perf_counter()
    busy = await registry.execute(call("stubborn", "3"))
    assert busy.error is not None and busy.error.kind is ToolErrorKind.BUSY
    assert time.perf_counter() - started < 0.1
    assert (await registry.execute(call("quick"))).content == "ok"

    stop.set()
    for _ in range(100):
        if not stubborn.call_slots.stopped:
            break
        await asyncio.sleep(0.01)
    assert stubborn.call_slots.stopped == 0
    assert (await registry.execute(call("stubborn", "4"))).content == "late"


async def test_tool_raising_cancelled_error_itself_is_a_failure_not_a_cancellation() -> None:
    @tool
    async def gives_up() -> str:
        """Awaits a task that was cancelled elsewhere."""
        inner = asyncio.ensure_future(asyncio.sleep(10))
        inner.cancel()
        return str(await inner)

    @tool
    def gives_up_sync() -> str:
        """Raises CancelledError from a thread."""
        raise asyncio.CancelledError()

    registry = ToolRegistry([gives_up, gives_up_sync])
    for name in ("gives_up", "gives_up_sync"):
        result = await registry.execute(call(name))
        assert result.error is not None and result.error.kind is ToolErrorKind.TOOL_RAISED
        assert result.error.message == f"{name} failed: CancelledError"


async def test_cancelling_execute_still_cancels() -> None:
    @tool
    async def slow() -> str:
        """Sleeps."""
        await asyncio.sleep(10)
        return "late"

    running = asyncio.ensure_future(ToolRegistry([slow]).execute(call("slow")))
    await asyncio.sleep(0.05)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running


# ------------------------------------------------------------------ exits from tools


def _argparse_tool() -> object:
    @tool
    def grep(argv: str) -> str:
        """Search with command-line style arguments.

        Args:
            argv: The arguments, e.g. "--pattern cat".
        """
        parser = argparse.ArgumentParser(prog="grep")
        parser.add_argument("--pattern", required=True)
        return f"searched for {parser.parse_args(argv.split()).pattern}"

    return grep


@tool
def quit_sync(code: int) -> str:
    """Calls sys.exit."""
    sys.exit(code)


@tool
async def quit_async(code: int) -> str:
    """Raises SystemExit from async code."""
    raise SystemExit(code)


@tool
def interrupt_sync() -> str:
    """Raises KeyboardInterrupt in its thread."""
    raise KeyboardInterrupt


@tool
async def interrupt_async() -> str:
    """Raises KeyboardInterrupt in the event loop's thread."""
    raise KeyboardInterrupt("stop")


async def test_system_exit_and_keyboard_interrupt_become_tool_raised() -> None:
    registry = ToolRegistry(
        [quit_sync, quit_async, interrupt_sync, interrupt_async, _argparse_tool()]
    )
    expected = {
        "quit_sync": "quit_sync failed: SystemExit: 3",
        "quit_async": "quit_async failed: SystemExit: 4",
        "interrupt_sync": "interrupt_sync failed: KeyboardInterrupt",
        "interrupt_async": "interrupt_async failed: KeyboardInterrupt: stop",
        "grep": "grep failed: SystemExit: 2",  # argparse exits on a missing argument
    }
    calls = [
        call("quit_sync", "1", code=3),
        call("quit_async", "2", code=4),
        call("interrupt_sync", "3"),
        call("interrupt_async", "4"),
        call("grep", "5", argv="--colour"),
    ]
    results = await registry.execute_many(calls)
    for result in results:
        assert result.error is not None and result.error.kind is ToolErrorKind.TOOL_RAISED
        assert result.error.message == expected[result.name]
    assert (
        await registry.execute(call("grep", argv="--pattern cat"))
    ).content == "searched for cat"


async def test_system_exit_after_a_timeout_does_not_stop_the_loop() -> None:
    @tool(timeout=0.1)
    async def late_exit() -> str:
        """Ignores its cancellation, then exits."""
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(0.1)
        raise SystemExit(1)

    result = await ToolRegistry([late_exit]).execute(call("late_exit"))
    assert result.error is not None and result.error.kind is ToolErrorKind.TIMED_OUT
    await asyncio.sleep(0.3)  # the loop is still running after the tool raised
    assert late_exit.call_slots.stopped == 0


async def test_runner_survives_a_tool_that_exits() -> None:
    grep = _argparse_tool()
    model = ScriptedModel(
        [
            scripted_call("grep", "c1", argv="--colour"),
            scripted_call("quit_async", "c2", code=1),
            "Final Answer: the tool needs --pattern",
        ]
    )
    runner = Runner(Agent(name="searcher", model=model, tools=[grep, quit_async]))
    result = await runner.run("t-exit", "Find cats.")
    assert result.final_answer == "the tool needs --pattern"
    observations = [m for m in model.calls[2] if isinstance(m, ToolMessage)]
    assert [(m.error_kind, m.content) for m in observations] == [
        ("tool_raised", "Error (tool_raised): grep failed: SystemExit: 2"),
        ("tool_raised", "Error (tool_raised): quit_async failed: SystemExit: 1"),
    ]
