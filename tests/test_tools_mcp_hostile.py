"""Hostile tool schemas from MCP servers: fan-out through ``$defs``, deep nesting, keyword
values no validator accepts. One bad tool is skipped with a warning; the server's other tools
stay usable. The live test runs tests/data/mcp/hostile_schema_server.py in a subprocess."""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from hanlin.llm.messages import ToolCall
from hanlin.tools.json_schema_model import (
    InvalidSchema,
    SchemaBatch,
    SchemaLimits,
    SchemaTooLarge,
    args_model_from_schema,
    inline_refs,
    model_from_json_schema,
    parameters_schema,
)
from hanlin.tools.mcp_source import McpServer, McpToolSource, McpWarning
from hanlin.tools.registry import ToolRegistry

HOSTILE = Path(__file__).parent / "data" / "mcp" / "hostile_schema_server.py"


def fan_out(levels: int) -> dict[str, Any]:
    defs: dict[str, Any] = {"L0": {"type": "string"}}
    for i in range(1, levels + 1):
        defs[f"L{i}"] = {
            "type": "object",
            "properties": {"a": {"$ref": f"#/$defs/L{i - 1}"}, "b": {"$ref": f"#/$defs/L{i - 1}"}},
        }
    return {"type": "object", "$defs": defs, "properties": {"tree": {"$ref": f"#/$defs/L{levels}"}}}


def test_fan_out_through_defs_stops_at_the_budget() -> None:
    started = time.perf_counter()
    with pytest.raises(
        SchemaTooLarge,
        match=r"^#/properties/tree/properties/[ab]/.*"
        r"expands to more than 100000 values",
    ):
        inline_refs(fan_out(20), SchemaLimits(max_depth=200))
    with pytest.raises(SchemaTooLarge, match="nested more than 64 levels deep"):
        inline_refs(fan_out(40))
    assert time.perf_counter() - started < 5


def test_deep_nesting_and_deep_data_stop_at_the_depth_limit() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(100_000):
        schema = {"type": "array", "items": schema}
    with pytest.raises(SchemaTooLarge, match=r"^#/properties/x/items/items/.*nested more than 64"):
        parameters_schema({"type": "object", "properties": {"x": schema}})
    value: list[Any] = []
    for _ in range(100_000):
        value = [value]
    with pytest.raises(SchemaTooLarge, match=r"^#/properties/x/default/0/0/.*nested more than"):
        parameters_schema({"type": "object", "properties": {"x": {"default": value}}})


def test_keyword_values_raise_invalid_schema_with_their_pointer() -> None:
    with pytest.raises(
        InvalidSchema,
        match=r"^#/properties/code/pattern: `pattern` '\(\(' is "
        r"not a regular expression Python can use",
    ):
        model_from_json_schema(
            {"type": "object", "properties": {"code": {"type": "string", "pattern": "(("}}}, "t"
        )
    with pytest.raises(
        InvalidSchema,
        match=r"^#/properties/n/minimum: `minimum` must be a "
        r"finite number, got the string 'zero'",
    ):
        model_from_json_schema(
            {"type": "object", "properties": {"n": {"type": "integer", "minimum": "zero"}}}, "t"
        )
    with pytest.raises(InvalidSchema, match=r"^#: no validator can be built from this schema"):
        args_model_from_schema("t", {"n": {"type": "number", "maximum": 10**400}}, [])


def test_equal_nested_shapes_share_one_model_across_a_batch() -> None:
    batch = SchemaBatch(SchemaLimits(max_chars=1_000_000))
    started = time.perf_counter()
    models = [model_from_json_schema(fan_out(10), f"t{i}", batch=batch) for i in range(5)]
    assert time.perf_counter() - started < 5  # 1023 nested objects each; 10 shapes in all
    assert len(batch.models) == 10
    tree: dict[str, Any] = {"a": "x", "b": "y"}
    for _ in range(9):
        tree = {"a": tree, "b": tree}
    for model in models:
        assert model.model_validate({"tree": tree}).tree is not None  # type: ignore[attr-defined]
        with pytest.raises(ValidationError):
            model.model_validate({"tree": {"a": {"a": 1}}})


def test_the_batch_total_bounds_many_small_schemas() -> None:
    batch = SchemaBatch(SchemaLimits(max_total_nodes=50_000))
    built = 0
    with pytest.raises(
        SchemaTooLarge, match="the tools read before it already expanded to 50000 values"
    ):
        for _ in range(1000):
            parameters_schema(fan_out(9), batch.limits, batch)
            built += 1
    assert 0 < built < 50


async def test_a_server_with_hostile_schemas_keeps_its_good_tools() -> None:
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with McpToolSource(
            McpServer(command=sys.executable, args=[str(HOSTILE)], call_timeout=5.0)
        ) as source:
            assert [tool.name for tool in source.tools] == ["echo"]
            result = await ToolRegistry(source.tools).execute(
                ToolCall(id="c1", name="echo", arguments={"text": "still here"})
            )
            assert result.content == "still here"
    skipped = sorted(str(w.message) for w in caught if w.category is McpWarning)
    assert len(skipped) == 4
    label = f"MCP server `{sys.executable} {HOSTILE}`"
    expected = {
        "bad_minimum": "#/properties/count/minimum: `minimum` must be a finite number",
        "bad_pattern": "#/properties/code/pattern: `pattern` '((' is not a regular expression",
        "deep": "#/properties/nested/items/items/",
        "fan_out": "#/properties/tree/properties/a/properties/a/",
    }
    for message, (tool, detail) in zip(skipped, sorted(expected.items()), strict=True):
        assert message.startswith(
            f"{label}: tool {tool!r} skipped: its argument schema cannot be used ("
        )
        assert detail in message
    assert time.perf_counter() - started < 20  # includes starting the server process
