"""Trees that sandboxed code leaves in its scratch dir, built to break the host side: very
deep folders, links, names that are not UTF-8, folders locked by their owner. Whatever the
code did, the result is reported and nothing of the run stays on the host."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sandbox_support import hanlin, leftovers, scratch_root, supported_modes

from hanlin.llm.messages import ToolCall
from hanlin.sandbox import ExecResult, Limits, SandboxMode, SandboxSession, run_python
from hanlin.sandbox.tree import TreeChanged, remove_tree, walk
from hanlin.tools import ToolRegistry
from hanlin.tools.builtin import PythonTool, ScratchFiles

__all__ = ["scratch_root"]

DEPTH = 4000
# A folder DEPTH levels deep (paths far past PATH_MAX) with two 8 MB files at the bottom.
DEEP_TREE = f"""
import os
for _ in range({DEPTH}):
    os.mkdir("d")
    os.chdir("d")
for name in ("a.bin", "b.bin"):
    with open(name, "wb") as handle:
        handle.write(b"x" * (8 << 20))
print("built")
"""
DEEP_FILE = "/".join(["d"] * DEPTH) + "/a.bin"


@pytest.fixture(params=supported_modes(), ids=lambda mode: mode.value)
def mode(request: pytest.FixtureRequest) -> SandboxMode:
    return request.param


def test_exec_reports_and_removes_a_deep_tree(scratch_root: Path) -> None:
    done = hanlin("exec", stdin=DEEP_TREE, env={**os.environ})
    assert done.returncode == 0, done.stderr[-2000:]
    result = ExecResult.model_validate_json(done.stdout)
    assert result.stdout == "built\n"
    assert [(f.path, f.size) for f in result.files] == [
        (DEEP_FILE, 8 << 20),
        (DEEP_FILE[: -len("a.bin")] + "b.bin", 8 << 20),
    ]
    assert leftovers(scratch_root) == []


async def test_session_lists_and_removes_a_deep_tree(mode: SandboxMode, scratch_root: Path) -> None:
    async with SandboxSession(mode=mode, limits=Limits(timeout_s=30)) as session:
        result = await session.execute(DEEP_TREE)
        assert result.stdout == "built\n", result.stderr
        assert DEEP_FILE in {f.path for f in result.files}
        assert session.read_file(DEEP_FILE) == b"x" * (8 << 20)
    assert leftovers(scratch_root) == []


async def test_file_tools_list_a_deep_tree(scratch_root: Path) -> None:
    python = PythonTool(limits=Limits(timeout_s=30))
    registry = ToolRegistry([python, ScratchFiles(python)])
    try:
        built = await registry.execute(
            ToolCall(id="1", name="python", arguments={"code": DEEP_TREE})
        )
        assert "built" in built.content, built.content
        listed = await registry.execute(ToolCall(id="2", name="list_files", arguments={}))
        assert not listed.is_error, listed.content[-2000:]
        assert listed.content.startswith("d/d/d/d/")  # the registry caps the (long) text
        files = await ScratchFiles(python).directory.files()
        assert files == [(DEEP_FILE, 8 << 20), (DEEP_FILE[: -len("a.bin")] + "b.bin", 8 << 20)]
    finally:
        await python.aclose()
    assert leftovers(scratch_root) == []


async def test_links_are_listed_never_followed_and_never_removed_through(
    mode: SandboxMode, scratch_root: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "victim"
    (victim / "inner").mkdir(parents=True)
    (victim / "inner" / "keep.txt").write_text("host data")
    code = f"""
import os
os.makedirs("x/y")
open("x/y/real.txt", "w").write("1")
os.symlink({str(victim)!r}, "x/host")
os.symlink({str(victim / "inner")!r}, "x/y/inner")
os.symlink(".", "x/loop")
os.symlink("..", "x/y/up")
"""
    result = await run_python(code, mode=mode)
    assert result.exit_code == 0, result.stderr
    assert [f.path for f in result.files] == ["x/y/real.txt"]
    assert (victim / "inner" / "keep.txt").read_text() == "host data"
    assert leftovers(scratch_root) == []


def test_names_that_are_not_utf8_still_give_a_json_result(scratch_root: Path) -> None:
    done = hanlin(
        "exec", stdin="open(b'bad\\xffname', 'w').write('x')\nprint('ok')", env={**os.environ}
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["stdout"] == "ok\n"
    assert [f["path"] for f in result["files"]] == ["bad\\xffname"]
    assert leftovers(scratch_root) == []


# Runs as uid 65534, as a host that is not root: bwrap then maps the sandbox's files onto the
# caller's uid, so the code can lock its folders against their owner.
_LOCKED_TREE = """
import asyncio, json
from hanlin.sandbox import SandboxMode, run_shell
result = asyncio.run(run_shell(
    "mkdir -p a/b/c && echo x > a/b/c/f && echo y > a/g && chmod 000 a/b && chmod 500 a",
    mode=SandboxMode.BWRAP))
print(json.dumps({"exit_code": result.exit_code, "stderr": result.stderr}))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the host side as another uid")
def test_a_host_that_is_not_root_removes_folders_the_code_locked(tmp_path: Path) -> None:
    root = Path(f"/tmp/hanlin-sandbox-test-unprivileged-{os.getpid()}")
    root.mkdir(mode=0o711)
    os.chown(root, 65534, 65534)
    script = root / "locked.py"
    script.write_text(_LOCKED_TREE)
    try:
        env = {**os.environ, "HANLIN_SANDBOX_ROOT": str(root / "sb"), "HOME": str(root)}
        done = subprocess.run(
            [
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                sys.executable,
                str(script),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0 or '"exit_code": 0' not in done.stdout:
            pytest.skip(
                f"bubblewrap does not run for uid 65534 here: {done.stderr[-500:]}"
                f"{done.stdout[-500:]}"
            )
        assert leftovers(root / "sb") == []
    finally:
        subprocess.run(["rm", "-rf", str(root)], check=False)


def test_walk_stops_when_a_directory_moves_under_it(tmp_path: Path) -> None:
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    (tmp_path / "a" / "b" / "c" / "f").write_text("1")
    (tmp_path / "z").write_text("2")
    seen = []
    with pytest.raises(TreeChanged):
        for entry in walk(tmp_path):
            seen.append(entry.path)
            if entry.path == "a/b/c/f":
                os.rename(tmp_path / "a" / "b", tmp_path / "moved")  # the walk is inside it
    assert seen == ["a", "z", "a/b", "a/b/c", "a/b/c/f"]  # nothing listed twice or outside
    assert remove_tree(tmp_path) and not tmp_path.exists()


def test_remove_tree_deletes_a_link_not_its_target(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (target / "keep").write_text("1")
    (tmp_path / "link").symlink_to(target)
    assert remove_tree(tmp_path / "link")
    assert not (tmp_path / "link").is_symlink() and (target / "keep").exists()


_FORGOTTEN_SESSION = """
import asyncio
from hanlin.sandbox import SandboxSession

async def main():
    session = SandboxSession()
    await session.start()
    result = await session.execute("open('kept.txt', 'w').write('x' * 1000)")
    print(result.exit_code, [f.path for f in result.files])

asyncio.run(main())  # never closed
"""


def test_a_session_nobody_closed_is_removed_when_the_process_exits(scratch_root: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _FORGOTTEN_SESSION],
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and done.stdout == "0 ['kept.txt']\n", done.stderr[-2000:]
    assert leftovers(scratch_root) == []
