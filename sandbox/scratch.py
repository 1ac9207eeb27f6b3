"""The one host directory a sandbox may write: created per run or session, removed after.

Its contents are written by untrusted code, so the host side never follows a link in it:
listing uses lstat, reading walks the path with O_NOFOLLOW, removal uses rmtree's fd-based
walk (which does not follow links either).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import PurePosixPath

from hanlin.sandbox.config import SANDBOX_GID, SANDBOX_UID, FileInfo, SandboxError

DEFAULT_ROOT = "/tmp/hanlin-sandbox"
MAX_LISTED_FILES = 1000


def _safe_relative(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if not name or "\x00" in name or path.is_absolute() or ".." in path.parts:
        raise ValueError(f"file name must be a relative path inside the scratch dir: {name!r}")
    if path.parts in ((), (".",)):
        raise ValueError(f"file name is empty: {name!r}")
    return path


class Scratch:
    """A private working directory owned by the sandbox uid."""

    def __init__(self, root: str | None = None) -> None:
        root = root or os.environ.get("HANLIN_SANDBOX_ROOT", DEFAULT_ROOT)
        os.makedirs(root, mode=0o711, exist_ok=True)
        info = os.lstat(root)
        # In a shared /tmp someone else could have made this path first (or a link there).
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
            raise SandboxError(
                f"scratch root {root} must be a directory owned by uid {os.geteuid()} "
                "and writable by nobody else"
            )
        self.path = tempfile.mkdtemp(prefix="s-", dir=root)
        self._owned_by_sandbox = os.geteuid() == 0
        if self._owned_by_sandbox:
            # Group root, so bwrap (root without capabilities) can enter it to chdir there.
            os.chown(self.path, SANDBOX_UID, 0)
        os.chmod(self.path, 0o770)

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
            with open(target, "wb") as handle:
                handle.write(content)
            self._chown(target)

    def list_files(self) -> list[FileInfo]:
        """Regular files under the scratch dir with their sizes (links are not followed)."""
        found: list[FileInfo] = []
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

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def regular_files(root: str | os.PathLike[str]) -> Iterator[tuple[str, int]]:
    """(relative path, size) of the regular files under ``root``, sorted; links not followed."""
    for directory, dirs, names in os.walk(root, followlinks=False):
        dirs.sort()
        for name in sorted(names):
            full = os.path.join(directory, name)
            try:
                info = os.lstat(full)
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                yield os.path.relpath(full, root), info.st_size
