"""The scratch dir's quota: bytes and files, per run and across a session's cells, as a hard
tmpfs limit where the host may mount and as a watch that kills the sandbox elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sandbox_support import hanlin, leftovers, mounts_under, scratch_root, supported_modes

from hanlin.llm.messages import ToolCall
from hanlin.sandbox import ExecResult, Limits, SandboxMode, SandboxSession, check_host, run_python
from hanlin.sandbox.scratch import QUOTA_ENV
from hanlin.sandbox.usage_watch import MAX_UNMEASURED_LOOKS, Usage, UsageWatch, settled_usage
from hanlin.tools import ToolRegistry
from hanlin.tools.builtin import PythonTool

__all__ = ["scratch_root"]

# Writes up to `count` files of `mb` MB in 1 MB steps; prints where and why it stopped.
FILL = """
import errno
written = 0
try:
    for i in range({count}):
        with open(f"{prefix}{{i}}", "wb") as handle:
            for _ in range({mb}):
                handle.write(b"\\1" * (1 << 20))
                written += 1
except OSError as exc:
    print("stopped", errno.errorcode[exc.errno], written)
else:
    print("wrote all", written)
"""
# Creates up to `count` empty files in `folder`.
MANY_FILES = """
import errno, os
made = 0
try:
    for i in range({count}):
        open(os.path.join({folder!r}, f"e{{i}}"), "w").close()
        made += 1
except OSError as exc:
    print("stopped", errno.errorcode[exc.errno], made)
else:
    print("made all", made)
"""

needs_tmpfs = pytest.mark.skipif(
    check_host().scratch_quota != "tmpfs",
    reason="this host cannot mount a tmpfs for the scratch dir",
)


@pytest.fixture(params=supported_modes(), ids=lambda mode: mode.value)
def mode(request: pytest.FixtureRequest) -> SandboxMode:
    return request.param


def _stopped_at(result: ExecResult) -> tuple[str, int]:
    words = result.stdout.split()
    assert words[:1] == ["stopped"], (result.stdout, result.stderr)
    return words[1], int(words[2])


@needs_tmpfs
def test_exec_stops_writes_at_the_default_quota_of_256_mb(scratch_root: Path) -> None:
    done = hanlin("exec", stdin=FILL.format(count=24, mb=64, prefix="blob"), env={**os.environ})
    result = ExecResult.model_validate_json(done.stdout)
    assert result.stdout == "stopped ENOSPC 256\n", result.stderr
    assert sum(f.size for f in result.files) <= 256 << 20
    assert leftovers(scratch_root) == []

    small = hanlin(
        "exec",
        "--scratch-mb",
        "8",
        stdin=FILL.format(count=2, mb=64, prefix="b"),
        env={**os.environ},
    )
    assert ExecResult.model_validate_json(small.stdout).stdout == "stopped ENOSPC 8\n"
    bad = hanlin("exec", "--scratch-mb", "0", stdin="print(1)")
    assert bad.returncode == 2 and "--scratch-mb" in bad.stderr


@needs_tmpfs
async def test_quota_is_enospc_inside_and_counts_files_too(
    mode: SandboxMode, scratch_root: Path
) -> None:
    result = await run_python(
        FILL.format(count=4, mb=64, prefix="f"), mode=mode, limits=Limits(scratch_mb=16)
    )
    code, written = _stopped_at(result)
    assert code == "ENOSPC" and 12 <= written <= 16
    many = await run_python(
        MANY_FILES.format(count=5000, folder="."), mode=mode, limits=Limits(scratch_files=300)
    )
    code, made = _stopped_at(many)
    assert code == "ENOSPC" and 250 <= made < 300
    assert leftovers(scratch_root) == []


@needs_tmpfs
async def test_private_tmp_has_a_file_count_quota(scratch_root: Path) -> None:
    if SandboxMode.BWRAP not in supported_modes():
        pytest.skip("bwrap does not run here")
    result = await run_python(
        MANY_FILES.format(count=5000, folder="/tmp"),
        mode=SandboxMode.BWRAP,
        limits=Limits(scratch_files=300),
    )
    code, made = _stopped_at(result)
    assert code == "ENOSPC" and 250 <= made < 300
    assert leftovers(scratch_root) == []


@needs_tmpfs
async def test_session_quota_spans_cells_and_outlives_a_restart(
    mode: SandboxMode, scratch_root: Path
) -> None:
    limits = Limits(scratch_mb=16, timeout_s=3)
    async with SandboxSession(mode=mode, limits=limits) as session:
        assert session.scratch.path in mounts_under(scratch_root)  # its own tmpfs on the host
        first = await session.execute(FILL.format(count=1, mb=10, prefix="a"))
        assert first.stdout == "wrote all 10\n", first.stderr
        stuck = await session.execute("while True: pass")
        assert stuck.killed_reason == "timeout" and stuck.session_restarted
        assert {f.path: f.size for f in stuck.files} == {"a0": 10 << 20}  # files kept
        second = await session.execute(FILL.format(count=1, mb=10, prefix="b"))
        code, written = _stopped_at(second)
        assert code == "ENOSPC" and written <= 6
        freed = await session.execute(
            "import os\nos.remove('a0')\n" + FILL.format(count=1, mb=10, prefix="c")
        )
        assert freed.stdout == "wrote all 10\n", freed.stderr
    assert leftovers(scratch_root) == []


@needs_tmpfs
async def test_input_files_over_the_quota_are_refused(scratch_root: Path) -> None:
    with pytest.raises(ValueError, match="quota of 1 MB"):
        await run_python(
            "print(1)", files={"big.bin": b"0" * (2 << 20)}, limits=Limits(scratch_mb=1)
        )
    assert leftovers(scratch_root) == []


# --- hosts that cannot mount: the watch ---------------------------------------------------


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scratch dirs as on a host without mount rights: plain folders under a watch."""
    monkeypatch.setenv(QUOTA_ENV, "watch")


async def test_watch_kills_a_run_that_writes_past_the_quota(
    mode: SandboxMode, scratch_root: Path, watched: None
) -> None:
    result = await run_python(
        FILL.format(count=8, mb=64, prefix="f"),
        mode=mode,
        limits=Limits(scratch_mb=16, timeout_s=20),
    )
    assert result.killed_reason == "disk" and result.exit_code == 137, result.stderr
    assert mounts_under(scratch_root) == []  # a plain folder, as on such a host
    # Stopped past the quota and before the end: how far past depends on how fast the disk
    # takes writes between two looks of the watch (405 MB once, on a loaded host).
    assert 16 << 20 < sum(f.size for f in result.files) < (8 * 64) << 20
    assert "wrote all" not in result.stdout
    assert leftovers(scratch_root) == []


async def test_watch_counts_files(mode: SandboxMode, scratch_root: Path, watched: None) -> None:
    result = await run_python(
        MANY_FILES.format(count=200_000, folder="."),
        mode=mode,
        limits=Limits(scratch_files=300, timeout_s=20),
    )
    assert result.killed_reason == "disk", (result.stdout, result.stderr)
    assert leftovers(scratch_root) == []


async def test_watch_in_a_session_empties_the_folder_and_goes_on(
    mode: SandboxMode, scratch_root: Path, watched: None
) -> None:
    async with SandboxSession(mode=mode, limits=Limits(scratch_mb=16, timeout_s=20)) as session:
        await session.execute("open('small.txt', 'w').write('kept until the quota is hit')")
        over = await session.execute(FILL.format(count=8, mb=64, prefix="f"))
        assert over.killed_reason == "disk" and over.session_restarted, over.stderr
        assert "passed its quota" in over.stderr and over.files == []
        after = await session.execute("print(6 * 7)")
        assert after.stdout == "42\n" and not after.session_restarted
    assert leftovers(scratch_root) == []


async def test_python_tool_tells_the_model_its_files_went(
    scratch_root: Path, watched: None
) -> None:
    python = PythonTool(limits=Limits(scratch_mb=16, timeout_s=20))
    try:
        call = ToolCall(
            id="1", name="python", arguments={"code": FILL.format(count=8, mb=64, prefix="f")}
        )
        text = (await ToolRegistry([python]).execute(call)).content
        assert "passed its quota of 16 MB" in text and "files were lost" in text, text
    finally:
        await python.aclose()
    assert leftovers(scratch_root) == []


def test_host_report_says_how_the_quota_is_kept() -> None:
    report = check_host()
    assert report.scratch_quota in ("tmpfs", "watch")
    if report.is_root and report.bwrap_works:
        assert report.scratch_quota == "tmpfs"  # bwrap as root can mount, so can the host


def test_watch_gives_up_on_a_tree_that_never_holds_still(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_bytes(b"1" * 10_000)
    usage = settled_usage(str(tmp_path), max_entries=100)
    assert usage.complete and usage.entries == 2 and usage.bytes >= 10_000
    watch = UsageWatch(str(tmp_path), max_bytes=1 << 20, max_entries=100, on_exceeded=print)
    assert not watch.over(usage)
    cut_short = Usage(bytes=0, entries=1, complete=False)
    looks = [watch.over(cut_short) for _ in range(MAX_UNMEASURED_LOOKS)]
    assert looks == [False] * (MAX_UNMEASURED_LOOKS - 1) + [True]
    assert not watch.over(usage)  # a finished look starts the count again
