"""The python and shell tools against the real sandbox, called through the tool registry."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hanlin.llm.messages import ToolCall
from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.sandbox import ExecResult, Limits, SandboxMode
from hanlin.tools import ToolRegistry
from hanlin.tools.builtin import HttpGet, PythonTool, SandboxWorkspace, ShellTool
from hanlin.tools.builtin.python_tool import observation, status_line

FAST = Limits(timeout_s=2, cpu_s=5)


@pytest.fixture
async def python() -> AsyncIterator[PythonTool]:
    tool = PythonTool(limits=FAST)
    yield tool
    await tool.aclose()


async def run(registry: ToolRegistry, name: str, **arguments: object) -> str:
    result = await registry.execute(ToolCall(id="c", name=name, arguments=dict(arguments)))
    assert not result.is_error, result.content
    return result.content


async def test_variables_and_imports_persist_between_calls(python: PythonTool) -> None:
    registry = ToolRegistry([python])
    assert await run(registry, "python", code="import math\nradius = 2") == "(no output)"
    assert python.workspace.started  # started by the first call
    assert await run(registry, "python", code="print(round(math.pi * radius ** 2, 3))") == "12.566"
    assert await run(registry, "python", code="radius * 10") == "20"  # a final expression


async def test_errors_show_the_traceback_and_the_exit_status(python: PythonTool) -> None:
    registry = ToolRegistry([python])
    text = await run(registry, "python", code="print('before')\n1 / 0")
    assert text.splitlines()[0] == "before"
    assert "ZeroDivisionError: division by zero" in text
    assert text.endswith("\n[exit code 1]")


async def test_a_timeout_says_so_and_the_next_call_works(python: PythonTool) -> None:
    registry = ToolRegistry([python])
    await run(registry, "python", code="kept = 1\nopen('notes.txt', 'w').write('still here')")
    text = await run(registry, "python", code="import time\ntime.sleep(30)")
    assert text == "[killed: timeout after 2 s — variables were lost, files kept]"
    after = await run(
        registry, "python", code="print(open('notes.txt').read())\nprint('kept' in globals())"
    )
    assert after == "still here\nFalse"


async def test_the_tool_runs_isolated_as_the_sandbox_user(python: PythonTool) -> None:
    registry = ToolRegistry([python])
    text = await run(
        registry,
        "python",
        code=(
            "import os, socket\n"
            "print(os.getuid())\n"
            "try:\n"
            "    socket.create_connection(('127.0.0.1', 9), timeout=1)\n"
            "except OSError as exc:\n"
            "    print('network refused:', type(exc).__name__)\n"
        ),
    )
    lines = text.splitlines()
    assert lines[0] == ("65534" if os.geteuid() == 0 else str(os.getuid()))
    assert lines[1].startswith("network refused:")


async def test_shell_shares_the_scratch_folder_and_reports_exit_codes(python: PythonTool) -> None:
    shell = ShellTool(python)
    registry = ToolRegistry([python, shell])
    await run(registry, "python", code="open('from_python.txt', 'w').write('hello')")
    assert (
        await run(registry, "shell", command="cat from_python.txt; echo ' world' > b.txt")
        == "hello"
    )
    assert await run(registry, "python", code="print(open('b.txt').read().strip())") == "world"
    failed = await run(registry, "shell", command="echo out; echo oops >&2; exit 3")
    assert failed == "out\noops\n[exit code 3]"
    await run(registry, "python", code="counter = 7")
    stopped = await run(registry, "shell", command="sleep 30")
    session = await python.workspace.session()
    if session.mode is SandboxMode.LANDLOCK:  # no process groups there: the sandbox restarts
        assert stopped == "[killed: timeout after 2 s — variables were lost, files kept]"
    else:  # the command alone is stopped; Python variables survive
        assert stopped == f"[killed: timeout after {shell.command_timeout_s:g} s]"
        assert await run(registry, "python", code="counter") == "7"
    assert await run(registry, "shell", command="cat b.txt") == " world"


async def test_shared_workspace_and_close() -> None:
    workspace = SandboxWorkspace(limits=FAST, files={"input.csv": b"a,b\n1,2\n"})
    python = PythonTool(workspace=workspace)
    registry = ToolRegistry([python])
    assert await run(registry, "python", code="print(open('input.csv').read().split()[1])") == "1,2"
    scratch = await workspace.scratch_dir()
    assert (scratch / "input.csv").exists()
    await python.aclose()
    assert not scratch.exists() and not workspace.started
    with pytest.raises(ValueError, match="either a workspace"):
        PythonTool(workspace=workspace, limits=FAST)


async def test_an_unavailable_sandbox_is_a_clear_tool_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A scratch root writable by others is refused by the sandbox before anything runs.
    unsafe_root = tmp_path / "open-root"
    unsafe_root.mkdir(mode=0o777)
    unsafe_root.chmod(0o777)
    monkeypatch.setenv("HANLIN_SANDBOX_ROOT", str(unsafe_root))
    tool = PythonTool(limits=FAST)
    result = await ToolRegistry([tool]).execute(
        ToolCall(id="c", name="python", arguments={"code": "1"})
    )
    assert result.is_error and result.error is not None
    assert result.error.kind is ToolErrorKind.TOOL_RAISED
    assert "hanlin sandbox check" in result.content
    assert not tool.workspace.started
    await tool.aclose()


def test_status_lines() -> None:
    def result(**fields: object) -> ExecResult:
        return ExecResult(mode=SandboxMode.BWRAP, **fields)  # type: ignore[arg-type]

    limits = Limits(timeout_s=10, memory_mb=256, cpu_s=3, output_bytes=2048)
    assert status_line(result(exit_code=0), limits) is None
    assert status_line(result(exit_code=2), limits) == "[exit code 2]"
    assert (
        status_line(result(exit_code=1, killed_reason="memory"), limits)
        == "[stopped: memory limit of 256 MB reached]"
    )
    assert (
        status_line(result(exit_code=152, killed_reason="cpu", session_restarted=True), limits)
        == "[killed: CPU time limit of 3 s reached — variables were "
        "lost, files kept]"
    )
    assert (
        status_line(result(exit_code=137, killed_reason="signal"), limits) == "[killed: signal 9]"
    )
    assert (
        status_line(result(exit_code=0, killed_reason="output_limit"), limits)
        == "[stopped: output passed 2048 bytes and was cut]"
    )
    shown = observation(result(stdout="x\n", stderr="warn\n", exit_code=1), limits)
    assert shown == "x\nwarn\n[exit code 1]"
    assert observation(result(exit_code=0), limits) == "(no output)"


async def test_memory_and_output_limits_reach_the_model() -> None:
    tool = PythonTool(limits=Limits(timeout_s=5, memory_mb=256, output_bytes=4096))
    registry = ToolRegistry([tool])
    try:
        memory = await run(registry, "python", code="blob = bytearray(600 * 1024 * 1024)")
        assert "MemoryError" in memory
        assert memory.endswith("[stopped: memory limit of 256 MB reached]")
        flood = await run(registry, "python", code="print('y' * 100_000)")
        assert flood.endswith("[stopped: output passed 4096 bytes and was cut]")
        assert len(flood) < 4096 + 200
        assert await run(registry, "python", code="print('fine')") == "fine"
    finally:
        await tool.aclose()


async def test_a_call_cancelled_by_the_registry_leaves_a_working_tool() -> None:
    tool = PythonTool(limits=Limits(timeout_s=20))
    tool.timeout = 1.0  # the registry gives up before the sandbox's own limit
    registry = ToolRegistry([tool])
    try:
        await run(registry, "python", code="x = 1")
        stopped = await registry.execute(
            ToolCall(id="c", name="python", arguments={"code": "import time\ntime.sleep(10)"})
        )
        assert stopped.error is not None and stopped.error.kind is ToolErrorKind.TIMED_OUT
        # The half-finished session was dropped; the next call gets a fresh one.
        assert await run(registry, "python", code="print('x' in globals())") == "False"
    finally:
        await tool.aclose()


async def test_oversized_code_is_an_invalid_value(python: PythonTool) -> None:
    result = await ToolRegistry([python]).execute(
        ToolCall(id="c", name="python", arguments={"code": "#" * 100_001})
    )
    assert result.error is not None and result.error.kind is ToolErrorKind.INVALID_VALUE
    assert "at most 100000" in result.content and not python.workspace.started


def test_schemas_have_no_max_length() -> None:
    # llama.cpp turns maxLength into one nested grammar rule per character; a large bound
    # crashed the embedded model's constrained decoding, so lengths are checked in run().
    for tool in (PythonTool(), ShellTool(), HttpGet(["example.org"])):
        assert "maxLength" not in json.dumps(tool.spec.parameters), tool.name
