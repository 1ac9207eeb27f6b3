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
from collections.abc import Generator
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


def _unlock(name: str | os.PathLike[str], dir_fd: int | None) -> None:
    """Give a folder's owner all rights on it again, through an ``O_PATH`` handle: a folder
    locked with mode 000 can be neither read nor searched, but it can be named."""
    handle = os.open(name, _PATH_FLAGS, dir_fd=dir_fd)
    try:
        os.chmod(f"/proc/self/fd/{handle}", _OWNER_ALL)
    finally:
        os.close(handle)


def _open_dir(name: str | os.PathLike[str], dir_fd: int | None, *, take_over: bool) -> int:
    """Open a folder, never through a link; with ``take_over`` a folder its owner locked is
    unlocked first, which only works for the owner (a host that is not root owns what
    bwrap's user namespace wrote). Raises ``OSError``."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except PermissionError:
        if not take_over:
            raise
    _unlock(name, dir_fd)
    return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)


def _make_writable(fd: int, info: os.stat_result, *, take_over: bool) -> None:
    """With ``take_over``, let the owner remove a folder's entries however it was locked."""
    if take_over and info.st_mode & _OWNER_ALL != _OWNER_ALL:
        with contextlib.suppress(OSError):
            os.fchmod(fd, _OWNER_ALL)


def _open_child(fd: int, name: str, device: int, *, take_over: bool = False) -> int | None:
    """A child directory on the root's file system, or None (gone, a link, not a folder,
    another file system, locked and not ``take_over``)."""
    try:
        child = _open_dir(name, fd, take_over=take_over)
    except OSError:
        return None
    info = os.fstat(child)
    if info.st_dev != device:
        os.close(child)
        return None
    _make_writable(child, info, take_over=take_over)
    return child


def _climb(fd: int, expected: tuple[int, int]) -> int:
    """Open the parent of ``fd`` and check it is ``expected``; the caller closes ``fd``."""
    parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
    if _identity(os.fstat(parent)) != expected:
        os.close(parent)
        raise TreeChanged(errno.ESTALE, "a directory was moved during the walk")
    return parent


def walk(
    root: str | os.PathLike[str], *, max_entries: int | None = None
) -> Generator[TreeEntry, None, None]:
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


@dataclass
class _Removal:
    """One removal in progress: the folder open now, the folders above it, and the folders
    that cannot be removed (skipped from then on, so the loop ends)."""

    fd: int
    take_over: bool
    device: int = 0
    stack: list[_Frame] = field(default_factory=list)
    stuck: set[tuple[int, int]] = field(default_factory=set)

    def run(self) -> None:
        """Empty the folder ``fd`` is open on, depth first. Raises ``OSError`` (such as
        ``TreeChanged``) when the tree moves or a folder cannot be read."""
        info = os.fstat(self.fd)
        self.device = info.st_dev
        self.stack = [_Frame("", _identity(info))]
        _make_writable(self.fd, info, take_over=self.take_over)
        while self.stack:
            if not self._enter_next_subfolder():
                self._leave()

    def _enter_next_subfolder(self) -> bool:
        """Unlink this folder's other entries and enter its first subfolder not known to be
        stuck; False when there is none."""
        for name, info in _entries(self.fd):
            if not stat.S_ISDIR(info.st_mode):
                with contextlib.suppress(OSError):
                    _unlink(self.fd, name, take_over=self.take_over)
            elif _identity(info) not in self.stuck and self._enter(name, info):
                return True
        return False

    def _enter(self, name: str, info: os.stat_result) -> bool:
        child = _open_child(self.fd, name, self.device, take_over=self.take_over)
        if child is None:
            self.stuck.add(_identity(info))
            return False
        os.close(self.fd)
        self.fd = child
        self.stack.append(_Frame(name, _identity(os.fstat(child))))
        return True

    def _leave(self) -> None:
        """This folder is as empty as it can be made: climb to its parent, remove it there."""
        done = self.stack.pop()
        if not self.stack:
            return
        parent = _climb(self.fd, self.stack[-1].identity)
        os.close(self.fd)
        self.fd = parent
        try:
            os.rmdir(done.name, dir_fd=self.fd)
        except OSError:
            self.stuck.add(done.identity)


def _remove_entry(path: str | os.PathLike[str], error: OSError) -> bool:
    """``path`` could not be opened as a folder: a link or a file is unlinked (True when it
    is gone); a folder that stays unreadable stays."""
    if error.errno not in (errno.ELOOP, errno.ENOTDIR):
        return False
    with contextlib.suppress(OSError):
        os.unlink(path)
    return not os.path.lexists(path)


def remove_tree(path: str | os.PathLike[str]) -> bool:
    """Delete ``path`` and everything under it, without following links; True when it is
    gone. What cannot be removed (a mount point, a file of another owner) is left in place,
    and removal of everything else goes on. A host that is not root takes back the folders,
    ``path`` included, that their owner locked."""
    take_over = os.geteuid() != 0
    try:
        fd = _open_dir(path, None, take_over=take_over)
    except FileNotFoundError:
        return True
    except OSError as exc:
        return _remove_entry(path, exc)
    removal = _Removal(fd, take_over)
    try:
        removal.run()
    except OSError:
        pass  # TreeChanged, or a folder became unreadable: what is removed stays removed
    finally:
        os.close(removal.fd)
    with contextlib.suppress(OSError):
        os.rmdir(path)
    return not os.path.lexists(path)
