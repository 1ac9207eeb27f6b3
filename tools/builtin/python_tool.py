"""``python`` and ``shell``: model-written code run in a persistent sandbox, like a notebook.

Both tools share one ``SandboxWorkspace``: a ``SandboxSession`` started on the first call,
so variables, imports and files persist between calls. The observation is what a person
would see in a terminal (stdout, then stderr) plus a short status line when the run did not
end cleanly, so the model can tell "my code failed" from "the sandbox stopped it".
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.sandbox import ExecResult, Limits, SandboxError, SandboxMode, SandboxSession
from hanlin.tools.failure import ToolFailure
from hanlin.tools.tool import Tool

# Checked in ``run``, not as the schema's maxLength: llama.cpp expands a maxLength into
# nested grammar rules, one level per character, which a large bound turns into a crash.
MAX_CODE_CHARS = 100_000
# On top of the cell limit: starting (or restarting) a session kernel may take this long.
_START_ALLOWANCE_S = 35.0
_SHELL_EXIT_MARKER = "\x00shell-exit:"
_SHELL = "/bin/bash"
NO_OUTPUT = "(no output)"


class SandboxUnavailable(ToolFailure):
    """The sandbox could not start on this host; the message says how to find out why."""

    kind = ToolErrorKind.TOOL_RAISED


class SandboxWorkspace:
    """One lazily started ``SandboxSession`` shared by the python, shell and file tools.

    ``mode`` of ``None`` picks the strongest isolation that works here (never the unsafe
    one). ``files`` are placed in the scratch directory before the sandbox starts.
    """

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        mode: SandboxMode | None = None,
        files: dict[str, bytes] | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self.mode = mode
        self.files = dict(files or {})
        self._session: SandboxSession | None = None
        self._lock = asyncio.Lock()  # guards starting the session
        self._run_lock = asyncio.Lock()  # one cell at a time, cleanup included
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def started(self) -> bool:
        return self._session is not None

    async def session(self) -> SandboxSession:
        """The running session, started now if this is the first use."""
        async with self._lock:
            if self._session is None:
                session = SandboxSession(limits=self.limits, mode=self.mode, files=self.files)
                try:
                    await session.start()
                except (SandboxError, OSError) as exc:
                    raise SandboxUnavailable(
                        f"the code sandbox could not start: {exc}. Run `hanlin sandbox check` "
                        "on this host to see which isolation works."
                    ) from exc
                self._session = session
            return self._session

    async def scratch_dir(self) -> Path:
        """The host path of the session's scratch directory (the code's working directory)."""
        return Path((await self.session()).scratch.path)

    async def execute(self, code: str) -> ExecResult:
        """Run one cell. Calls queue here, so one cut short is cleaned up before the next."""
        async with self._run_lock:
            session = await self.session()
            try:
                return await session.execute(code)
            except asyncio.CancelledError:
                # The request may be half sent or its reply unread: the session is unusable.
                self.discard()
                raise
            except SandboxError as exc:
                self.discard()
                raise SandboxUnavailable(
                    f"the code sandbox failed: {exc}. Run `hanlin sandbox "
                    "check` to see which isolation works here."
                ) from exc

    def discard(self) -> None:
        """Drop the session without waiting (after a cancelled call left it mid-request)."""
        session, self._session = self._session, None
        if session is not None:
            task = asyncio.ensure_future(session.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        """Stop the sandbox and delete its scratch directory."""
        async with self._lock:
            session, self._session = self._session, None
        if session is not None:
            await session.close()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


def status_line(result: ExecResult, limits: Limits) -> str | None:
    """Why a run did not end cleanly, in one bracketed line; ``None`` for a clean run."""
    lost = " — variables were lost, files kept" if result.session_restarted else ""
    verb = "killed" if result.session_restarted else "stopped"
    reason = result.killed_reason
    if reason == "timeout":
        return f"[killed: timeout after {limits.timeout_s:g} s{lost}]"
    if reason == "memory":
        return f"[{verb}: memory limit of {limits.memory_mb} MB reached{lost}]"
    if reason == "cpu":
        return f"[killed: CPU time limit of {limits.cpu_s} s reached{lost}]"
    if reason == "output_limit":
        return f"[{verb}: output passed {limits.output_bytes} bytes and was cut{lost}]"
    if reason == "signal" and result.exit_code is not None:
        return f"[killed: signal {result.exit_code - 128}{lost}]"
    if reason == "disk":
        return (
            f"[killed: the scratch folder passed its quota of {limits.scratch_mb} MB or "
            f"{limits.scratch_files} files — variables and files were lost]"
        )
    if result.exit_code not in (0, None):
        return f"[exit code {result.exit_code}{lost}]"
    if result.session_restarted:
        return f"[the sandbox restarted{lost}]"
    return None


def observation(result: ExecResult, limits: Limits, status: str | None = None) -> str:
    """stdout, then stderr, then the status line: the text the model reads.

    After a restart, stderr holds only the session's own note about it, which the status
    line already says in fewer words.
    """
    parts = [result.stdout.rstrip("\n")]
    if result.stderr.strip() and not result.session_restarted:
        parts.append(result.stderr.rstrip("\n"))
    line = status if status is not None else status_line(result, limits)
    if line:
        parts.append(line)
    text = "\n".join(part for part in parts if part)
    return text or NO_OUTPUT


class _SandboxTool(Tool):
    """Shared plumbing: the workspace, its lifetime, and cancellation safety."""

    workspace: SandboxWorkspace

    async def _execute(self, code: str) -> ExecResult:
        if len(code) > MAX_CODE_CHARS:
            raise ToolFailure(
                f"the code is {len(code)} characters; at most {MAX_CODE_CHARS} "
                "are accepted (write long data to a file instead)",
                ToolErrorKind.INVALID_VALUE,
            )
        return await self.workspace.execute(code)

    async def aclose(self) -> None:
        await self.workspace.aclose()


class PythonArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        description=(
            "Python source to run. Variables, imports and files persist between calls; the value "
            "of a final expression is printed. Use print() for everything else you want to see."
        )
    )


class PythonTool(_SandboxTool):
    """Run Python code in a persistent sandbox, like a notebook cell.

    State persists between calls; the working directory is a private scratch folder; there
    is no network. The result is the printed output, errors, and a status line if the code
    failed or was stopped.
    """

    name = "python"
    description = (
        "Run Python code in a persistent sandbox, like a notebook cell: variables, "
        "imports and files persist between calls; the working directory is a "
        "private scratch folder; there is no network access."
    )
    Args = PythonArgs

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        mode: SandboxMode | None = None,
        files: dict[str, bytes] | None = None,
        workspace: SandboxWorkspace | None = None,
    ) -> None:
        if workspace is not None and (limits is not None or mode is not None or files):
            raise ValueError("give either a workspace or limits/mode/files, not both")
        self.workspace = workspace or SandboxWorkspace(limits=limits, mode=mode, files=files)
        self.timeout = self.workspace.limits.timeout_s + _START_ALLOWANCE_S

    async def run(self, args: PythonArgs) -> str:
        result = await self._execute(args.code)
        return observation(result, self.workspace.limits)


class ShellArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    command: str = Field(
        description=(
            "A bash command line, run in the sandbox's scratch folder (the python tool's working "
            "directory). No network."
        )
    )


# Runs inside the sandbox (standard library only). The command gets its own session so a
# timeout can kill everything it started while the notebook lives on. Where seccomp forbids
# a new session (Landlock mode) nothing but the whole sandbox can be killed reliably, so the
# command runs until the session's own timeout restarts the sandbox.
_SHELL_RUNNER = """\
import os, signal, subprocess, sys

try:
    process = subprocess.Popen([SHELL, "-c", COMMAND], stdin=subprocess.DEVNULL,
                               start_new_session=True)
except PermissionError:
    process = subprocess.Popen([SHELL, "-c", COMMAND], stdin=subprocess.DEVNULL)
    code = str(process.wait())
else:
    try:
        code = str(process.wait(TIMEOUT))
    except subprocess.TimeoutExpired:
        code = "timeout"
    try:  # also whatever it left running in the background
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        pass
    process.wait()
sys.stderr.write(MARKER + code + "\\n")
"""


def shell_cell(command: str, timeout_s: float) -> str:
    """Python cell that runs ``command`` under bash inside the session's sandbox.

    It runs in a throwaway namespace, so the notebook's variables are untouched, and stops
    the command itself before the session's own timeout would kill the whole kernel.
    The child writes straight to the cell's output files; the exit status follows on stderr.
    """
    names = {
        "__name__": "__shell__",
        "SHELL": _SHELL,
        "COMMAND": command,
        "TIMEOUT": timeout_s,
        "MARKER": _SHELL_EXIT_MARKER,
    }
    return f"exec({_SHELL_RUNNER!r}, {names!r})"


def split_shell_status(stderr: str) -> tuple[str, str | None]:
    """The command's stderr and its exit status ('0', '2', 'timeout'; None if not reported)."""
    before, marker, after = stderr.rpartition(_SHELL_EXIT_MARKER)
    if not marker:
        return stderr, None
    return before, after.strip() or None


class ShellTool(_SandboxTool):
    """Run a bash command in the same sandbox and scratch folder as the python tool.

    Files written by one are visible to the other. No network. The result is the output,
    errors, and a status line if the command failed or was stopped. A command that overruns
    is stopped alone in bwrap mode; in Landlock mode (no process groups) the sandbox is
    restarted, so Python variables are lost there.
    """

    name = "shell"
    description = (
        "Run a bash command in the code sandbox, in the same scratch folder as the "
        "python tool (files are shared); there is no network access."
    )
    Args = ShellArgs

    def __init__(
        self,
        source: PythonTool | SandboxWorkspace | None = None,
        *,
        limits: Limits | None = None,
        mode: SandboxMode | None = None,
    ) -> None:
        if source is not None and (limits is not None or mode is not None):
            raise ValueError("give either a python tool / workspace or limits/mode, not both")
        if isinstance(source, PythonTool):
            source = source.workspace
        self.workspace = source or SandboxWorkspace(limits=limits, mode=mode)
        self.timeout = self.workspace.limits.timeout_s + _START_ALLOWANCE_S

    @property
    def command_timeout_s(self) -> float:
        """Stop the command a little before the session would restart the kernel."""
        limit = self.workspace.limits.timeout_s
        return max(limit - 1.0, limit * 0.5)

    async def run(self, args: ShellArgs) -> str:
        if "\x00" in args.command:
            raise ToolFailure("the command contains a NUL character", ToolErrorKind.INVALID_VALUE)
        result = await self._execute(shell_cell(args.command, self.command_timeout_s))
        stderr, code = split_shell_status(result.stderr)
        shown = result.model_copy(update={"stderr": stderr})
        status: str | None = None
        if code == "timeout":
            status = f"[killed: timeout after {self.command_timeout_s:g} s]"
        elif code is not None and code.lstrip("-").isdigit() and not result.killed_reason:
            exit_code = int(code)
            exit_code = 128 - exit_code if exit_code < 0 else exit_code  # died by signal
            status = f"[exit code {exit_code}]" if exit_code else ""
        return observation(shown, self.workspace.limits, status)
