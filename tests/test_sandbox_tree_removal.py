"""``remove_tree`` on trees sandboxed code could leave, run by a host that is not root: folders
locked with mode 000, a tree deeper than the Python stack and ``PATH_MAX`` allow, links to
host folders, and entries of another owner that must stay while everything else goes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hanlin.sandbox.tree import remove_tree

DEPTH = 3000

# Builds the tree under argv[1] as the calling user, its top folder locked with mode argv[2]
# (octal), removes it, prints what is left.
_BUILD_AND_REMOVE = f"""
import json, os, sys
from hanlin.sandbox.tree import remove_tree

base = sys.argv[1]
tree, victim = os.path.join(base, "tree"), os.path.join(base, "victim")
os.makedirs(os.path.join(victim, "inner"))
open(os.path.join(victim, "inner", "keep.txt"), "w").write("host data")
os.makedirs(os.path.join(tree, "a", "b", "c"))
open(os.path.join(tree, "a", "b", "c", "f"), "w").write("x")
open(os.path.join(tree, "a", "g"), "w").write("y")
os.chmod(os.path.join(tree, "a", "b", "c", "f"), 0)
os.chmod(os.path.join(tree, "a", "b", "c"), 0)
os.chmod(os.path.join(tree, "a", "b"), 0)
os.chmod(os.path.join(tree, "a"), 0o500)
os.symlink(victim, os.path.join(tree, "host"))
os.symlink(os.path.join(victim, "inner"), os.path.join(tree, "inner"))
os.symlink(".", os.path.join(tree, "loop"))
here = os.getcwd()
os.chdir(tree)
for _ in range({DEPTH}):
    os.mkdir("d")
    os.chdir("d")
os.mkdir("locked")
open("locked/bottom", "w").write("z")
os.chmod("locked", 0)
os.chdir(here)
os.chmod(tree, int(sys.argv[2], 8))
gone = remove_tree(tree)
left = None
if os.path.lexists(tree):
    os.chmod(tree, 0o700)
    left = sorted(os.listdir(tree))
kept = open(os.path.join(victim, "inner", "keep.txt")).read()
print(json.dumps({{"gone": gone, "left": left, "kept": kept}}))
"""


@pytest.fixture
def base() -> Iterator[Path]:
    """A folder uid 65534 can write in (pytest's tmp_path is private to root)."""
    path = Path(f"/tmp/hanlin-tree-test-{uuid.uuid4().hex[:12]}")
    path.mkdir(mode=0o755)
    if os.geteuid() == 0:
        os.chown(path, 65534, 65534)
    yield path
    # rm, not shutil.rmtree: what a failed removal left is deeper than Python recursion goes.
    subprocess.run(["chmod", "-R", "u+rwx", str(path)], check=False, capture_output=True)
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=False)


def _as_unprivileged(base: Path, top_mode: int = 0o700) -> dict[str, object]:
    """Run the build-and-remove script as a user that is not root (uid 65534 when we are)."""
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    if os.geteuid() != 0:
        prefix = []
    elif shutil.which("setpriv") is None:
        pytest.skip("setpriv is needed to run the host side as another uid")
    done = subprocess.run(
        [*prefix, sys.executable, "-c", _BUILD_AND_REMOVE, str(base), oct(top_mode)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout)
    return result


# The top folder locked too: ``Scratch.clear`` removes each entry the code made on its own.
@pytest.mark.parametrize("top_mode", [0o700, 0o500, 0o000], ids=oct)
def test_a_user_that_is_not_root_removes_locked_deep_trees_and_never_follows_links(
    base: Path, top_mode: int
) -> None:
    result = _as_unprivileged(base, top_mode)
    assert result == {"gone": True, "left": None, "kept": "host data"}
    assert sorted(os.listdir(base)) == ["victim"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the tree an entry of root's")
def test_what_another_owner_holds_stays_and_everything_else_goes(base: Path) -> None:
    tree = base / "tree"
    tree.mkdir()
    os.chown(tree, 65534, 65534)
    held = tree / "m-held"  # sorted between the locked folders and the deep one
    held.mkdir(mode=0o755)
    (held / "root-file").write_text("r")
    result = _as_unprivileged(base)
    assert result == {"gone": False, "left": ["m-held"], "kept": "host data"}
    assert (held / "root-file").read_text() == "r"


def test_root_removes_a_link_to_a_folder_not_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "target"
    (target / "sub").mkdir(parents=True)
    (target / "sub" / "keep").write_text("1")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "to-target").symlink_to(target)
    (tree / "sub").symlink_to(target / "sub")
    assert remove_tree(tree) and not tree.exists()
    assert (target / "sub" / "keep").read_text() == "1"


def test_a_missing_path_counts_as_removed(tmp_path: Path) -> None:
    assert remove_tree(tmp_path / "never-made")
