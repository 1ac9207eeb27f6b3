"""MCP servers as a tool source: a real server (tests/data/mcp/demo_server.py) in a subprocess."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import mcp_types as types
import pytest
from pydantic import ValidationError
from tests_support import free_port

from hanlin.agents.agent import Agent
from hanlin.llm.messages import ToolCall, ToolMessage
from hanlin.llm.scripted import ScriptedModel, call
from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.runtime.runner import Runner
from hanlin.tools.mcp_source import (
    INHERITED_VARIABLES,
    McpError,
    McpServer,
    McpStartupError,
    McpToolSource,
    content_text,
    tool_name,
)
from hanlin.tools.registry import ToolRegistry, ToolResult

DEMO = Path(__file__).parent / "data" / "mcp" / "demo_server.py"
PIXEL_PNG_BYTES = 70  # the size of demo_server.PIXEL_PNG


def demo_config(**changes: object) -> McpServer:
    return McpServer(command=sys.executable, args=[str(DEMO)], **changes)  # type: ignore[arg-type]


@pytest.fixture
async def source() -> AsyncIterator[McpToolSource]:
    async with McpToolSource(demo_config(call_timeout=5.0)) as opened:
        yield opened


async def run(registry: ToolRegistry, tool_name: str, /, **arguments: object) -> ToolResult:
    return await registry.execute(
        ToolCall(id=f"call-{tool_name}", name=tool_name, arguments=arguments)
    )


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def wait_gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while process_exists(pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return not process_exists(pid)


async def test_tools_are_listed_with_their_schemas_as_tool_specs(source: McpToolSource) -> None:
    specs = {tool.name: tool.spec for tool in source.tools}
    assert {
        "add",
        "echo",
        "search",
        "fail",
        "slow",
        "crash",
        "picture",
        "environment",
        "calls_served",
        "process_id",
    } <= set(specs)
    assert specs["add"].description == "Add two integers."
    assert specs["add"].parameters == {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    }
    search = specs["search"].parameters
    assert search["required"] == ["query"]
    assert search["properties"]["mode"] == {
        "default": "fast",
        "enum": ["fast", "exact"],
        "type": "string",
    }
    window = search["properties"]["window"]["anyOf"][0]  # the $ref to $defs, inlined
    assert window["required"] == ["start", "end"]
    assert window["properties"]["start"] == {
        "description": "First day.",
        "minimum": 0,
        "type": "integer",
    }
    assert "$defs" not in search and "title" not in search
    registry = ToolRegistry(source.tools)
    assert [spec.name for spec in registry.specs()] == [tool.name for tool in source.tools]


async def test_calls_through_the_registry_return_exact_results(source: McpToolSource) -> None:
    registry = ToolRegistry(source.tools)
    assert (await run(registry, "add", a=2, b=3)).content == "5"
    assert (await run(registry, "echo", text="héllo, 世界")).content == "héllo, 世界"
    searched = await run(
        registry, "search", query="q", mode="exact", tags=["a", "b"], window={"start": 1, "end": 7}
    )
    assert searched.content == "q|exact|5|a,b|1-7"
    # Optional arguments left out reach the server as absent, so its defaults apply.
    assert (await run(registry, "search", query="q")).content == "q|fast|5||all"
    picture = await run(registry, "picture")
    assert not picture.is_error
    assert picture.content == f"one pixel\n[image: image/png, {PIXEL_PNG_BYTES} bytes]"


@pytest.mark.parametrize(
    ("arguments", "kind"),
    [
        ({"a": "two", "b": 3}, ToolErrorKind.INVALID_VALUE),
        ({"a": 2}, ToolErrorKind.MISSING_PARAMETER),
        ({"a": 2, "b": 3, "c": 4}, ToolErrorKind.HALLUCINATED_PARAMETER),
    ],
)
async def test_invalid_arguments_never_reach_the_server(
    source: McpToolSource, arguments: dict[str, object], kind: ToolErrorKind
) -> None:
    registry = ToolRegistry(source.tools)
    result = await registry.execute(ToolCall(id="c1", name="add", arguments=arguments))
    assert result.is_error and result.error is not None
    assert result.error.kind is kind
    bad_enum = await run(registry, "search", query="q", mode="slowly")
    assert bad_enum.error is not None and bad_enum.error.kind is ToolErrorKind.INVALID_VALUE
    assert bad_enum.error.options == ["fast", "exact"]
    bad_nested = await run(registry, "search", query="q", window={"start": -1, "end": 2})
    assert bad_nested.error is not None and bad_nested.error.kind is ToolErrorKind.INVALID_VALUE
    assert "window.start" in bad_nested.content
    assert (await run(registry, "calls_served")).content == "0"


async def test_a_failing_tool_is_reported_as_raised_with_the_servers_message(
    source: McpToolSource,
) -> None:
    registry = ToolRegistry(source.tools)
    result = await run(registry, "fail", reason="the disk is full")
    assert result.error is not None and result.error.kind is ToolErrorKind.TOOL_RAISED
    assert "the disk is full" in result.content
    assert (await run(registry, "add", a=1, b=1)).content == "2"


async def test_a_slow_call_times_out_and_the_server_keeps_serving() -> None:
    async with McpToolSource(demo_config(call_timeout=0.5)) as source:
        registry = ToolRegistry(source.tools)
        started = time.perf_counter()
        result = await run(registry, "slow", seconds=10)
        assert result.error is not None and result.error.kind is ToolErrorKind.TIMED_OUT
        assert time.perf_counter() - started < 2.0
        assert (await run(registry, "add", a=20, b=22)).content == "42"
        assert source.restarts == 0


async def test_calls_run_concurrently_on_one_server(source: McpToolSource) -> None:
    registry = ToolRegistry(source.tools)
    calls = [ToolCall(id=f"s{i}", name="slow", arguments={"seconds": 0.5}) for i in range(4)]
    calls.append(ToolCall(id="a", name="add", arguments={"a": 1, "b": 2}))
    started = time.perf_counter()
    results = await registry.execute_many(calls)
    assert [r.content for r in results] == ["slept 0.5"] * 4 + ["3"]
    assert time.perf_counter() - started < 1.5  # one after another would take 2 s


async def test_a_crash_fails_that_call_clearly_and_the_next_call_restarts_the_server(
    source: McpToolSource,
) -> None:
    registry = ToolRegistry(source.tools)
    first_pid = int((await run(registry, "process_id")).content)
    crashed = await run(registry, "crash")
    assert crashed.error is not None and crashed.error.kind is ToolErrorKind.TOOL_RAISED
    assert "stopped during the call" in crashed.content
    assert "started again on the next call" in crashed.content
    assert "demo server: crashing on request" in crashed.content  # its stderr
    assert str(DEMO) in crashed.content  # names the command
    second_pid = int((await run(registry, "process_id")).content)
    assert second_pid != first_pid
    assert (await run(registry, "add", a=2, b=3)).content == "5"
    assert source.restarts == 1
    assert await wait_gone(first_pid)


async def test_the_server_gets_only_the_environment_it_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HANLIN_TEST_SECRET", "do-not-leak")
    monkeypatch.setenv("USER", "someone")
    async with McpToolSource(demo_config(env={"DEMO_SETTING": "on"})) as source:
        registry = ToolRegistry(source.tools)

        async def seen(name: str) -> str:
            return (await run(registry, "environment", name=name)).content

        assert await seen("HANLIN_TEST_SECRET") == "(unset)"
        assert await seen("USER") == "(unset)"
        assert await seen("DEMO_SETTING") == "on"
        assert await seen("PATH") == os.environ["PATH"]
        names = set((await run(registry, "environment_names")).content.split(","))
        # Python adds LC_CTYPE itself when the locale is C (PEP 538); nothing else may appear.
        expected = {"DEMO_SETTING"} | {key for key in INHERITED_VARIABLES if key in os.environ}
        assert names - {"LC_CTYPE"} == expected


async def test_the_server_process_stops_when_the_source_closes() -> None:
    async with McpToolSource(demo_config()) as source:
        pid = int((await run(ToolRegistry(source.tools), "process_id")).content)
        assert process_exists(pid)
    assert await wait_gone(pid)


async def test_a_missing_command_gives_a_clear_startup_error() -> None:
    with pytest.raises(McpStartupError, match=r"command 'no-such-mcp-server' was not found"):
        async with McpToolSource(McpServer(command="no-such-mcp-server", args=["--x"])):
            pass


async def test_a_server_that_exits_at_startup_reports_its_stderr() -> None:
    script = "import sys; sys.stderr.write('config file missing\\n'); sys.exit(2)"
    config = McpServer(command=sys.executable, args=["-c", script])
    with pytest.raises(McpStartupError) as failure:
        async with McpToolSource(config):
            pass
    message = str(failure.value)
    assert "failed to start" in message and sys.executable in message
    assert "config file missing" in message


async def test_a_server_that_never_answers_times_out_at_startup() -> None:
    config = McpServer(
        command=sys.executable, args=["-c", "import time; time.sleep(60)"], startup_timeout=1.0
    )
    started = time.perf_counter()
    with pytest.raises(McpStartupError, match="did not complete the handshake within 1 s"):
        async with McpToolSource(config):
            pass
    assert time.perf_counter() - started < 10


async def test_prefix_include_and_toolkit() -> None:
    async with McpToolSource(
        demo_config(prefix="demo_", include=["add", "echo"], name="demo")
    ) as source:
        kit = source.toolkit()
        assert kit.name == "demo" and kit.names() == ["demo_add", "demo_echo"]
        registry = ToolRegistry([kit])
        assert registry.toolkits() == ["demo"]
        assert (await run(registry, "demo_add", a=1, b=2)).content == "3"
    with pytest.raises(McpError, match="no tool named 'nope'"):
        async with McpToolSource(demo_config(include=["add", "nope"])):
            pass


def test_content_blocks_become_text_and_binary_is_only_summarized() -> None:
    result = types.CallToolResult(
        content=[
            types.TextContent(text="first"),
            types.AudioContent(data="AAAAAAAA", mime_type="audio/wav"),  # 6 bytes
            types.ResourceLink(
                uri="file:///tmp/report.pdf", name="report", mime_type="application/pdf"
            ),
            types.EmbeddedResource(
                resource=types.TextResourceContents(uri="memo://1", text="the memo")
            ),
            types.EmbeddedResource(
                resource=types.BlobResourceContents(
                    uri="blob://1", blob="AAA=", mime_type="application/zip"
                )
            ),  # 2 bytes
        ]
    )
    assert content_text(result) == (
        "first\n[audio: audio/wav, 6 bytes]\n[resource: file:///tmp/report.pdf, "
        "application/pdf]\n[resource: memo://1]\nthe memo\n"
        "[resource: blob://1, application/zip, 2 bytes]"
    )
    structured = types.CallToolResult(content=[], structured_content={"total": 3})
    assert content_text(structured) == '{"total":3}'
    assert content_text(types.CallToolResult(content=[])) == "(no output)"


def test_tool_names_follow_the_openai_rule() -> None:
    assert tool_name("fs_", "read.file/v2") == "fs_read_file_v2"
    assert len(tool_name("", "x" * 100)) == 64


def test_the_config_needs_exactly_one_way_to_reach_the_server() -> None:
    with pytest.raises(ValidationError, match="exactly one of"):
        McpServer(command="x", url="http://127.0.0.1:1/mcp")
    with pytest.raises(ValidationError, match="exactly one of"):
        McpServer()
    with pytest.raises(ValidationError, match="invalid environment variable names"):
        McpServer(command="x", env={"A B": "1"})


async def test_a_react_agent_uses_an_mcp_tool_end_to_end(source: McpToolSource) -> None:
    model = ScriptedModel([call("add", "c1", a=2, b=3), "5"])
    agent = Agent(name="a", model=model, tools=source.tools)
    result = await Runner(agent).run("t", "2+3?")
    observation = model.calls[1][-1]
    assert isinstance(observation, ToolMessage)
    assert observation.content == "5" and not observation.is_error
    assert "add" in [spec.name for spec in model.tools_seen[0]]
    assert result.error is None


@pytest.fixture
def http_server() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(DEMO), "http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_a_streamable_http_server(http_server: str) -> None:
    async with McpToolSource(McpServer(url=http_server)) as source:
        registry = ToolRegistry(source.tools)
        assert (await run(registry, "add", a=4, b=5)).content == "9"
        failed = await run(registry, "fail", reason="remote trouble")
        assert failed.error is not None and failed.error.kind is ToolErrorKind.TOOL_RAISED
        assert "remote trouble" in failed.content


async def test_an_unreachable_http_server_gives_a_clear_startup_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    with pytest.raises(McpStartupError, match=f"MCP server `{url}` could not be reached"):
        async with McpToolSource(McpServer(url=url, startup_timeout=5)):
            pass
