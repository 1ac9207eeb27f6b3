"""Whole tool schemas (as MCP servers send them) to argument models and back to JSON."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hanlin.tools.json_schema_model import (
    dump_arguments,
    inline_refs,
    model_from_json_schema,
    parameters_schema,
)

NODE_SCHEMA = {
    "type": "object",
    "$defs": {
        "Node": {
            "type": "object",
            "title": "Node",
            "properties": {"value": {"type": "integer"}, "child": {"$ref": "#/$defs/Node"}},
            "required": ["value"],
        }
    },
    "properties": {"root": {"$ref": "#/$defs/Node", "description": "The top node."}},
    "required": ["root"],
}


def test_local_references_are_inlined_and_recursion_stops() -> None:
    flat = inline_refs(NODE_SCHEMA)
    root = flat["properties"]["root"]
    assert "$defs" not in flat
    assert root["description"] == "The top node."  # keys beside a $ref are kept
    assert root["properties"]["value"] == {"type": "integer"}
    assert root["properties"]["child"] == {}  # a reference back into itself: any value


def test_data_that_looks_like_a_reference_is_left_alone() -> None:
    schema = {
        "type": "object",
        "properties": {"doc": {"type": "object", "default": {"$ref": "#/$defs/X"}}},
    }
    assert inline_refs(schema) == schema


def test_the_model_validates_nested_objects_from_definitions() -> None:
    model = model_from_json_schema(NODE_SCHEMA, "tree")
    args = model.model_validate({"root": {"value": 1, "child": {"value": 2}}})
    assert dump_arguments(args, parameters_schema(NODE_SCHEMA)) == {
        "root": {"value": 1, "child": {"value": 2}}
    }
    with pytest.raises(ValidationError, match=r"root\.value"):
        model.model_validate({"root": {"value": "one"}})
    with pytest.raises(ValidationError, match="root"):
        model.model_validate({})


def test_dumped_arguments_keep_json_names_and_leave_out_what_was_not_given() -> None:
    schema = {
        "type": "object",
        "properties": {
            "first-name": {"type": "string"},
            "limit": {"type": "integer", "default": 5},
            "note": {"type": ["string", "null"]},
        },
        "required": ["first-name"],
    }
    model = model_from_json_schema(schema, "person")
    cleaned = parameters_schema(schema)
    given = model.model_validate({"first-name": "Ada"})
    assert dump_arguments(given, cleaned) == {"first-name": "Ada"}
    # null for "not given" is dropped where the schema has no null; kept where it has.
    nulls = model.model_validate({"first-name": "Ada", "limit": None, "note": None})
    assert dump_arguments(nulls, cleaned) == {"first-name": "Ada", "note": None}


def test_a_schema_whose_root_is_not_an_object_is_refused() -> None:
    with pytest.raises(ValueError, match="type 'object' at its root"):
        parameters_schema({"type": "array", "items": {"type": "string"}})
    with pytest.raises(TypeError, match="must be a JSON object"):
        parameters_schema(["not", "a", "schema"])  # type: ignore[arg-type]


def test_an_empty_schema_means_no_arguments() -> None:
    model = model_from_json_schema({"type": "object"}, "ping")
    assert parameters_schema({"type": "object"}) == {"type": "object", "properties": {}}
    assert dump_arguments(model.model_validate({}), {"properties": {}}) == {}
    with pytest.raises(ValidationError):
        model.model_validate({"unexpected": 1})
