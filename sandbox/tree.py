"""Walking and removing directory trees that untrusted code wrote.

Such a tree can be thousands of levels deep, hold links anywhere, and change while it is
read. So both walks are loops, not recursion (a deep tree cannot exhaust the Python stack),
hold at most two descriptors at a time (a deep tree cannot exhaust descriptors), open every
directory relative to its parent with ``O_NOFOLLOW`` (a link is never followed, and paths
never grow past ``PATH_MAX``), stay on the root's file system, and climb back up through
``..`` only after checking that it is the directory they came from (a directory moved
mid-walk stops the walk instead of leading it outside the root).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_PATH_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_OWNER_ALL = 0o700


class TreeChanged(OSError):
    """A directory was moved while the walk was inside it; the walk stopped there."""


@dataclass(frozen=True)
class TreeEntry:
    """One entry of a tree: its path components below the root and its lstat."""

    parts: tuple[str, ...]
    info: os.stat_result

    @property
    def path(self) -> str:
        return "/".join(self.parts)


@dataclass
class _Frame:
    name: str  # this directory's name in its parent ("" for the root)
    identity: tuple[int, int]  # (st_dev, st_ino), checked when climbing back to it
    subdirs: list[str] = field(default_factory=list)  # still to visit, next one last


def _identity(info: os.stat_result) -> tuple[int, int]:
    return info.st_dev, info.st_ino


def _entries(fd: int) -> list[tuple[str, os.stat_result]]:
    """(name, lstat) of a directory's entries, sorted by name; vanished entries skipped."""
    found: list[tuple[str, os.stat_result]] = []
    with os.scandir(fd) as listing:
        for entry in listing:
            with contextlib.suppress(OSError):
                found.append((entry.name, entry.stat(follow_symlinks=False)))
    found.sort(key=lambda item: item[0])
    return found


def _open_child(fd: int, name: str, device: int, *, take_over: bool = False) -> int | None:
    """A child directory on the root's file system, or None (gone, a link, not a folder,
    another file system). ``take_over``: a folder its owner locked (mode 000) is opened up
    first, which only works for the owner (a host that is not root owns what bwrap's user
    namespace wrote)."""
    try:
        child = os.open(name, _DIR_FLAGS, dir_fd=fd)
    except PermissionError:
        if not take_over:
            return None
        try:
            handle = os.open(name, _PATH_FLAGS, dir_fd=fd)
            try:
                os.chmod(f"/proc/self/fd/{handle}", _OWNER_ALL)
            finally:
                os.close(handle)
            child = os.open(name, _DIR_FLAGS, dir_fd=fd)
        except OSError:
            return None
    except OSError:
        return None
    info = os.fstat(child)
    if info.st_dev != device:
        os.close(child)
        return None
    if take_over and info.st_mode & _OWNER_ALL != _OWNER_ALL:
        with contextlib.suppress(OSError):
            os.fchmod(child, _OWNER_ALL)  # so its entries can be removed
    return child


def _climb(fd: int, expected: tuple[int, int]) -> int:
    """Open the parent of ``fd`` and check it is ``expected``; the caller closes ``fd``."""
    parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
    if _identity(os.fstat(parent)) != expected:
        os.close(parent)
        raise TreeChanged(errno.ESTALE, "a directory was moved during the walk")
    return parent


def walk(root: str | os.PathLike[str], *, max_entries: int | None = None) -> Iterator[TreeEntry]:
    """Every entry under ``root`` (files, folders, links, ...). Each folder's entries come
    sorted by name, before any of its subfolders' entries; links are reported, not followed.

    Stops after ``max_entries`` entries; raises ``TreeChanged`` if the tree moves under it.
    """
    fd = os.open(root, _DIR_FLAGS)
    try:
        info = os.fstat(fd)
        device = info.st_dev
        stack = [_Frame("", _identity(info))]
        count = 0
        entered = True
        while stack:
            top = stack[-1]
            if entered:
                parts = tuple(frame.name for frame in stack[1:])
                for name, entry_info in _entries(fd):
                    yield TreeEntry((*parts, name), entry_info)
                    count += 1
                    if max_entries is not None and count >= max_entries:
                        return
                    if stat.S_ISDIR(entry_info.st_mode):
                        top.subdirs.append(name)
                top.subdirs.reverse()
            entered = False
            while top.subdirs and not entered:
                name = top.subdirs.pop()
                child = _open_child(fd, name, device)
                if child is not None:
                    os.close(fd)
                    fd = child
                    stack.append(_Frame(name, _identity(os.fstat(fd))))
                    entered = True
            if not entered:
                stack.pop()
                if stack:
                    parent = _climb(fd, stack[-1].identity)
                    os.close(fd)
                    fd = parent
    finally:
        os.close(fd)


def _unlink(fd: int, name: str, *, take_over: bool) -> None:
    try:
        os.unlink(name, dir_fd=fd)
    except PermissionError:
        if take_over:
            os.fchmod(fd, _OWNER_ALL)
            os.unlink(name, dir_fd=fd)


def remove_tree(path: str | os.PathLike[str]) -> bool:
    """Delete ``path`` and everything under it, without following links; True when it is
    gone. What cannot be removed (a mount point, a file of another owner) is left in place,
    and removal of everything else goes on."""
    take_over = os.geteuid() != 0
    try:
        fd = os.open(path, _DIR_FLAGS)
    except FileNotFoundError:
        return True
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            return False
        with contextlib.suppress(OSError):
            os.unlink(path)
        return not os.path.lexists(path)
    try:
        info = os.fstat(fd)
        device = info.st_dev
        stack = [_Frame("", _identity(info))]
        stuck: set[tuple[int, int]] = set()
        while stack:
            entered = False
            for name, entry_info in _entries(fd):
                if not stat.S_ISDIR(entry_info.st_mode):
                    with contextlib.suppress(OSError):
                        _unlink(fd, name, take_over=take_over)
                    continue
                if _identity(entry_info) in stuck:
                    continue
                child = _open_child(fd, name, device, take_over=take_over)
                if child is None:
                    stuck.add(_identity(entry_info))
                    continue
                os.close(fd)
                fd = child
                stack.append(_Frame(name, _identity(os.fstat(fd))))
                entered = True
                break
            if entered:
                continue
            done = stack.pop()  # as empty as it can be made: remove it from its parent
            if stack:
                parent = _climb(fd, stack[-1].identity)
                os.close(fd)
                fd = parent
                try:
                    os.rmdir(done.name, dir_fd=fd)
                except OSError:
                    stuck.add(done.identity)
    except OSError:
        pass  # TreeChanged, or the root itself became unreadable: remove what we can below
    finally:
        os.close(fd)
    with contextlib.suppress(OSError):
        os.rmdir(path)
    return not os.path.lexists(path)
