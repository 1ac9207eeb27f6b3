"""The sandbox package and its command line pass the project's lint, format and type checks
(pyproject.toml): the host side of the sandbox is the code whose mistakes cost the most."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATHS = ["sandbox", "cli/sandbox_commands.py"]


def _tool(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install 'hanlin[lint]')")


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_ruff_finds_nothing() -> None:
    _tool("ruff")
    done = _run("ruff", "check", "--no-cache", *PATHS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format_changes_nothing() -> None:
    _tool("ruff")
    done = _run("ruff", "format", "--check", "--no-cache", *PATHS)
    assert done.returncode == 0, done.stdout + done.stderr


def _package_link() -> Path:
    """A folder where ``hanlin`` names this checkout (its root is the package). Fixed per
    checkout, so mypy's cache there stays valid from one run to the next."""
    checkout = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    base = Path(tempfile.gettempdir()) / f"hanlin-typecheck-{os.getuid()}-{checkout}"
    base.mkdir(exist_ok=True)
    link = base / "hanlin"
    if not link.is_symlink() or link.resolve() != ROOT:
        staged = base / f"hanlin.{os.getpid()}"
        staged.symlink_to(ROOT)
        staged.replace(link)
    return base


def test_mypy_finds_nothing_in_the_sandbox() -> None:
    _tool("mypy")
    base = _package_link()
    done = _run(
        "mypy",
        "--config-file",
        str(ROOT / "pyproject.toml"),
        "--cache-dir",
        str(base / ".mypy_cache"),
        "-p",
        "hanlin.sandbox",
        cwd=base,
    )
    ours = [line for line in done.stdout.splitlines() if line.startswith("hanlin/sandbox/")]
    assert ours == [], "\n".join(ours)
    assert done.returncode in (0, 1), done.stdout + done.stderr
