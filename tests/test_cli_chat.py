"""`hanlin chat --once` end to end on the embedded model, and `--help` on every command."""

from __future__ import annotations

import subprocess
import sys

import pytest

HANLIN = [sys.executable, "-m", "hanlin.cli.main"]


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["chat"],
        ["serve"],
        ["redis"],
        ["redis", "status"],
        ["sandbox"],
        ["sandbox", "exec"],
        ["version"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    done = subprocess.run([*HANLIN, *command, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout


@pytest.mark.local_model
def test_chat_once_on_the_embedded_model_calls_the_calculator() -> None:
    done = subprocess.run(
        [*HANLIN, "chat", "--memory-only", "--once", "What is 12*7?"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert "-> calculator(" in done.stdout and "<- 84" in done.stdout
    assert "answer:" in done.stdout
