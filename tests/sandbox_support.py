"""Shared by the sandbox tests: the modes this host runs, and a private scratch root that a
test checks is left empty (no folder, no mount) when the sandbox is done with it."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hanlin.sandbox import SandboxMode, check_host


def supported_modes() -> list[SandboxMode]:
    report = check_host()
    modes = [SandboxMode.BWRAP] if report.bwrap_works else []
    if report.landlock_abi >= 1 and report.seccomp and report.landlock_python_reachable:
        modes.append(SandboxMode.LANDLOCK)
    return modes


def mounts_under(root: Path) -> list[str]:
    """Mount points at or below ``root`` in this mount namespace."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mount_point = line.split()[4].replace("\\040", " ")
        if mount_point == str(root) or mount_point.startswith(f"{root}/"):
            found.append(mount_point)
    return found


def leftovers(root: Path) -> list[str]:
    """What a finished sandbox left in its scratch root: entries and mounts."""
    entries = [entry.name for entry in root.iterdir()] if root.is_dir() else []
    return entries + mounts_under(root)


@pytest.fixture
def scratch_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh scratch root (world-searchable, as the Landlock mode needs) for one test."""
    root = Path(f"/tmp/hanlin-sandbox-test-{uuid.uuid4().hex[:12]}")
    monkeypatch.setenv("HANLIN_SANDBOX_ROOT", str(root))
    yield root
    for mount_point in reversed(mounts_under(root)):
        subprocess.run(["umount", "-l", mount_point], check=False)
    subprocess.run(["rm", "-rf", "--one-file-system", str(root)], check=False)


def hanlin(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``hanlin sandbox ...`` as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "hanlin.cli.main", "sandbox", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


__all__ = ["hanlin", "leftovers", "mounts_under", "scratch_root", "supported_modes"]
