"""A small MCP server for hanlin's tests: ``python demo_server.py [stdio | http PORT]``.

Each tool exercises one path of the client: plain results, a rich argument schema, a tool
error, a slow call, a crash of the whole process, an image, and the server's environment.
"""

from __future__ import annotations

import base64
import os
import sys
import time
from typing import Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.types import Image
from pydantic import BaseModel, Field

server = MCPServer("hanlin-demo", log_level="WARNING")

# The smallest valid PNG: one transparent pixel.
PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


SERVED = {"calls": 0}  # calls that reached a tool, so tests can tell what the client rejected


class Window(BaseModel):
    """A range of days to search within."""

    start: int = Field(ge=0, description="First day.")
    end: int = Field(ge=0, description="Last day.")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    SERVED["calls"] += 1
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool()
def search(
    query: str,
    mode: Literal["fast", "exact"] = "fast",
    limit: int = 5,
    tags: list[str] | None = None,
    window: Window | None = None,
) -> str:
    """Pretend to search; reports how it understood the arguments."""
    SERVED["calls"] += 1
    span = f"{window.start}-{window.end}" if window else "all"
    return f"{query}|{mode}|{limit}|{','.join(tags or [])}|{span}"


@server.tool()
def fail(reason: str = "the disk is full") -> str:
    """Always fails with the given reason."""
    raise ToolError(reason)


@server.tool()
def slow(seconds: float) -> str:
    """Sleep, then answer."""
    time.sleep(seconds)
    return f"slept {seconds}"


@server.tool()
def crash() -> str:
    """End the server process abruptly, as a crash would."""
    sys.stderr.write("demo server: crashing on request\n")
    sys.stderr.flush()
    os._exit(3)


@server.tool(structured_output=False)
def picture() -> list[object]:
    """A caption and a one-pixel PNG image."""
    return ["one pixel", Image(data=PIXEL_PNG, format="png")]


@server.tool()
def environment(name: str) -> str:
    """The value of an environment variable in the server, or '(unset)'."""
    return os.environ.get(name, "(unset)")


@server.tool()
def environment_names() -> str:
    """The names of all environment variables the server has, sorted, comma-separated."""
    return ",".join(sorted(os.environ))


@server.tool()
def calls_served() -> int:
    """How many calls of `add` and `search` reached this server."""
    return SERVED["calls"]


@server.tool()
def process_id() -> int:
    """The server's process id, to tell a restarted server from the first one."""
    return os.getpid()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run("stdio")
