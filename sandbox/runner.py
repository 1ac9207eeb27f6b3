"""One-shot execution: a fresh sandbox and scratch dir per call, both gone when it returns."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from hanlin.sandbox.capabilities import detect_mode
from hanlin.sandbox.config import ExecResult, KilledReason, Limits, SandboxMode
from hanlin.sandbox.interpreter import stdin_program
from hanlin.sandbox.launch import SHELL, SandboxProcess, spawn
from hanlin.sandbox.scratch import Scratch

MAX_SHELL_COMMAND = 100_000  # bytes; the command travels as one argv string
_SIGXCPU = 24
_MEMORY_MARKERS = ("MemoryError", "std::bad_alloc", "Cannot allocate memory", "out of memory")
_GRACE_S = 5.0  # after a kill, how long pipes may take to close


class CappedOutput:
    """Reads a stream, keeping at most `cap` bytes; calls `on_overflow` once if it had more."""

    def __init__(self, cap: int, on_overflow: Callable[[], None]) -> None:
        self.cap = cap
        self.chunks: list[bytes] = []
        self.size = 0
        self.truncated = False
        self._on_overflow = on_overflow

    async def drain(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(65536):
            if self.truncated:
                continue  # keep reading so the writer is not blocked before it dies
            room = self.cap - self.size
            if len(chunk) > room:
                self.chunks.append(chunk[:room])
                self.size = self.cap
                self.truncated = True
                self._on_overflow()
            else:
                self.chunks.append(chunk)
                self.size += len(chunk)

    def text(self) -> str:
        return b"".join(self.chunks).decode("utf-8", errors="replace")


def exit_status(returncode: int) -> int:
    """Shell convention: death by signal N reads as 128+N in every mode."""
    return 128 - returncode if returncode < 0 else returncode


def classify(exit_code: int | None, stderr: str) -> KilledReason | None:
    """Why a program that stopped on its own ended abnormally, if it did."""
    if exit_code is None or exit_code == 0:
        return None
    tail = stderr[-2000:]
    if any(marker in tail for marker in _MEMORY_MARKERS):
        return "memory"
    if exit_code == 128 + _SIGXCPU:
        return "cpu"
    if 128 < exit_code <= 128 + 64:
        return "signal"
    return None


async def _feed(process: asyncio.subprocess.Process, data: bytes) -> None:
    assert process.stdin is not None
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        if data:
            process.stdin.write(data)
            await process.stdin.drain()
        process.stdin.close()


async def run_program(
    program: list[str],
    *,
    stdin: bytes = b"",
    limits: Limits | None = None,
    files: dict[str, bytes] | None = None,
    mode: SandboxMode | None = None,
) -> ExecResult:
    """Run `program` (paths as seen inside) to completion, a limit, or the timeout."""
    limits = limits or Limits()
    mode = mode or detect_mode()
    scratch = Scratch(limits=limits)
    started = time.perf_counter()
    sandbox: SandboxProcess | None = None
    try:
        scratch.write_files(files or {})
        sandbox = await spawn(program, mode=mode, scratch=scratch, limits=limits)
        proc = sandbox.process
        assert proc.stdout is not None and proc.stderr is not None
        out = CappedOutput(limits.output_bytes, sandbox.kill)
        err = CappedOutput(limits.output_bytes, sandbox.kill)
        waiter = asyncio.ensure_future(sandbox.exited())
        streams = [
            asyncio.ensure_future(out.drain(proc.stdout)),
            asyncio.ensure_future(err.drain(proc.stderr)),
            asyncio.ensure_future(_feed(proc, stdin)),
        ]
        done, _ = await asyncio.wait([waiter], timeout=limits.timeout_s)
        timed_out = waiter not in done
        # Timeout: stop everything. Normal end: stop what the program left running in the
        # background, which may hold the output pipes open (bwrap's namespace does this alone).
        sandbox.kill()
        reaped = asyncio.ensure_future(proc.wait())
        _, still = await asyncio.wait([waiter, reaped, *streams], timeout=_GRACE_S)
        for task in still:
            task.cancel()
        await sandbox.close()
        exit_code = exit_status(proc.returncode) if proc.returncode is not None else None
        reason: KilledReason | None
        if timed_out:
            reason = "timeout"
        elif sandbox.over_quota:
            reason = "disk"
        elif out.truncated or err.truncated:
            reason = "output_limit"
        else:
            reason = classify(exit_code, err.text())
        return ExecResult(
            stdout=out.text(),
            stderr=err.text(),
            stdout_truncated=out.truncated,
            stderr_truncated=err.truncated,
            exit_code=exit_code,
            killed_reason=reason,
            duration_s=time.perf_counter() - started,
            files=scratch.list_files(),
            mode=mode,
        )
    finally:
        if sandbox is not None:
            sandbox.kill()
            if sandbox.watch is not None:
                await sandbox.watch.stop()
        scratch.remove()


async def run_python(
    code: str,
    *,
    limits: Limits | None = None,
    files: dict[str, bytes] | None = None,
    mode: SandboxMode | None = None,
) -> ExecResult:
    """Run Python source in a fresh sandbox; the source arrives on stdin, so stdin reads EOF."""
    if not isinstance(code, str):
        raise TypeError(f"code must be str, not {type(code).__name__}")
    mode = mode or detect_mode()
    return await run_program(
        stdin_program(mode), stdin=code.encode(), limits=limits, files=files, mode=mode
    )


async def run_shell(
    command: str,
    *,
    limits: Limits | None = None,
    files: dict[str, bytes] | None = None,
    mode: SandboxMode | None = None,
) -> ExecResult:
    """Run a bash command line in a fresh sandbox (stdin is empty)."""
    if not isinstance(command, str):
        raise TypeError(f"command must be str, not {type(command).__name__}")
    if len(command.encode()) > MAX_SHELL_COMMAND or "\x00" in command:
        raise ValueError(f"command must be under {MAX_SHELL_COMMAND} bytes and contain no NUL")
    return await run_program(
        [SHELL, "-c", command], limits=limits, files=files, mode=mode or detect_mode()
    )
