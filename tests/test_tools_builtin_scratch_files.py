"""read_file / write_file / list_files over the python tool's real sandbox scratch folder."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hanlin.llm.messages import ToolCall
from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.sandbox import Limits
from hanlin.tools import ToolRegistry
from hanlin.tools.builtin import PythonTool, ScratchFiles
from hanlin.tools.registry import ToolResult


@pytest.fixture
async def python() -> AsyncIterator[PythonTool]:
    tool = PythonTool(limits=Limits(timeout_s=5))
    yield tool
    await tool.aclose()


@pytest.fixture
def registry(python: PythonTool) -> ToolRegistry:
    return ToolRegistry([python, ScratchFiles(python, max_write_bytes=1000)])


async def call(registry: ToolRegistry, name: str, **arguments: object) -> ToolResult:
    return await registry.execute(ToolCall(id="c", name=name, arguments=dict(arguments)))


async def ok(registry: ToolRegistry, name: str, **arguments: object) -> str:
    result = await call(registry, name, **arguments)
    assert not result.is_error, result.content
    return result.content


async def refused(registry: ToolRegistry, name: str, **arguments: object) -> str:
    result = await call(registry, name, **arguments)
    assert result.is_error and result.error is not None, result.content
    assert result.error.kind is ToolErrorKind.INVALID_VALUE, result.content
    return result.content


async def test_files_written_by_python_are_listed_and_read(registry: ToolRegistry) -> None:
    await ok(
        registry,
        "python",
        code=(
            "import os, csv\nos.makedirs('out', exist_ok=True)\n"
            "with open('out/table.csv', 'w', newline='') as f:\n"
            "    csv.writer(f).writerows([['n', 'square'], *[[i, i * i] for i in range(3)]])\n"
            "open('notes.txt', 'w').write('héllo')"
        ),
    )
    assert await ok(registry, "list_files") == "notes.txt\t6 bytes\nout/table.csv\t25 bytes"
    assert (
        await ok(registry, "read_file", path="out/table.csv") == "n,square\r\n0,0\r\n1,1\r\n2,4\r\n"
    )
    assert await ok(registry, "read_file", path="./notes.txt") == "héllo"
    cut = await ok(registry, "read_file", path="out/table.csv", max_chars=8)
    assert cut == (
        "n,square\n[truncated: showed the first 8 characters of a 25-byte file; "
        "pass a larger max_chars or use python to read parts]"
    )


async def test_files_written_by_the_tool_are_usable_by_python(
    registry: ToolRegistry, python: PythonTool
) -> None:
    assert (
        await ok(registry, "write_file", path="in/data.txt", content="3\n4\n")
        == "wrote 4 bytes to in/data.txt"
    )
    total = await ok(
        registry,
        "python",
        code=(
            "numbers = [int(x) for x in open('in/data.txt')]\n"
            "open('in/data.txt', 'a').write('5\\n')\n"  # the sandbox user may change it
            "sum(numbers)"
        ),
    )
    assert total == "7"
    assert await ok(registry, "read_file", path="in/data.txt") == "3\n4\n5\n"
    scratch = await python.workspace.scratch_dir()
    if os.geteuid() == 0:  # new entries belong to the sandbox user, as its own files do
        assert (scratch / "in" / "data.txt").stat().st_uid == scratch.stat().st_uid != 0
    assert (
        await ok(registry, "write_file", path="in/data.txt", content="replaced")
        == "wrote 8 bytes to in/data.txt"
    )
    assert await ok(registry, "python", code="open('in/data.txt').read()") == "'replaced'"


async def test_paths_outside_the_folder_are_refused(registry: ToolRegistry) -> None:
    for name, arguments in [
        ("read_file", {"path": "/etc/passwd"}),
        ("read_file", {"path": "../../etc/passwd"}),
        ("read_file", {"path": "a/../../x"}),
        ("write_file", {"path": "/tmp/escape.txt", "content": "x"}),
        ("write_file", {"path": "../escape.txt", "content": "x"}),
    ]:
        text = await refused(registry, name, **arguments)
        assert "relative to" in text and "no leading '/', no '..'" in text
    assert "names the scratch folder itself" in await refused(registry, "read_file", path=".")
    assert "empty" in await refused(registry, "write_file", path=" ", content="x")
    assert not Path("/tmp/escape.txt").exists()


async def test_links_planted_by_sandboxed_code_are_not_followed(
    registry: ToolRegistry, tmp_path: Path
) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("host secret")
    os.chmod(tmp_path, 0o755)
    await ok(
        registry,
        "python",
        code=(
            "import os\n"
            f"os.symlink({str(outside)!r}, 'file_link')\n"
            f"os.symlink({str(tmp_path)!r}, 'dir_link')\n"
            "open('real.txt', 'w').write('mine')\n"
            "os.link('real.txt', 'hard_link')"
        ),
    )
    for path in ("file_link", "dir_link/secret.txt"):
        text = await refused(registry, "read_file", path=path)
        assert "host secret" not in text and "link" in text
    for path in ("file_link", "dir_link/new.txt"):
        assert "link" in await refused(registry, "write_file", path=path, content="overwritten")
    assert "single name" in await refused(registry, "write_file", path="hard_link", content="x")
    assert outside.read_text() == "host secret" and not (tmp_path / "new.txt").exists()
    assert "file_link" not in await ok(registry, "list_files")  # links are not listed


async def test_oversize_missing_and_binary_files(registry: ToolRegistry) -> None:
    text = await refused(registry, "write_file", path="big.txt", content="x" * 1001)
    assert "1001 bytes; at most 1000 bytes" in text
    assert "call list_files" in await refused(registry, "read_file", path="nope.txt")
    await ok(
        registry,
        "python",
        code="import os\nos.mkdir('folder')\nopen('blob.bin', 'wb').write(bytes(range(256)))",
    )
    assert "is a folder" in await refused(registry, "read_file", path="folder")
    assert (
        await ok(registry, "read_file", path="blob.bin")
        == "[blob.bin is a binary file of 256 bytes; inspect it with the python tool]"
    )


async def test_a_plain_directory_can_be_the_folder(tmp_path: Path) -> None:
    registry = ToolRegistry([ScratchFiles(tmp_path)])
    assert await ok(registry, "list_files") == "(the scratch folder is empty)"
    await ok(registry, "write_file", path="a/b.txt", content="hi")
    assert (tmp_path / "a" / "b.txt").read_text() == "hi"
    assert await ok(registry, "read_file", path="a/b.txt") == "hi"
    assert ToolRegistry([ScratchFiles(tmp_path)]).toolkits() == ["scratch_files"]
