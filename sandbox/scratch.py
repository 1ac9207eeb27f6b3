"""The one host directory a sandbox may write: created per run or session, removed after.

Its contents are written by untrusted code, so the host side never follows a link in it:
listing and removal walk it iteratively, descriptor by descriptor, with O_NOFOLLOW
(``tree.py``), and reading walks the path the same way. It holds at most ``Limits.scratch_mb``
and ``Limits.scratch_files``: where the host may mount, it is its own size- and inode-limited
tmpfs (writes past the quota fail with ENOSPC inside; the host's disk is never touched), and
the sandbox's private ``/tmp`` is a second one; elsewhere a ``UsageWatch`` kills the sandbox
once the folder is over its quota.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Literal

from hanlin.sandbox import tmpfs
from hanlin.sandbox.config import (
    SANDBOX_GID,
    SANDBOX_UID,
    FileInfo,
    Limits,
    SandboxError,
)
from hanlin.sandbox.tree import remove_tree, walk

DEFAULT_ROOT = "/tmp/hanlin-sandbox"
MAX_LISTED_FILES = 1000
# "auto": a tmpfs where the host may mount, else the watch; "tmpfs" or "watch" to insist.
QUOTA_ENV = "HANLIN_SANDBOX_SCRATCH_QUOTA"
QuotaKind = Literal["tmpfs", "watch"]
_MIB = 1024 * 1024
# Scratch dirs not removed yet: whatever a caller forgot to close goes when the process exits
# (a mount left behind would hold its files in memory until someone unmounts it).
_LIVE: set[Scratch] = set()


@atexit.register
def _remove_forgotten() -> None:
    for scratch in list(_LIVE):
        scratch.remove()


def _safe_relative(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if not name or "\x00" in name or path.is_absolute() or ".." in path.parts:
        raise ValueError(f"file name must be a relative path inside the scratch dir: {name!r}")
    if path.parts in ((), (".",)):
        raise ValueError(f"file name is empty: {name!r}")
    return path


def _printable(name: str) -> str:
    """A file name as valid UTF-8 (bytes that are not UTF-8 shown as \\xNN escapes)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _quota_kind() -> str:
    kind = os.environ.get(QUOTA_ENV, "auto")
    if kind not in ("auto", "tmpfs", "watch"):
        raise SandboxError(f"{QUOTA_ENV} must be auto, tmpfs or watch, not {kind!r}")
    return kind


class Scratch:
    """A private working directory owned by the sandbox uid, with a quota.

    On the host: ``<root>/s-XXXX/files`` is the scratch dir (``path``, the sandbox's
    ``/sandbox``), ``<root>/s-XXXX/tmp`` the sandbox's ``/tmp`` (``tmp_path``; only with a
    tmpfs quota, else bwrap makes its own).
    """

    def __init__(self, root: str | None = None, *, limits: Limits | None = None) -> None:
        limits = limits or Limits()
        kind = _quota_kind()
        root = root or os.environ.get("HANLIN_SANDBOX_ROOT", DEFAULT_ROOT)
        os.makedirs(root, mode=0o711, exist_ok=True)
        info = os.lstat(root)
        # In a shared /tmp someone else could have made this path first (or a link there).
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
            raise SandboxError(
                f"scratch root {root} must be a directory owned by uid {os.geteuid()} "
                "and writable by nobody else"
            )
        self.max_bytes = limits.scratch_mb * _MIB
        self.max_entries = limits.scratch_files
        self.base = tempfile.mkdtemp(prefix="s-", dir=root)
        os.chmod(self.base, 0o711)  # the Landlock sandbox reaches its folder by this path
        self.path = os.path.join(self.base, "files")
        self.tmp_path: str | None = None
        self._mounts: list[str] = []
        self._owned_by_sandbox = os.geteuid() == 0
        os.mkdir(self.path, 0o700)
        try:
            self.quota: QuotaKind = self._set_up(kind, limits)
        except BaseException:
            self.remove()
            raise
        _LIVE.add(self)

    def _set_up(self, kind: str, limits: Limits) -> QuotaKind:
        # Group root, so bwrap (root without capabilities) can enter it to chdir there.
        uid, gid = (SANDBOX_UID, 0) if self._owned_by_sandbox else (os.geteuid(), os.getegid())
        if kind != "watch":
            try:
                tmpfs.mount_tmpfs(
                    self.path,
                    size_bytes=self.max_bytes,
                    inodes=self.max_entries,
                    mode=0o770,
                    uid=uid,
                    gid=gid,
                )
            except OSError as exc:
                if kind == "tmpfs":
                    raise SandboxError(f"cannot give the scratch dir a tmpfs quota: {exc}") from exc
            else:
                self._mounts.append(self.path)
                tmp_path = os.path.join(self.base, "tmp")
                os.mkdir(tmp_path, 0o700)
                tmpfs.mount_tmpfs(
                    tmp_path,
                    size_bytes=limits.tmp_mb * _MIB,
                    inodes=self.max_entries,
                    mode=0o1777,
                    uid=0,
                    gid=0,
                )
                self._mounts.append(tmp_path)
                self.tmp_path = tmp_path
                return "tmpfs"
        os.chown(self.path, uid, gid)
        os.chmod(self.path, 0o770)
        return "watch"

    def _chown(self, path: str) -> None:
        if self._owned_by_sandbox:
            os.chown(path, SANDBOX_UID, SANDBOX_GID, follow_symlinks=False)

    def write_files(self, files: dict[str, bytes]) -> None:
        """Place input files before the sandbox starts (so nothing can race these writes)."""
        for name, content in files.items():
            relative = _safe_relative(name)
            if not isinstance(content, bytes | bytearray):
                raise TypeError(f"content of {name!r} must be bytes, not {type(content).__name__}")
            target = os.path.join(self.path, *relative.parts)
            directory = self.path
            for part in relative.parts[:-1]:
                directory = os.path.join(directory, part)
                if not os.path.isdir(directory):
                    os.mkdir(directory, 0o755)
                    self._chown(directory)
            try:
                with open(target, "wb") as handle:
                    handle.write(content)
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise ValueError(
                        f"the input files do not fit the scratch dir's quota of "
                        f"{self.max_bytes // _MIB} MB and {self.max_entries} files"
                    ) from None
                raise
            self._chown(target)

    def list_files(self) -> list[FileInfo]:
        """Regular files under the scratch dir with their sizes, links not followed; the
        first ``MAX_LISTED_FILES``, and what could be read if the tree changed meanwhile."""
        found: list[FileInfo] = []
        with contextlib.suppress(OSError):
            for path, size in regular_files(self.path):
                found.append(FileInfo(path=path, size=size))
                if len(found) >= MAX_LISTED_FILES:
                    break
        return found

    def read_file(self, name: str, max_bytes: int = 64 * 1024 * 1024) -> bytes:
        """A file's content, refusing links anywhere on the path and files over `max_bytes`."""
        relative = _safe_relative(name)
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(self.path, flags | os.O_DIRECTORY)
        try:
            for part in relative.parts[:-1]:
                next_fd = os.open(part, flags | os.O_DIRECTORY, dir_fd=fd)
                os.close(fd)
                fd = next_fd
            file_fd = os.open(relative.parts[-1], flags | os.O_NONBLOCK, dir_fd=fd)
        finally:
            os.close(fd)
        with os.fdopen(file_fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise ValueError(f"{name!r} is not a regular file")
            data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise ValueError(f"{name!r} is larger than {max_bytes} bytes")
        return data

    def clear(self) -> None:
        """Delete everything in the scratch dir (the dir itself stays)."""
        try:
            with os.scandir(self.path) as entries:
                names = [entry.name for entry in entries]
        except OSError:
            return
        for name in names:
            remove_tree(os.path.join(self.path, name))

    def remove(self) -> None:
        """Unmount and delete everything; never raises, whatever the sandbox left there."""
        _LIVE.discard(self)
        for mount in reversed(self._mounts):
            with contextlib.suppress(OSError):
                tmpfs.unmount(mount)
        self._mounts.clear()
        remove_tree(self.base)


def regular_files(root: str | os.PathLike[str]) -> Iterator[tuple[str, int]]:
    """(relative path, size) of the regular files under ``root``, each folder's files by
    name before its subfolders; links are not followed, and any depth is fine. Names that
    are not UTF-8 come with their odd bytes escaped."""
    for entry in walk(root):
        if stat.S_ISREG(entry.info.st_mode):
            yield _printable(entry.path), entry.info.st_size
