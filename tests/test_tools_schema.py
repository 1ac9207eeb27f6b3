"""Argument schemas from signatures and docstrings: exact, flat, described."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, Field
from tools_support import Color, Point, add, call, paint_points  # noqa: F401

from hanlin.tools import ToolRegistry, parse_docstring, tool

# ------------------------------------------------------------------ schemas


def test_function_schema_is_exact_and_uses_docstring() -> None:
    assert add.name == "add"
    assert add.spec.description == "Add two integers."
    assert add.spec.parameters == {
        "type": "object",
        "properties": {
            "a": {"type": "integer", "description": "The first number."},
            "b": {
                "type": "integer",
                "default": 2,
                "description": "The second number, which defaults to two.",
            },
        },
        "required": ["a"],
        "additionalProperties": False,
    }
    assert add.spec.openai_format()["function"]["name"] == "add"
    assert add(1, 2) == 3  # still a plain function for Python callers


def test_rich_signature_schema_is_flat_and_exact() -> None:
    assert paint_points.name == "paint"
    assert paint_points.timeout == 3.0 and paint_points.requires_approval is True
    params = paint_points.spec.parameters
    assert "$defs" not in str(params) and "$ref" not in str(params) and "title" not in params
    assert params == {
        "type": "object",
        "properties": {
            "points": {
                "type": "array",
                "description": "Where to paint.",
                "items": {
                    "type": "object",
                    "properties": {
                        "x": {"type": "number"},
                        "y": {"type": "number", "default": 0.0},
                    },
                    "required": ["x"],
                },
            },
            "color": {
                "type": "string",
                "enum": ["red", "blue"],
                "default": "red",
                "description": "Which paint.",
            },
            "finish": {"type": "string", "enum": ["matte", "gloss"], "default": "matte"},
            "coats": {"type": "integer", "minimum": 1, "maximum": 5, "default": 1},
            "label": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        },
        "required": ["points"],
        "additionalProperties": False,
    }


def test_docstring_styles() -> None:
    google = parse_docstring("""Summary line
    that wraps.

    Args:
        city (str): The city.
        days: How many days,
            at most 7.

    Returns:
        A forecast.
    """)
    assert google.summary == "Summary line that wraps."
    assert google.params == {"city": "The city.", "days": "How many days, at most 7."}

    rest = parse_docstring("""Look up.

    :param str query: What to find.
    :param limit: How many
        results.
    :returns: hits
    """)
    assert rest.summary == "Look up."
    assert rest.params == {"query": "What to find.", "limit": "How many results."}

    numpy = parse_docstring("""Sum values.

    Parameters
    ----------
    values : list of float
        The numbers.
    scale : float
        Multiplier.

    Returns
    -------
    float
    """)
    assert numpy.summary == "Sum values."
    assert numpy.params == {"values": "The numbers.", "scale": "Multiplier."}


def test_explicit_field_description_wins_over_docstring() -> None:
    @tool
    def search(query: Annotated[str, Field(description="From Field.")]) -> str:
        """Search.

        Args:
            query: From docstring.
        """
        return query

    assert search.spec.parameters["properties"]["query"]["description"] == "From Field."


class TreeNode(BaseModel):
    value: int
    children: list[TreeNode] = []


async def test_recursive_models_keep_defs_and_shadowing_names_work() -> None:
    @tool
    def count(root: TreeNode, json: bool = False) -> int:
        """Count nodes."""

        def size(node: TreeNode) -> int:
            return 1 + sum(size(child) for child in node.children)

        return size(root) + (100 if json else 0)

    params = count.spec.parameters
    assert params["properties"]["root"]["required"] == ["value"]
    assert params["$defs"]["TreeNode"]["properties"]["children"]["items"] == {
        "$ref": "#/$defs/TreeNode"
    }
    tree = {"value": 1, "children": [{"value": 2}, {"value": 3, "children": [{"value": 4}]}]}
    result = await ToolRegistry([count]).execute(call("count", root=tree, json=True))
    assert result.content == "104"


def test_bad_definitions_fail_at_decoration() -> None:
    with pytest.raises(TypeError, match="no type annotation"):

        @tool
        def untyped(x):  # type: ignore[no-untyped-def]
            return x

    with pytest.raises(TypeError, match=r"\*args"):

        @tool
        def variadic(*items: int) -> int:
            return 0

    with pytest.raises(ValueError, match="invalid tool name"):
        tool(name="has space")(add.fn)
