"""``hanlin sandbox check`` and ``hanlin sandbox exec``, run as real processes."""

from __future__ import annotations

import json
import subprocess
import sys

from hanlin.sandbox import ExecResult, HostReport, check_host


def hanlin(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hanlin.cli.main", "sandbox", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_prints_the_host_report_as_json_and_a_summary() -> None:
    done = hanlin("check")
    report = HostReport.model_validate_json(done.stdout)
    assert report == check_host(), "the command reports what the library sees"
    if report.mode is None:
        assert done.returncode == 1 and "no safe sandbox mode works" in done.stderr
    else:
        assert done.returncode == 0
        assert done.stderr.strip().startswith(f"sandbox mode: {report.mode.value} (")


def test_exec_runs_python_and_exits_with_its_code() -> None:
    done = hanlin("exec", stdin="print(6*7)")
    assert done.returncode == 0, done.stderr
    result = ExecResult.model_validate_json(done.stdout)
    assert result.stdout == "42\n" and result.exit_code == 0 and result.ok
    assert result.mode == check_host().mode

    failing = hanlin("exec", stdin="import sys\nprint('bye')\nsys.exit(7)")
    assert failing.returncode == 7
    assert json.loads(failing.stdout)["stdout"] == "bye\n"


def test_exec_cannot_read_host_secrets() -> None:
    done = hanlin("exec", stdin="print(open('/etc/shadow').read())")
    assert done.returncode == 1
    result = ExecResult.model_validate_json(done.stdout)
    assert result.stdout == ""
    assert "PermissionError" in result.stderr or "FileNotFoundError" in result.stderr
    assert "root:" not in done.stdout


def test_exec_shell_timeout_and_memory_options() -> None:
    shell = hanlin("exec", "--shell", stdin="echo $((6*7)); exit 300")
    result = ExecResult.model_validate_json(shell.stdout)
    assert result.stdout == "42\n" and shell.returncode == result.exit_code == 300 % 256

    slow = hanlin("exec", "--timeout", "1", stdin="import time\ntime.sleep(30)")
    result = ExecResult.model_validate_json(slow.stdout)
    assert result.killed_reason == "timeout" and result.duration_s < 10
    assert slow.returncode == min(result.exit_code or 1, 255) != 0

    hungry = hanlin("exec", "--memory-mb", "128", stdin="blob = bytearray(512 * 1024 * 1024)")
    result = ExecResult.model_validate_json(hungry.stdout)
    assert result.killed_reason == "memory" and hungry.returncode == 1

    bad = hanlin("exec", "--memory-mb", "1", stdin="print(1)")
    assert bad.returncode == 2 and "--memory-mb" in bad.stderr


def test_every_command_has_help() -> None:
    for args in [("--help",), ("check", "--help"), ("exec", "--help")]:
        done = hanlin(*args)
        assert done.returncode == 0, done.stderr
        assert "Usage:" in done.stdout
    assert "--shell" in hanlin("exec", "--help").stdout
