"""Bounds on argument schemas that come from outside (OpenAPI documents, MCP servers).

Inlining ``$ref``s gives small models the flat schemas they follow best, but a document whose
definitions each refer to the one before it twice doubles with every level: a 2 KB document
becomes a schema of megabytes. Deep nesting is the other way an untrusted schema hurts, since
every walk over it is recursive, and many small operations that all refer to one large
definition are the third. Walks over such schemas spend an ``ExpansionBudget``, which stops
them at ``SchemaLimits`` with a ``SchemaTooLarge`` that names where, long before time, memory
or Python's stack run out; the finished schema must also fit ``max_chars``. A ``SchemaBatch``
holds what the tools of one document or server share: the total spent, and the nested
argument models already built (equal shapes are built once).
"""

from __future__ import annotations

import json
from typing import Any, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

# A JSON pointer: text such as "#/paths/~1a", or a (parent, key) pair that becomes text only
# when a message needs it, since walks pass one to every value they visit.
Pointer: TypeAlias = str | tuple[Any, Any]


def child(pointer: Pointer, key: object) -> Pointer:
    """The pointer of ``key`` below ``pointer``."""
    return (pointer, key)


def render(pointer: Pointer) -> str:
    """A pointer as RFC 6901 text (``~`` and ``/`` in keys escaped)."""
    keys: list[str] = []
    while isinstance(pointer, tuple):
        pointer, key = pointer
        keys.append(str(key).replace("~", "~0").replace("/", "~1"))
    return pointer + "".join(f"/{key}" for key in reversed(keys))


class InvalidSchema(ValueError):
    """A schema that cannot become a tool's arguments; ``pointer`` says where (``#/...``)."""

    def __init__(self, pointer: Pointer, message: str) -> None:
        text = render(pointer)
        shown = text if len(text) <= 200 else f"{text[:140]}…{text[-60:]}"
        super().__init__(f"{shown}: {message}")
        self.pointer = text
        self.reason = message


class SchemaTooLarge(InvalidSchema):
    """The schema nests too deeply or expands past the limits."""


class SchemaLimits(BaseModel):
    """How large one tool's argument schema may become; larger ones are refused, never cut."""

    model_config = ConfigDict(frozen=True)

    max_depth: int = Field(
        default=64,
        gt=0,
        le=200,
        description=(
            "Nesting of objects and arrays, plus $ref hops, below the schema's root (at most 200, "
            "so every walk stays far from Python's recursion limit)."
        ),
    )
    max_nodes: int = Field(
        default=100_000,
        gt=0,
        description=(
            "Values produced while inlining references (each object, array and entry counts)."
        ),
    )
    max_chars: int = Field(
        default=100_000,
        gt=0,
        description=("Length of the finished schema as compact JSON: what the model is shown."),
    )
    max_total_nodes: int = Field(
        default=2_000_000,
        gt=0,
        description=(
            "Values produced while inlining the schemas of all the tools of one OpenAPI document "
            "or MCP server together."
        ),
    )


class SchemaBatch:
    """What the tool schemas of one document or server share while they are read."""

    def __init__(self, limits: SchemaLimits) -> None:
        self.limits = limits
        self.spent = 0  # values produced by all walks so far
        self.models: dict[str, type[BaseModel]] = {}  # nested argument models by shape


class ExpansionBudget:
    """What one walk over a schema may still produce; ``spend`` raises once it is used up.

    With a ``batch``, the walk also draws on the total of the document or server it is in.
    """

    def __init__(self, limits: SchemaLimits, batch: SchemaBatch | None = None) -> None:
        self.limits = limits
        self.batch = batch
        self.nodes = 0

    def spend(self, node: Any, depth: int, pointer: Pointer) -> None:
        """Count ``node`` (with its entries) found ``depth`` levels down at ``pointer``."""
        if depth > self.limits.max_depth:
            raise SchemaTooLarge(
                pointer,
                f"nested more than {self.limits.max_depth} levels deep (counting $ref hops)",
            )
        count = 1 + (len(node) if isinstance(node, dict | list) else 0)
        self.nodes += count
        if self.nodes > self.limits.max_nodes:
            raise SchemaTooLarge(
                pointer,
                f"expands to more than {self.limits.max_nodes} values once its $refs are inlined",
            )
        if self.batch is not None:
            self.batch.spent += count
            if self.batch.spent > self.limits.max_total_nodes:
                raise SchemaTooLarge(
                    pointer,
                    "the tools read before it already expanded to "
                    f"{self.limits.max_total_nodes} values, the "
                    "limit for one document or server",
                )


def check_size(schema: dict[str, Any], limits: SchemaLimits, pointer: Pointer = "#") -> int:
    """The length of ``schema`` as compact JSON; ``InvalidSchema`` if too long or not JSON."""
    try:
        size = len(json.dumps(schema, separators=(",", ":"), ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError) as exc:  # a YAML date or set, NaN, a Python object
        raise InvalidSchema(pointer, f"holds a value JSON cannot carry ({exc})") from None
    if size > limits.max_chars:
        raise SchemaTooLarge(
            pointer,
            f"is {size} characters as JSON, more than the limit of "
            f"{limits.max_chars} for one tool's arguments",
        )
    return size


__all__ = [
    "ExpansionBudget",
    "InvalidSchema",
    "Pointer",
    "SchemaBatch",
    "SchemaLimits",
    "SchemaTooLarge",
    "check_size",
    "child",
    "render",
]
