"""Local ``$ref`` inlining for OpenAPI documents and JSON Schemas, bounded by ``SchemaLimits``."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from hanlin.tools.json_schema_model import DEFAULT_LIMITS
from hanlin.tools.openapi_document import OpenAPIError, safe_repr
from hanlin.tools.schema_limits import (
    ExpansionBudget,
    InvalidSchema,
    SchemaBatch,
    SchemaLimits,
    child,
    render,
)
from hanlin.tools.schema_limits import Pointer as _Pointer

_DATA_KEYS = ("default", "enum", "const")  # values, not schemas: no $ref is followed in them


class RefResolver:
    """Inlines local ``$ref``s; an external or dangling one, or a cycle, is an error.

    Every walk spends the current ``budget`` (one per operation, see ``fresh``, all drawing on
    the document's ``batch``), so shared definitions that fan out, or nesting deeper than the
    limits, raise ``SchemaTooLarge`` (an ``InvalidSchema``) at the pointer where it stopped.
    """

    def __init__(
        self,
        data: dict[str, Any],
        origin: str,
        limits: SchemaLimits = DEFAULT_LIMITS,
        batch: SchemaBatch | None = None,
    ) -> None:
        self.data = data
        self.origin = origin
        self.limits = limits
        self.batch = batch
        self.budget = ExpansionBudget(limits, batch)
        self._targets: dict[str, Any] = {}

    def fresh(self) -> RefResolver:
        """Start a new budget (for the next operation); the batch's total carries on."""
        self.budget = ExpansionBudget(self.limits, self.batch)
        return self

    def target(self, ref: Any, at: _Pointer) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise OpenAPIError(
                f"{self.origin}: {render(at)}: $ref {safe_repr(ref)} points outside "
                "the document; only local references (#/...) are supported, so "
                "bundle the document into one file first"
            )
        if ref in self._targets:
            return self._targets[ref]
        node: Any = self.data
        for raw in unquote(ref[1:]).split("/")[1:]:
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise OpenAPIError(
                    f"{self.origin}: {render(at)}: $ref {safe_repr(ref)} points to "
                    f"nothing (no {safe_repr(part)} there)"
                )
        self._targets[ref] = node
        return node

    def resolve(self, node: Any, at: _Pointer, stack: tuple[str, ...] = (), depth: int = 0) -> Any:
        """A copy of ``node`` with every reference inlined; ``at`` is its JSON pointer."""
        self.budget.spend(node, depth, at)
        if isinstance(node, list):
            return [
                self.resolve(item, child(at, i), stack, depth + 1) for i, item in enumerate(node)
            ]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            ref = node["$ref"]
            if ref in stack:
                chain = " -> ".join((*stack[stack.index(ref) :], ref))
                raise OpenAPIError(
                    f"{self.origin}: {render(at)}: cyclic $ref {chain}; a recursive "
                    "schema cannot be described as tool arguments"
                )
            target = self.resolve(self.target(ref, at), at, (*stack, ref), depth + 1)
            siblings = {
                k: self.resolve(v, child(at, k), stack, depth + 1)
                for k, v in node.items()
                if k != "$ref"
            }
            return {**target, **siblings} if isinstance(target, dict) else target
        return {
            key: value
            if key in ("example", "examples")  # never shown: dropped later
            else self.data_copy(value, child(at, key), depth + 1)
            if key in _DATA_KEYS
            else self.resolve(value, child(at, key), stack, depth + 1)
            for key, value in node.items()
        }

    def data_copy(self, value: Any, at: _Pointer, depth: int) -> Any:
        """A copy of a value that is data (a default, an enum): counted, never resolved."""
        self.budget.spend(value, depth, at)
        if isinstance(value, list):
            return [self.data_copy(item, child(at, i), depth + 1) for i, item in enumerate(value)]
        if isinstance(value, dict):
            return {
                key: self.data_copy(item, child(at, key), depth + 1) for key, item in value.items()
            }
        return value

    def path_item(self, item: Any, at: str) -> Any:
        """A path item with its own ``$ref`` followed; what is inside is resolved on use."""
        seen: list[str] = []
        while isinstance(item, dict) and "$ref" in item:
            ref = item["$ref"]
            if ref in seen:
                raise OpenAPIError(f"{self.origin}: {at}: cyclic $ref {' -> '.join([*seen, ref])}")
            seen.append(ref)
            found = self.target(ref, at)
            rest = {k: v for k, v in item.items() if k != "$ref"}
            item = {**found, **rest} if isinstance(found, dict) else found
        return item


def inline_refs(schema: dict[str, Any], origin: str, limits: SchemaLimits = DEFAULT_LIMITS) -> Any:
    """``schema`` with its local ``$ref``s (e.g. to ``#/$defs/...``) inlined.

    The definitions themselves are not expanded: only what the schema uses of them is.
    """
    used = {key: value for key, value in schema.items() if key not in ("$defs", "definitions")}
    try:
        return RefResolver(schema, origin, limits).resolve(used, "#")
    except InvalidSchema as exc:
        raise OpenAPIError(f"{origin}: {exc}") from None
