"""Tools from MCP (Model Context Protocol) servers, through the official ``mcp`` SDK.

``async with McpToolSource(McpServer(command="...")) as source`` starts the server (stdio) or
connects to it (streamable HTTP, ``url=``), lists its tools and offers each as a hanlin
``Tool``: arguments are validated by the registry against a model built from the tool's
``inputSchema``, results come back as text. A stdio server gets only the environment it is
given (plus PATH, HOME, LANG), so secrets of the host process never reach it. A server that
dies is started again on the next call; the call it died in fails with a clear error.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shlex
import shutil
import sys
import tempfile
import warnings
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Self, TextIO, cast

import httpx2
import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.client.stdio import DEFAULT_INHERITED_ENV_VARS, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel, ConfigDict, Field, model_validator

from hanlin import __version__
from hanlin.llm.chat_model import ToolSpec
from hanlin.tools.json_schema_model import (
    DEFAULT_LIMITS,
    SchemaBatch,
    args_model_from_schema,
    dump_arguments,
    parameters_schema,
)
from hanlin.tools.tool import Tool
from hanlin.tools.toolkit import Toolkit

logger = logging.getLogger(__name__)

INHERITED_VARIABLES = ("PATH", "HOME", "LANG")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STDERR_TAIL_CHARS = 2000


class McpServer(BaseModel):
    """One MCP server: a ``command`` to start (stdio) or a ``url`` (streamable HTTP).

    ``env`` is a started server's whole environment, besides PATH, HOME and LANG from this
    process. ``call_timeout`` becomes each tool's registry timeout; ``prefix`` goes before
    every tool name (to keep servers apart); ``include`` keeps only the named tools.
    """

    model_config = ConfigDict(extra="forbid")

    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: Path | None = None
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    name: str = Field(default="mcp", description="Default toolkit name.")
    prefix: str = ""
    include: list[str] | None = None
    call_timeout: float | None = Field(default=30.0, gt=0)
    startup_timeout: float = Field(default=30.0, gt=0)
    requires_approval: bool = False

    @model_validator(mode="after")
    def _check(self) -> McpServer:
        if (self.command is None) == (self.url is None):
            raise ValueError("give exactly one of `command` (stdio) or `url` (streamable HTTP)")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, got {self.url!r}")
        if self.command is not None and (not self.command.strip() or "=" in self.command):
            raise ValueError(f"invalid command {self.command!r}")
        if bad := [key for key in self.env if not _ENV_NAME.match(key)]:
            raise ValueError(f"invalid environment variable names: {bad}")
        return self

    @property
    def label(self) -> str:
        """The server as a person would name it in an error message."""
        return self.url if self.url is not None else shlex.join([self.command or "", *self.args])

    def environment(self) -> dict[str, str]:
        """Exactly the variables a started server sees."""
        inherited = {key: os.environ[key] for key in INHERITED_VARIABLES if key in os.environ}
        return inherited | self.env


class McpError(RuntimeError):
    """A failure talking to an MCP server."""


class McpStartupError(McpError):
    """The server could not be started or did not complete the MCP handshake."""


class McpConnectionLost(McpError):
    """The server went away during a call; the next call starts or connects it again."""


class McpToolError(McpError):
    """The tool ran on the server and reported an error (``isError``)."""


class McpWarning(UserWarning):
    """A tool of the server could not be offered (its argument schema is unusable)."""


def _decoded_size(data: str) -> int:
    return len(data.strip().rstrip("=")) * 3 // 4


def content_text(result: types.CallToolResult) -> str:
    """A tool result as text: text blocks joined, binary content summarized, never dumped."""
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, types.TextContent):
            parts.append(block.text)
        elif isinstance(block, types.ImageContent | types.AudioContent):
            parts.append(f"[{block.type}: {block.mime_type}, {_decoded_size(block.data)} bytes]")
        elif isinstance(block, types.ResourceLink):
            kind = f", {block.mime_type}" if block.mime_type else ""
            parts.append(f"[resource: {block.uri}{kind}]")
        elif isinstance(block, types.EmbeddedResource):
            resource = block.resource
            if isinstance(resource, types.TextResourceContents):
                parts.append(f"[resource: {resource.uri}]\n{resource.text}")
            else:
                parts.append(
                    f"[resource: {resource.uri}, {resource.mime_type or 'binary'}, "
                    f"{_decoded_size(resource.blob)} bytes]"
                )
    if not parts and result.structured_content is not None:
        return json.dumps(result.structured_content, ensure_ascii=False, separators=(",", ":"))
    return "\n".join(parts) if parts else "(no output)"


def _exception_text(exc: BaseException) -> str:
    """The innermost meaningful message, looking inside exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


_closing: set[asyncio.Task[None]] = set()  # connections stopping after their opener was cancelled


class _Connection:
    """One client session, held open by a task of its own.

    The SDK's transports live in anyio task groups that must be closed by the task that
    opened them; a dedicated task lets any task (a tool call, the source's exit) close it.
    """

    def __init__(self, config: McpServer) -> None:
        self.config = config
        self.client: Client | None = None
        self.stderr: TextIO | None = None
        self._stop = asyncio.Event()
        self._ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done() and not self._stop.is_set()

    def describe_failure(self, what: str) -> str:
        """``what``, followed by the end of the server's stderr when there is any."""
        tail = ""
        if self.stderr is not None and not self.stderr.closed:
            size = self.stderr.seek(0, os.SEEK_END)
            self.stderr.seek(max(0, size - _STDERR_TAIL_CHARS))
            tail = self.stderr.read().strip()
        return f"{what}; stderr: {tail}" if tail else what

    async def open(self) -> None:
        """Start the server and complete the handshake, or raise ``McpStartupError``."""
        config = self.config
        if config.command is not None:
            self._check_command()
            # Closed in close(): it outlives this method, as long as the server runs.
            self.stderr = cast(
                TextIO,
                tempfile.TemporaryFile(  # noqa: SIM115
                    "w+", encoding="utf-8", errors="replace"
                ),
            )
        self._task = asyncio.create_task(self._hold(), name=f"mcp {config.label}")
        failed = "failed to start" if config.command is not None else "could not be reached"
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), config.startup_timeout)
        except TimeoutError:
            message = self.describe_failure(
                f"MCP server `{config.label}` did not complete the "
                f"handshake within {config.startup_timeout:g} s"
            )
            await self.close()
            raise McpStartupError(message) from None
        except asyncio.CancelledError:
            self._stop.set()
            self._task.cancel()  # the SDK's shutdown is shielded: the process is still stopped
            _closing.add(self._task)
            self._task.add_done_callback(_closing.discard)
            raise
        except Exception as exc:
            await asyncio.sleep(0.05)  # let a dying process finish writing its stderr
            message = self.describe_failure(
                f"MCP server `{config.label}` {failed}: {_exception_text(exc)}"
            )
            await self.close()
            raise McpStartupError(message) from exc

    def _check_command(self) -> None:
        """Fail early, and plainly, on what would otherwise surface as a closed pipe."""
        config, command = self.config, self.config.command or ""
        if config.cwd is not None and not config.cwd.is_dir():
            raise McpStartupError(
                f"MCP server `{config.label}`: working directory {str(config.cwd)!r} does not exist"
            )
        path = config.environment().get("PATH", os.defpath)
        if "/" not in command and shutil.which(command, path=path) is None:
            raise McpStartupError(
                f"MCP server `{config.label}`: command {command!r} was not found on PATH={path}"
            )

    def _transport(self, stack: AsyncExitStack) -> Any:
        config = self.config
        if config.url is not None:
            http = httpx2.AsyncClient(
                headers=config.headers, timeout=httpx2.Timeout(30.0, read=300.0)
            )
            stack.push_async_callback(http.aclose)
            return streamable_http_client(config.url, http_client=http)
        # The SDK adds a few variables of this process (USER, SHELL, ...) to the given ones;
        # `env -u` takes them out again. Values travel in the environment, never in argv.
        environment = config.environment()
        unset = [
            arg
            for key in DEFAULT_INHERITED_ENV_VARS
            if key not in environment
            for arg in ("-u", key)
        ]
        params = StdioServerParameters(
            command=shutil.which("env") or "/usr/bin/env",
            args=[*unset, config.command or "", *config.args],
            cwd=config.cwd,
            env=environment,
        )
        return stdio_client(params, errlog=self.stderr or sys.stderr)

    async def _hold(self) -> None:
        try:
            async with AsyncExitStack() as stack:
                transport = self._transport(stack)
                info = types.Implementation(name="hanlin", version=__version__)
                self.client = await stack.enter_async_context(Client(transport, client_info=info))
                if not self._ready.done():
                    self._ready.set_result(None)
                await self._stop.wait()
        except asyncio.CancelledError:
            if not self._ready.done():
                self._ready.cancel()
            raise
        except BaseException as exc:  # noqa: BLE001 - reported to whoever waits
            if not self._ready.done():
                self._ready.set_exception(
                    exc if isinstance(exc, Exception) else McpError(_exception_text(exc))
                )
            else:
                logger.warning(
                    "MCP server %s: connection ended: %s", self.config.label, _exception_text(exc)
                )
        finally:
            self.client = None

    async def close(self) -> None:
        """End the session and stop the server process, whatever state it is in."""
        self._stop.set()
        task = self._task
        if task is not None and not task.done():
            if not self._ready.done():
                task.cancel()  # still in the handshake: nothing to end gracefully
            done, _ = await asyncio.wait({task}, timeout=15.0)
            if not done:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self.stderr is not None:
            self.stderr.close()


class McpTool(Tool):
    """One tool of an MCP server; calls go through its ``McpToolSource``."""

    def __init__(
        self, source: McpToolSource, remote: types.Tool, name: str, batch: SchemaBatch | None = None
    ) -> None:
        self.source = source
        self.remote_name = remote.name
        self.name = name
        self.description = remote.description or remote.title or ""
        self.timeout = source.config.call_timeout
        self.requires_approval = source.config.requires_approval
        batch = batch or SchemaBatch(DEFAULT_LIMITS)
        self.parameters = parameters_schema(remote.input_schema, batch.limits, batch)
        self.Args = args_model_from_schema(
            f"{name}_args",
            self.parameters["properties"],
            self.parameters.get("required", []),
            batch,
        )
        self._spec = ToolSpec(name=name, description=self.description, parameters=self.parameters)
        self._check_definition()

    @property
    def spec(self) -> ToolSpec:
        """The server's own argument schema, with ``$ref`` inlined and titles dropped."""
        return self._spec

    async def run(self, args: BaseModel) -> str:
        return await self.source.call(self.remote_name, dump_arguments(args, self.parameters))


def tool_name(prefix: str, remote_name: str) -> str:
    """A name that follows the OpenAI rule (1-64 of ``[a-zA-Z0-9_-]``)."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", prefix + remote_name)[:64] or "tool"


class McpToolSource:
    """The tools of one MCP server, for as long as the ``async with`` block lasts."""

    def __init__(self, config: McpServer) -> None:
        self.config = config
        self.tools: list[Tool] = []
        self.restarts = 0  # how often the server was started (or connected to) again
        self._connection: _Connection | None = None
        self._opened_once = False
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> Self:
        try:
            self.tools = await self._load_tools(await self._live_connection())
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the server (or end the HTTP session)."""
        async with self._lock:
            if self._connection is not None:
                await self._connection.close()
                self._connection = None

    def toolkit(self, name: str | None = None, description: str = "") -> Toolkit:
        """The server's tools as one toolkit, named after the config unless ``name`` is given."""
        return Toolkit(
            name or self.config.name,
            self.tools,
            description or f"Tools of the MCP server {self.config.label}",
        )

    async def _load_tools(self, connection: _Connection) -> list[Tool]:
        assert connection.client is not None
        remote: list[types.Tool] = []
        cursor: str | None = None
        for _ in range(100):  # a server whose pages never end cannot hang us
            page = await connection.client.list_tools(cursor=cursor)
            remote, cursor = remote + page.tools, page.next_cursor
            if cursor is None:
                break
        wanted = self.config.include
        if wanted is not None:
            known = {t.name for t in remote}
            if missing := [n for n in wanted if n not in known]:
                raise McpError(
                    f"MCP server `{self.config.label}` has no tool named "
                    f"{', '.join(map(repr, missing))}; it has {sorted(known)}"
                )
            remote = [t for t in remote if t.name in wanted]
        tools: dict[str, McpTool] = {}
        batch = SchemaBatch(DEFAULT_LIMITS)  # the server's schemas share one expansion total
        for item in remote:
            name = tool_name(self.config.prefix, item.name)
            if name in tools:
                raise McpError(
                    f"MCP tools {tools[name].remote_name!r} and {item.name!r} both "
                    f"become {name!r}; use `include` to keep one"
                )
            try:
                tools[name] = McpTool(self, item, name, batch)
            except (TypeError, ValueError) as exc:  # InvalidSchema names the JSON pointer
                warnings.warn(
                    f"MCP server `{self.config.label}`: tool {item.name!r} skipped: "
                    f"its argument schema cannot be used ({exc})",
                    McpWarning,
                    stacklevel=2,
                )
        return list(tools.values())

    async def _live_connection(self) -> _Connection:
        """The open connection, starting the server again if it has stopped."""
        async with self._lock:
            current = self._connection
            if current is not None and current.alive:
                return current
            if current is not None:
                await current.close()
                self._connection = None
            connection = _Connection(self.config)
            await connection.open()
            if self._opened_once:
                self.restarts += 1
                logger.info("MCP server %s: started again", self.config.label)
            self._connection, self._opened_once = connection, True
            return connection

    async def call(self, remote_name: str, arguments: dict[str, Any]) -> str:
        """Call a tool by its server-side name; raises ``McpToolError`` on a tool error."""
        connection = await self._live_connection()
        try:
            if connection.client is None:
                raise McpError("the connection has just closed")
            result = await connection.client.call_tool(remote_name, arguments)
        except MCPError as exc:
            if exc.code != types.CONNECTION_CLOSED and connection.alive:
                raise McpError(
                    f"MCP server `{self.config.label}` refused the call: {exc.message}"
                ) from exc
            raise await self._lost(connection, exc.message) from exc
        except Exception as exc:  # the transport failed (HTTP errors, broken pipes)
            raise await self._lost(connection, _exception_text(exc)) from exc
        if result.is_error:
            raise McpToolError(content_text(result))
        return content_text(result)

    async def _lost(self, connection: _Connection, reason: str) -> McpConnectionLost:
        """Drop a failed connection; the error says why and that the next call reconnects."""
        await asyncio.sleep(0.05)  # let a dying process finish writing its stderr
        again = "started" if self.config.command is not None else "connected to"
        message = connection.describe_failure(
            f"MCP server `{self.config.label}` stopped during the call ({reason}); it will be "
            f"{again} again on the next call"
        )
        async with self._lock:
            if self._connection is connection:
                await connection.close()
                self._connection = None
        return McpConnectionLost(message)


__all__ = [
    "INHERITED_VARIABLES",
    "McpConnectionLost",
    "McpError",
    "McpServer",
    "McpStartupError",
    "McpTool",
    "McpToolError",
    "McpToolSource",
    "McpWarning",
    "content_text",
    "tool_name",
]
