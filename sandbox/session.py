"""Notebook-like sessions: one long-lived sandbox whose variables and files persist.

A Python kernel (`repl_server.py`) runs inside one sandbox for the whole session and answers
length-prefixed JSON requests. A cell that overruns its time is stopped the only safe way,
by killing the sandbox; the session then starts a new one, keeps the scratch files, loses
the variables, and says so in the result.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from hanlin.sandbox.capabilities import detect_mode
from hanlin.sandbox.config import (
    ExecResult,
    FileInfo,
    KilledReason,
    Limits,
    SandboxError,
    SandboxMode,
)
from hanlin.sandbox.interpreter import python_command
from hanlin.sandbox.launch import SandboxProcess, spawn
from hanlin.sandbox.runner import CappedOutput, classify, exit_status
from hanlin.sandbox.scratch import Scratch

KERNEL_SOURCE = (Path(__file__).parent / "repl_server.py").read_text()
_HEADER = struct.Struct(">I")
_START_TIMEOUT_S = 30.0


class KernelProtocolError(RuntimeError):
    """The kernel answered with something that is not a valid reply."""


class SandboxSession:
    """A persistent sandboxed Python, used as `async with SandboxSession() as session:`."""

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        mode: SandboxMode | None = None,
        files: dict[str, bytes] | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self._requested_mode = mode
        self._files = files or {}
        self._scratch: Scratch | None = None
        self._kernel: SandboxProcess | None = None
        self._kernel_stderr: CappedOutput | None = None
        self._lock = asyncio.Lock()
        self.mode: SandboxMode | None = mode
        self.restarts = 0

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def scratch(self) -> Scratch:
        if self._scratch is None:
            raise SandboxError("the session is not started")
        return self._scratch

    async def start(self) -> None:
        """Create the scratch dir and start the kernel (idempotent)."""
        if self._scratch is not None:
            return
        self.mode = self._requested_mode or detect_mode()
        self._scratch = Scratch(limits=self.limits)
        try:
            self._scratch.write_files(self._files)
            await self._start_kernel()
        except BaseException:
            await self.close()
            raise

    async def _start_kernel(self) -> None:
        assert self.mode is not None
        program = python_command(self.mode, KERNEL_SOURCE)
        kernel = await spawn(
            program, mode=self.mode, scratch=self.scratch, limits=self.limits, cpu_limit=False
        )
        self._kernel = kernel
        assert kernel.process.stderr is not None
        # Only bwrap or interpreter start-up messages arrive here; cells write to files.
        self._kernel_stderr = CappedOutput(65536, lambda: None)
        asyncio.ensure_future(self._kernel_stderr.drain(kernel.process.stderr))
        try:
            hello = await asyncio.wait_for(self._receive(), _START_TIMEOUT_S)
        except (TimeoutError, EOFError, asyncio.IncompleteReadError, KernelProtocolError) as exc:
            await kernel.close()
            await asyncio.sleep(0)
            detail = self._kernel_stderr.text().strip() or repr(exc)
            raise SandboxError(f"the session kernel did not start: {detail}") from exc
        if not hello.get("ready"):
            await kernel.close()
            raise SandboxError(f"unexpected greeting from the session kernel: {hello!r}")

    async def _send(self, message: dict[str, Any]) -> None:
        assert self._kernel is not None and self._kernel.process.stdin is not None
        payload = json.dumps(message).encode()
        self._kernel.process.stdin.write(_HEADER.pack(len(payload)) + payload)
        await self._kernel.process.stdin.drain()

    async def _receive(self) -> dict[str, Any]:
        assert self._kernel is not None and self._kernel.process.stdout is not None
        stdout = self._kernel.process.stdout
        (length,) = _HEADER.unpack(await stdout.readexactly(_HEADER.size))
        if length > 4 * self.limits.output_bytes + 65536:
            raise KernelProtocolError(f"reply of {length} bytes is larger than any valid reply")
        try:
            reply = json.loads(await stdout.readexactly(length))
        except ValueError as exc:
            raise KernelProtocolError(f"reply is not JSON: {exc}") from exc
        if not isinstance(reply, dict):
            raise KernelProtocolError("reply is not a JSON object")
        return reply

    async def _restart(self) -> None:
        if self._kernel is not None:
            await self._kernel.close()
            self._kernel = None
        self.restarts += 1
        await self._start_kernel()

    def _result(self, started: float, **fields: Any) -> ExecResult:
        assert self.mode is not None
        return ExecResult(
            duration_s=time.perf_counter() - started,
            files=self.scratch.list_files(),
            mode=self.mode,
            **fields,
        )

    async def execute(self, code: str) -> ExecResult:
        """Run one cell in the persistent namespace; a final expression's repr is printed."""
        if not isinstance(code, str):
            raise TypeError(f"code must be str, not {type(code).__name__}")
        async with self._lock:
            if self._kernel is None:
                if self._scratch is None:
                    raise SandboxError("the session is closed or was never started")
                await self._start_kernel()
            started = time.perf_counter()
            request = {
                "op": "exec",
                "code": code,
                "cpu_s": self.limits.cpu_s,
                "cap": self.limits.output_bytes,
            }
            try:
                reply = await asyncio.wait_for(self._call(request), self.limits.timeout_s)
            except TimeoutError:
                await self._restart()
                return self._result(
                    started,
                    killed_reason="timeout",
                    session_restarted=True,
                    stderr=f"cell exceeded {self.limits.timeout_s:g} s; the sandbox was "
                    "restarted and all variables were lost (files are kept)\n",
                )
            except (
                EOFError,
                asyncio.IncompleteReadError,
                ConnectionError,
                KernelProtocolError,
            ) as exc:
                return await self._after_crash(started, exc)
            return self._result(started, **self._fields(reply))

    async def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        await self._send(request)
        return await self._receive()

    @staticmethod
    def _fields(reply: dict[str, Any]) -> dict[str, Any]:
        reason: KilledReason | None = None
        if reply.get("memory"):
            reason = "memory"
        elif reply.get("output_limit"):
            reason = "output_limit"
        return {
            "stdout": str(reply.get("stdout", "")),
            "stderr": str(reply.get("stderr", "")),
            "stdout_truncated": bool(reply.get("stdout_truncated")),
            "stderr_truncated": bool(reply.get("stderr_truncated")),
            "exit_code": 1 if reply.get("error") else 0,
            "killed_reason": reason,
        }

    async def _after_crash(self, started: float, exc: BaseException) -> ExecResult:
        assert self._kernel is not None
        process = self._kernel.process
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 2.0)
        exit_code = exit_status(process.returncode) if process.returncode is not None else None
        if self._kernel.over_quota:
            # The files would put the next kernel over the quota at once: they go too.
            self.scratch.clear()
            await self._restart()
            return self._result(
                started,
                killed_reason="disk",
                exit_code=exit_code,
                session_restarted=True,
                stderr=f"the scratch folder passed its quota ({self.limits.scratch_mb} MB, "
                f"{self.limits.scratch_files} files); the sandbox was restarted, all variables "
                "were lost and the folder was emptied\n",
            )
        reason = classify(exit_code, "")
        await self._restart()
        return self._result(
            started,
            killed_reason=reason,
            exit_code=exit_code,
            session_restarted=True,
            stderr=f"the sandbox ended (exit {exit_code}, {reason or 'no limit hit'}); it was "
            "restarted and all "
            "variables were lost (files are kept)\n",
        )

    async def reset(self) -> None:
        """Forget all variables and imports; files in the scratch dir stay."""
        async with self._lock:
            if self._kernel is None:
                raise SandboxError("the session is closed or was never started")
            try:
                await asyncio.wait_for(self._call({"op": "reset"}), self.limits.timeout_s)
            except (TimeoutError, EOFError, asyncio.IncompleteReadError, KernelProtocolError):
                await self._restart()

    def list_files(self) -> list[FileInfo]:
        return self.scratch.list_files()

    def read_file(self, name: str, max_bytes: int = 64 * 1024 * 1024) -> bytes:
        return self.scratch.read_file(name, max_bytes)

    async def close(self) -> None:
        """Kill the sandbox and every process in it, and delete the scratch dir."""
        if self._kernel is not None:
            await self._kernel.close()
            self._kernel = None
        if self._scratch is not None:
            self._scratch.remove()
            self._scratch = None
