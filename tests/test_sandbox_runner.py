"""One-shot execution: results, files in and out, exit codes, limits and bad input."""

from __future__ import annotations

import os

import pytest

from hanlin.sandbox import (
    ExecResult,
    Limits,
    SandboxMode,
    check_host,
    detect_mode,
    run_program,
    run_python,
    run_shell,
)
from hanlin.sandbox.runner import classify, exit_status
from hanlin.sandbox.scratch import DEFAULT_ROOT

needs_bwrap = pytest.mark.skipif(not check_host().bwrap_works, reason="bwrap does not work here")


async def test_python_prints_and_exits_cleanly() -> None:
    result = await run_python("print('hello', 6 * 7)")
    assert isinstance(result, ExecResult)
    assert result.stdout == "hello 42\n"
    assert result.stderr == ""
    assert result.exit_code == 0 and result.ok
    assert result.killed_reason is None
    assert result.mode == detect_mode()
    assert result.duration_s > 0


async def test_python_error_gives_traceback_and_exit_code() -> None:
    result = await run_python("import sys\nprint('before')\nraise ValueError('boom')")
    assert result.stdout == "before\n"
    assert "ValueError: boom" in result.stderr
    assert result.exit_code == 1
    assert result.killed_reason is None and not result.ok


async def test_stdin_is_empty_for_the_program() -> None:
    result = await run_python("import sys; print(repr(sys.stdin.read()))")
    assert result.stdout == "''\n"


async def test_files_go_in_and_produced_files_are_listed() -> None:
    files = {"data/input.csv": b"a,b\n1,2\n", "notes.txt": b"hi"}
    code = (
        "import csv\n"
        "rows = list(csv.reader(open('data/input.csv')))\n"
        "open('out.txt', 'w').write(str(rows))\n"
        "import os; os.symlink('/etc/passwd', 'link')\n"
        "print(rows)\n"
    )
    result = await run_python(code, files=files)
    assert result.stdout == "[['a', 'b'], ['1', '2']]\n", result.stderr
    listed = {info.path: info.size for info in result.files}
    # links are not files of the sandbox, and are never followed by the host side
    assert listed == {"data/input.csv": 8, "notes.txt": 2, "out.txt": 24}


async def test_scratch_dir_is_removed_after_the_run() -> None:
    before = set(os.listdir(DEFAULT_ROOT)) if os.path.isdir(DEFAULT_ROOT) else set()
    await run_python("open('x', 'w').write('y')")
    assert set(os.listdir(DEFAULT_ROOT)) <= before


@pytest.mark.parametrize("name", ["/etc/passwd", "../escape", "a/../../b", "", "a\x00b"])
async def test_unsafe_input_file_names_are_rejected(name: str) -> None:
    with pytest.raises(ValueError, match="file name"):
        await run_python("pass", files={name: b"x"})


async def test_bad_argument_types_are_rejected() -> None:
    with pytest.raises(TypeError, match="code must be str"):
        await run_python(b"print(1)")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be bytes"):
        await run_python("pass", files={"a.txt": "text"})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="NUL"):
        await run_shell("echo \x00")


async def test_shell_pipeline_and_exit_code() -> None:
    result = await run_shell("printf 'b\\na\\n' | sort; echo oops >&2; exit 3")
    assert result.stdout == "a\nb\n"
    assert result.stderr == "oops\n"
    assert result.exit_code == 3
    assert result.killed_reason is None


async def test_death_by_signal_reads_as_128_plus_n() -> None:
    result = await run_shell("kill -SEGV $$")
    assert result.exit_code == 139
    assert result.killed_reason == "signal"


@needs_bwrap
async def test_installed_packages_import_inside_bwrap() -> None:
    result = await run_python(
        "import pydantic, sys\nprint(pydantic.VERSION)\nprint(sys.prefix)",
        mode=SandboxMode.BWRAP,
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == __import__("pydantic").VERSION


@needs_bwrap
async def test_bwrap_layout_private_tmp_and_scratch_as_home() -> None:
    result = await run_shell(
        "pwd; echo $HOME; echo /*; echo /etc/*; touch /tmp/t && echo tmp-writable; echo /dev/*",
        mode=SandboxMode.BWRAP,
    )
    lines = result.stdout.splitlines()
    assert lines[:2] == ["/sandbox", "/sandbox"]
    top = set(lines[2].split())
    assert {"/usr", "/tmp", "/proc", "/dev", "/sandbox", "/etc"} <= top
    assert not top & {"/home", "/var", "/opt", "/srv", "/boot", "/mnt"}
    assert set(lines[3].split()) <= {"/etc/alternatives", "/etc/ld.so.cache", "/etc/localtime"}
    assert lines[4] == "tmp-writable"
    devices = set(lines[5].split())
    assert {"/dev/null", "/dev/urandom"} <= devices
    assert not any(d.startswith(("/dev/sd", "/dev/vd", "/dev/nvme", "/dev/kvm")) for d in devices)


async def test_file_size_limit() -> None:
    result = await run_python(
        "f = open('big', 'wb')\nf.write(b'x' * (3 * 1024**2))\nf.close()",
        limits=Limits(file_size_mb=1),
    )
    assert result.exit_code != 0
    sizes = {info.path: info.size for info in result.files}
    assert sizes.get("big", 0) <= 1024**2


async def test_unsafe_mode_must_be_asked_for_and_still_limits() -> None:
    assert detect_mode() is not SandboxMode.UNSAFE_SUBPROCESS
    result = await run_python(
        "import os; print(sorted(os.environ))", mode=SandboxMode.UNSAFE_SUBPROCESS
    )
    assert result.mode is SandboxMode.UNSAFE_SUBPROCESS
    assert result.stdout == "['HOME', 'LANG', 'PATH', 'TMPDIR']\n"
    slow = await run_program(
        ["/bin/sleep", "30"], limits=Limits(timeout_s=0.5), mode=SandboxMode.UNSAFE_SUBPROCESS
    )
    assert slow.killed_reason == "timeout"


def test_classification_of_endings() -> None:
    assert exit_status(-9) == 137 and exit_status(3) == 3
    assert classify(0, "") is None
    assert classify(1, "Traceback...\nMemoryError\n") == "memory"
    assert classify(128 + 24, "") == "cpu"
    assert classify(137, "") == "signal"
    assert classify(2, "usage error") is None


def test_limits_validate() -> None:
    with pytest.raises(ValueError):
        Limits(timeout_s=0)
    with pytest.raises(ValueError):
        Limits(memory_mb=1)
    with pytest.raises(ValueError):
        Limits(bogus=1)  # type: ignore[call-arg]
