"""``read_file``, ``write_file``, ``list_files``: file tools confined to one directory.

By default the directory is the python tool's sandbox scratch folder, so the model can
look at what its code wrote and hand it input files. That folder is writable by untrusted
code, so the host side never follows a link in it: every path is opened component by
component with ``O_NOFOLLOW`` relative to the directory, and writes refuse anything but a
plain file with one name.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, Field

from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.sandbox.scratch import regular_files
from hanlin.tools.builtin.python_tool import PythonTool, SandboxWorkspace
from hanlin.tools.failure import ToolFailure
from hanlin.tools.tool import Tool
from hanlin.tools.toolkit import Toolkit

DEFAULT_READ_CHARS = 6000
MAX_READ_CHARS = 100_000
DEFAULT_MAX_WRITE_BYTES = 1_000_000
MAX_LISTED = 200
MAX_PATH_CHARS = 1024
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_EXAMPLES = "such as 'data.csv' or 'out/report.txt'"


class ScratchFileError(ToolFailure):
    """A path or content the file tools refuse; the message says what is allowed."""

    kind = ToolErrorKind.INVALID_VALUE


def _invalid(message: str) -> ScratchFileError:
    return ScratchFileError(message)


def relative_parts(path: str) -> tuple[str, ...]:
    """The components of a path that must stay inside the directory, or an INVALID_VALUE."""
    if not path.strip():
        raise _invalid(
            f"the path is empty; give a file name relative to the scratch folder, {_EXAMPLES}"
        )
    if "\x00" in path or len(path) > MAX_PATH_CHARS:
        raise _invalid(f"the path must be under {MAX_PATH_CHARS} characters with no NUL")
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts:
        raise _invalid(
            f"{path!r} is outside the scratch folder: give a path relative to it, "
            f"{_EXAMPLES} (no leading '/', no '..')"
        )
    parts = tuple(part for part in pure.parts if part != ".")
    if not parts:
        raise _invalid(f"{path!r} names the scratch folder itself; give a file name, {_EXAMPLES}")
    return parts


def _link_refused(path: str) -> ScratchFileError:
    return _invalid(
        f"{path!r} is, or passes through, a symbolic link; links are not followed. "
        "Give the path of a regular file inside the scratch folder."
    )


class ConfinedDirectory:
    """File access that cannot leave one directory, whatever its contents are."""

    def __init__(self, source: PythonTool | SandboxWorkspace | str | os.PathLike[str]) -> None:
        if isinstance(source, PythonTool):
            source = source.workspace
        self._workspace = source if isinstance(source, SandboxWorkspace) else None
        self._path = None if self._workspace is not None else Path(source)  # type: ignore[arg-type]

    async def root(self) -> Path:
        """The directory (starting the sandbox session if it is the session's scratch)."""
        if self._workspace is not None:
            return await self._workspace.scratch_dir()
        assert self._path is not None
        if not self._path.is_dir():
            raise ToolFailure(f"the file folder {self._path} does not exist on the host")
        return self._path

    def _open_parent(self, root: Path, path: str, parts: tuple[str, ...], *, create: bool) -> int:
        """A descriptor for the directory holding ``parts[-1]``; never follows a link."""
        owner = _owner(root)
        fd = os.open(root, _DIR_FLAGS)
        try:
            for part in parts[:-1]:
                if create:
                    try:
                        os.mkdir(part, 0o755, dir_fd=fd)
                        if owner:
                            os.chown(part, *owner, dir_fd=fd, follow_symlinks=False)
                    except FileExistsError:
                        pass
                next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = next_fd
            return fd
        except OSError as exc:
            os.close(fd)
            raise self._explain(exc, path) from None

    def _explain(self, exc: OSError, path: str) -> ToolFailure:
        if exc.errno == errno.ELOOP:
            return _link_refused(path)
        if exc.errno == errno.ENOENT:
            return _invalid(
                f"there is no file {path!r} in the scratch folder; call list_files "
                "to see what is there"
            )
        if exc.errno == errno.ENOTDIR:
            return _invalid(f"{path!r}: a part of the path is a file or a link, not a folder")
        if exc.errno == errno.EISDIR:
            return _invalid(f"{path!r} is a folder, not a file")
        return ToolFailure(f"{path!r}: {os.strerror(exc.errno or 0) or exc}")

    async def read(self, path: str, max_chars: int) -> tuple[bytes, int]:
        """Up to about ``max_chars`` characters' worth of bytes, and the file's full size."""
        parts = relative_parts(path)
        root = await self.root()
        parent = self._open_parent(root, path, parts, create=False)
        try:
            fd = os.open(
                parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=parent
            )
        except OSError as exc:
            raise self._explain(exc, path) from None
        finally:
            os.close(parent)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            what = "a folder; call list_files" if stat.S_ISDIR(info.st_mode) else "not a file"
            raise _invalid(f"{path!r} is {what}")
        with os.fdopen(fd, "rb") as handle:
            return handle.read(4 * max_chars + 4), info.st_size

    async def write(self, path: str, data: bytes) -> None:
        """Create or replace a plain file; refuses links, folders and multiply linked files."""
        parts = relative_parts(path)
        root = await self.root()
        parent = self._open_parent(root, path, parts, create=True)
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
            fd = os.open(parts[-1], flags, 0o644, dir_fd=parent)
        except OSError as exc:
            raise self._explain(exc, path) from None
        finally:
            os.close(parent)
        with os.fdopen(fd, "wb") as handle:
            info = os.fstat(handle.fileno())
            # Checked on the open file, before truncating: a hard link could point elsewhere.
            if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
                raise _invalid(
                    f"{path!r} exists and is not a plain file with a single name; "
                    "write to another path"
                )
            owner = _owner(root)
            if owner:
                os.fchown(handle.fileno(), *owner)
            handle.truncate(0)
            handle.write(data)

    async def files(self) -> list[tuple[str, int]]:
        """Regular files under the directory with their sizes, links not followed."""
        root = await self.root()
        return list(regular_files(root))


def _owner(root: Path) -> tuple[int, int] | None:
    """Who new entries should belong to: the directory's owner (the sandbox user), so code
    in the sandbox can change them as it can its own files. ``None``: leave them as made."""
    info = os.stat(root, follow_symlinks=False)
    if os.geteuid() == 0 and info.st_uid != 0:
        return info.st_uid, info.st_gid
    return None


def _looks_binary(data: bytes) -> bool:
    if b"\x00" in data[:8192]:
        return True
    try:
        data[:8192].decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(data[:8192]) - 4  # a character cut at the end is fine
    return False


class ReadArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="File path relative to the scratch folder, e.g. 'out.csv'.")
    max_chars: int = Field(
        DEFAULT_READ_CHARS,
        ge=1,
        le=MAX_READ_CHARS,
        description="Show at most this many characters.",
    )


class WriteArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(
        description="File path relative to the scratch folder, e.g. 'input.txt'. "
        "Folders are created as needed; an existing file is replaced."
    )
    content: str = Field(description="The complete text to write (UTF-8).")


class ReadFileTool(Tool):
    """Read a text file from the scratch folder shared with the python tool."""

    name = "read_file"
    Args = ReadArgs

    def __init__(self, directory: ConfinedDirectory) -> None:
        self.directory = directory

    async def run(self, args: ReadArgs) -> str:
        data, size = await self.directory.read(args.path, args.max_chars)
        if _looks_binary(data):
            return (
                f"[{args.path} is a binary file of {size} bytes; inspect it with the python tool]"
            )
        text = data.decode("utf-8", errors="replace")
        if len(text) > args.max_chars or len(data) < size:
            shown = text[: args.max_chars]
            return (
                f"{shown}\n[truncated: showed the first {len(shown)} characters of a "
                f"{size}-byte file; pass a larger max_chars or use python to read parts]"
            )
        return text


class WriteFileTool(Tool):
    """Write a text file into the scratch folder shared with the python tool."""

    name = "write_file"
    Args = WriteArgs

    def __init__(self, directory: ConfinedDirectory, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes

    async def run(self, args: WriteArgs) -> str:
        data = args.content.encode("utf-8")
        if len(data) > self.max_bytes:
            raise _invalid(
                f"the content is {len(data)} bytes; at most {self.max_bytes} bytes "
                "can be written at once (generate large files with python instead)"
            )
        await self.directory.write(args.path, data)
        return f"wrote {len(data)} bytes to {'/'.join(relative_parts(args.path))}"


class ListFilesTool(Tool):
    """List the files in the scratch folder shared with the python tool, with sizes."""

    name = "list_files"

    def __init__(self, directory: ConfinedDirectory) -> None:
        self.directory = directory

    async def run(self, args: BaseModel) -> str:
        found = await self.directory.files()
        if not found:
            return "(the scratch folder is empty)"
        lines = [f"{path}\t{size} bytes" for path, size in found[:MAX_LISTED]]
        if len(found) > MAX_LISTED:
            lines.append(f"[{len(found) - MAX_LISTED} more files not shown]")
        return "\n".join(lines)


class ScratchFiles(Toolkit):
    """``read_file``, ``write_file`` and ``list_files`` over one directory, as a toolkit.

    ``source`` is a ``PythonTool`` or ``SandboxWorkspace`` (its sandbox scratch folder,
    started on first use) or a plain directory path.
    """

    def __init__(
        self,
        source: PythonTool | SandboxWorkspace | str | os.PathLike[str],
        *,
        max_write_bytes: int = DEFAULT_MAX_WRITE_BYTES,
        name: str = "scratch_files",
    ) -> None:
        if max_write_bytes < 1:
            raise ValueError(f"max_write_bytes must be positive, got {max_write_bytes}")
        self.directory = ConfinedDirectory(source)
        super().__init__(
            name,
            [
                ReadFileTool(self.directory),
                WriteFileTool(self.directory, max_write_bytes),
                ListFilesTool(self.directory),
            ],
            description="Read, write and list files in the sandbox scratch folder.",
        )
