"""Starting a program inside the sandbox in any mode, and killing everything it started.

Every mode starts the program in a fresh process group. In bwrap mode the group holds bwrap
and the pid namespace's init; killing them makes the kernel kill every process in the
namespace, including daemons that called setsid. In Landlock mode seccomp forbids leaving
the group, so killing the group reaches every descendant.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from hanlin.sandbox import seccomp
from hanlin.sandbox.bwrap import SANDBOX_PATH, bwrap_argv, prlimit_argv
from hanlin.sandbox.config import Limits, SandboxError, SandboxMode
from hanlin.sandbox.fallback import landlock_preexec, unsafe_preexec
from hanlin.sandbox.scratch import Scratch
from hanlin.sandbox.usage_watch import UsageWatch

SHELL = "/bin/bash"
_HOST_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(child) for child in handle.read().split()]
    except (OSError, ValueError):
        return []


@dataclass
class SandboxProcess:
    """A running sandboxed program and the handle to stop all of it."""

    process: asyncio.subprocess.Process
    mode: SandboxMode
    watch: UsageWatch | None = None  # the scratch quota, where it is not a tmpfs

    @property
    def over_quota(self) -> bool:
        """Whether the scratch quota watch killed the sandbox."""
        return self.watch is not None and self.watch.exceeded

    def kill(self) -> None:
        """SIGKILL the sandbox (idempotent).

        bwrap: kill the namespace's init first; the kernel then kills everything in the
        namespace, and the outer bwrap reaps it and exits. Killing both at once would orphan
        the init to the host's pid 1, which in containers often never reaps it (a zombie).
        """
        if self.mode is SandboxMode.BWRAP and self.process.returncode is None:
            inits = _children(self.process.pid)
            for init in inits:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(init, signal.SIGKILL)
            if inits:
                return
        self.kill_group()

    async def exited(self) -> None:
        """Return when the program itself has exited.

        Unlike `Process.wait()`, which also waits for the output pipes to close, this does
        not wait for background processes that keep those pipes open.
        """
        if self.process.returncode is not None:
            return
        try:
            pidfd = os.pidfd_open(self.process.pid)
        except ProcessLookupError:
            return  # already reaped
        except (AttributeError, OSError):
            await self.process.wait()  # no pidfd on this kernel
            return
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def readable() -> None:  # the pidfd stays readable: only the first call counts
            if not done.done():
                done.set_result(None)

        loop.add_reader(pidfd, readable)
        try:
            await done
        finally:
            loop.remove_reader(pidfd)
            os.close(pidfd)

    def kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    async def close(self) -> None:
        """Kill and reap, so no process of the sandbox outlives this call."""
        if self.watch is not None:
            await self.watch.stop()
        self.kill()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.process.wait(), 2.0)
        self.kill_group()  # whatever is left, including members that outlived the leader
        await self.process.wait()


async def spawn(
    program: Sequence[str],
    *,
    mode: SandboxMode,
    scratch: Scratch,
    limits: Limits,
    cpu_limit: bool = True,
) -> SandboxProcess:
    """Start `program` (paths as the sandbox sees them) with stdin, stdout, stderr as pipes."""
    try:
        if mode is SandboxMode.BWRAP:
            seccomp_fd = seccomp.filter_pipe(seccomp.filter_program())
            try:
                argv = prlimit_argv(limits, cpu=cpu_limit) + bwrap_argv(
                    program,
                    scratch=scratch.path,
                    limits=limits,
                    seccomp_fd=seccomp_fd,
                    tmp=scratch.tmp_path,
                )
                process = await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=_HOST_ENV,
                    cwd="/",
                    pass_fds=(seccomp_fd,),
                    start_new_session=True,
                )
            finally:
                os.close(seccomp_fd)
        else:
            # Temporary files go to the private tmpfs where there is one, so a full scratch
            # dir cannot keep a session kernel (whose output files live there) from starting.
            tmpdir = scratch.tmp_path or scratch.path
            if mode is SandboxMode.LANDLOCK:
                preexec = landlock_preexec(
                    limits, scratch.path, cpu=cpu_limit, extra_write=[tmpdir]
                )
            elif mode is SandboxMode.UNSAFE_SUBPROCESS:
                preexec = unsafe_preexec(limits, cpu=cpu_limit)
            else:
                raise SandboxError(f"unknown sandbox mode {mode!r}")
            env = {
                "PATH": SANDBOX_PATH,
                "HOME": scratch.path,
                "TMPDIR": tmpdir,
                "LANG": "C.UTF-8",
            }
            process = await asyncio.create_subprocess_exec(
                *program,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=scratch.path,
                preexec_fn=preexec,
                start_new_session=True,
            )
    except (OSError, subprocess.SubprocessError) as exc:
        raise SandboxError(f"could not start the {mode.value} sandbox: {exc}") from exc
    sandbox = SandboxProcess(process=process, mode=mode)
    if scratch.quota == "watch":
        sandbox.watch = UsageWatch(
            scratch.path,
            max_bytes=scratch.max_bytes,
            max_entries=scratch.max_entries,
            on_exceeded=sandbox.kill,
        )
        sandbox.watch.start()
    return sandbox
