"""An MCP server whose tools advertise hostile argument schemas (run it with no arguments).

``echo`` is well formed; ``fan_out`` refers to a definition that refers twice to the one before
it, 30 levels down (about 2**30 values once inlined); ``deep`` nests 80 arrays; ``bad_pattern``
and ``bad_minimum`` carry keyword values no validator can be built from.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

server = MCPServer("hanlin-hostile", log_level="WARNING")


def fan_out(levels: int) -> dict[str, Any]:
    defs: dict[str, Any] = {"L0": {"type": "string"}}
    for i in range(1, levels + 1):
        defs[f"L{i}"] = {
            "type": "object",
            "properties": {"a": {"$ref": f"#/$defs/L{i - 1}"}, "b": {"$ref": f"#/$defs/L{i - 1}"}},
        }
    return {"type": "object", "$defs": defs, "properties": {"tree": {"$ref": f"#/$defs/L{levels}"}}}


def deep(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "array", "items": schema}
    return {"type": "object", "properties": {"nested": schema}}


SCHEMAS: dict[str, dict[str, Any]] = {
    "fan_out": fan_out(30),
    "deep": deep(80),
    "bad_pattern": {"type": "object", "properties": {"code": {"type": "string", "pattern": "(("}}},
    "bad_minimum": {
        "type": "object",
        "properties": {"count": {"type": "integer", "minimum": "zero"}},
    },
}


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


def hostile(**arguments: Any) -> str:
    return "served"


for name, schema in SCHEMAS.items():
    server.add_tool(hostile, name=name, description=f"A tool whose schema is {name}.")
    registered = server._tool_manager.get_tool(name)
    assert registered is not None
    registered.parameters = schema  # what list_tools advertises


if __name__ == "__main__":
    server.run("stdio")
