"""What value each JSON Schema keyword takes, checked before a schema is used.

A schema from outside may say ``minimum: "zero"`` or ``pattern: "(("``; pydantic then fails
deep inside model building with an error that names neither the keyword nor where it is.
``checked_keyword`` finds such values first and raises ``InvalidSchema`` with the JSON pointer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from hanlin.tools.schema_limits import InvalidSchema, Pointer

DROPPED = object()  # returned for a keyword to leave out
_NUMBER_KEYS = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
_COUNT_KEYS = {"minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"}


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(name, str) for name in value)


# keyword: (whether a value has the right shape, what it must be)
_SHAPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "description": (lambda v: isinstance(v, str), "a string"),
    "format": (lambda v: isinstance(v, str), "a string"),
    "pattern": (lambda v: isinstance(v, str), "a string"),
    "type": (
        lambda v: isinstance(v, str) or (_names(v) and bool(v)),
        "a type name or a list of them",
    ),
    "enum": (lambda v: isinstance(v, list), "an array"),
    "anyOf": (lambda v: isinstance(v, list), "an array"),
    "oneOf": (lambda v: isinstance(v, list), "an array"),
    "allOf": (lambda v: isinstance(v, list), "an array"),
    "required": (_names, "an array of property names"),
    "properties": (
        lambda v: isinstance(v, dict) and all(isinstance(n, str) for n in v),
        "an object of schemas",
    ),
    "items": (lambda v: isinstance(v, dict | list | bool), "a schema"),
    "additionalProperties": (lambda v: isinstance(v, dict | bool), "a schema or a boolean"),
    "uniqueItems": (lambda v: isinstance(v, bool), "a boolean"),
}


def kind(value: Any) -> str:
    """A value's JSON kind for messages: never its whole text, which may be huge or hostile."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}" if abs(value) < 1e15 else "a number"
    if isinstance(value, str):
        return f"the string {value[:40]!r}" + ("…" if len(value) > 40 else "")
    if isinstance(value, dict):
        return "an object"
    return "an array" if isinstance(value, list) else type(value).__name__


def checked_keyword(key: str, value: Any, at: Pointer) -> Any:
    """The value of one keyword, ``DROPPED``, or ``InvalidSchema`` for a value of wrong type."""
    if key in _NUMBER_KEYS:
        return _number(key, value, at)
    if key in _COUNT_KEYS:
        return _count(key, value, at)
    if key == "required" and isinstance(value, bool):
        return DROPPED  # the Swagger 2 per-property form; says nothing in a schema
    shape = _SHAPES.get(key)
    if shape is not None and not shape[0](value):
        raise InvalidSchema(at, f"`{key}` must be {shape[1]}, got {kind(value)}")
    if key == "pattern":
        try:
            re.compile(value)
        except (re.error, RecursionError, OverflowError) as exc:
            shown = repr(value[:60]) + ("…" if len(value) > 60 else "")
            raise InvalidSchema(
                at, f"`pattern` {shown} is not a regular expression Python can use ({exc})"
            ) from None
    return value


def _number(key: str, value: Any, at: Pointer) -> Any:
    if isinstance(value, bool) and key.startswith("exclusive"):
        return value  # the OpenAPI 3.0 form, folded into its bound by clean_schema
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or (isinstance(value, float) and not math.isfinite(value))
    ):
        raise InvalidSchema(at, f"`{key}` must be a finite number, got {kind(value)}")
    if key == "multipleOf" and value <= 0:
        raise InvalidSchema(at, f"`multipleOf` must be above 0, got {value!r}")
    return value


def _count(key: str, value: Any, at: Pointer) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidSchema(at, f"`{key}` must be a whole number of at least 0, got {kind(value)}")
    return value


__all__ = ["DROPPED", "checked_keyword", "kind"]
