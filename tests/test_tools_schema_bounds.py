"""Schemas of Python-defined tools whose nested models share definitions many times over:
inlined while small, the large shared definitions kept under ``$defs`` once inlining them
would grow past the limits."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError, create_model

from hanlin.llm.messages import ToolCall
from hanlin.tools import ToolRegistry, flat_json_schema, tool


def doubling_models(levels: int) -> type[BaseModel]:
    """``L{i}`` has two fields of type ``L{i-1}``: 2**levels leaves once inlined."""
    model: type[BaseModel] = create_model("L0", value=(int, ...))
    for i in range(1, levels + 1):
        model = create_model(f"L{i}", left=(model, ...), right=(model, ...))
    return model


def test_a_doubling_model_keeps_its_definitions() -> None:
    top = doubling_models(24)
    started = time.perf_counter()
    schema = flat_json_schema(top)
    assert time.perf_counter() - started < 5
    assert schema["properties"]["left"] == {"$ref": "#/$defs/L23"}
    defs = schema["$defs"]  # the large shared ones; L0 to L5 are small enough to inline
    assert set(defs) == {f"L{i}" for i in range(6, 24)}
    assert defs["L7"]["properties"]["left"] == {"$ref": "#/$defs/L6"}
    leaf = defs["L6"]
    for _ in range(6):
        leaf = leaf["properties"]["left"]
    assert leaf == {
        "type": "object",
        "properties": {"value": {"type": "integer"}},
        "required": ["value"],
    }
    assert len(json.dumps(schema)) < 20_000


TREE = doubling_models(14)  # about 300 000 values once inlined: over the 100 000 limit


async def test_a_tool_taking_a_doubling_model_is_usable() -> None:
    @tool
    def count(tree: TREE) -> int:  # type: ignore[valid-type]
        """Count the leaves of a tree."""
        return 1 << 14

    started = time.perf_counter()
    assert "$defs" in count.spec.parameters
    assert time.perf_counter() - started < 5
    leaf: dict[str, Any] = {"value": 1}
    for _ in range(14):
        leaf = {"left": leaf, "right": leaf}
    result = await ToolRegistry([count]).execute(
        ToolCall(id="c1", name="count", arguments={"tree": leaf})
    )
    assert result.content == str(1 << 14)
    with pytest.raises(ValidationError):
        count.args_model.model_validate({"tree": {"left": {}, "right": {}}})


def test_a_small_shared_model_is_still_inlined() -> None:
    class Address(BaseModel):
        street: str

    class Order(BaseModel):
        billing: Address
        shipping: Address

    schema = flat_json_schema(Order)
    assert "$defs" not in schema
    assert schema["properties"]["billing"] == {
        "type": "object",
        "required": ["street"],
        "properties": {"street": {"type": "string"}},
    }
