"""From a JSON schema (as an OpenAPI document writes it) to a pydantic argument model.

The registry validates a model's arguments with a pydantic model, so a tool defined by a JSON
schema needs one built from that schema. ``clean_schema`` first reduces an OpenAPI 3.0 / 3.1
schema to the plain JSON Schema the model is shown (no titles, examples, ``nullable`` or
read-only properties); ``args_model_from_schema`` then builds the validating model from the
same cleaned schema, so what the model sees and what is checked agree. Schemas come from
outside, so both steps are bounded (``schema_limits``) and refuse malformed keyword values
(``schema_keywords``) with an ``InvalidSchema`` that names the JSON pointer.
"""

from __future__ import annotations

import hashlib
import json
import keyword
import math
import re
import warnings
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic_core import SchemaError as PydanticCoreSchemaError

from hanlin.tools.schema_keywords import DROPPED, checked_keyword, kind
from hanlin.tools.schema_limits import (
    ExpansionBudget,
    InvalidSchema,
    SchemaBatch,
    SchemaLimits,
    SchemaTooLarge,
    check_size,
    child,
)
from hanlin.tools.schema_limits import Pointer as _Pointer

# Keys of JSON Schema that describe request values; everything else (titles, examples, xml,
# discriminators, x-extensions) is dropped before the model sees the schema.
_KEPT_KEYS = {
    "type",
    "format",
    "enum",
    "const",
    "description",
    "default",
    "items",
    "properties",
    "required",
    "additionalProperties",
    "anyOf",
    "oneOf",
    "allOf",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
}
_SCALAR = (str, int, float, bool, type(None))
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
DEFAULT_LIMITS = SchemaLimits()


def clean_schema(
    schema: Any, pointer: _Pointer = "#", limits: SchemaLimits = DEFAULT_LIMITS
) -> dict[str, Any]:
    """A resolved OpenAPI schema as plain JSON Schema for a request value.

    ``nullable: true`` (3.0) becomes a ``"null"`` type, boolean ``exclusiveMinimum`` (3.0)
    becomes the 3.1 number form, ``allOf`` of objects is merged into one object, and
    ``readOnly`` properties (sent by servers, never by clients) are removed. A keyword whose
    value has the wrong type (``minimum: "zero"``, a ``pattern`` Python cannot compile)
    raises ``InvalidSchema`` naming its JSON pointer below ``pointer``, as does nesting
    deeper than ``limits.max_depth``.
    """
    return _clean(schema, pointer, limits, 0)


def _clean(schema: Any, at: _Pointer, limits: SchemaLimits, depth: int) -> dict[str, Any]:
    if not isinstance(schema, dict):
        if isinstance(schema, bool):
            return {}  # `true` (3.1): any value; `false` is left for the server to refuse
        raise InvalidSchema(at, f"a schema must be an object, got {kind(schema)}")
    if depth > limits.max_depth:
        raise SchemaTooLarge(at, f"nested more than {limits.max_depth} schemas deep")
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _KEPT_KEYS:
            here = child(at, key)
            value = checked_keyword(key, value, here)
            if value is not DROPPED:
                out[key] = _clean_value(key, value, here, limits, depth)
    _tidy(out)
    if "allOf" in out:
        out = _merge_all_of(out)
    if schema.get("nullable") is True:
        out = _nullable(out)
    return out


def _tidy(out: dict[str, Any]) -> None:
    """Keep only ``required`` names that are properties; fold 3.0 boolean exclusive bounds."""
    if "required" in out:
        names = out.get("properties")
        out["required"] = [r for r in out["required"] if names is None or r in names]
        if not out["required"]:
            del out["required"]
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), bool) and out.pop(bound) and limit in out:
            out[bound] = out.pop(limit)


def _clean_value(key: str, value: Any, at: _Pointer, limits: SchemaLimits, depth: int) -> Any:
    """A checked keyword's value with the schemas inside it cleaned."""
    if key == "properties":
        return {
            name: _clean(sub, child(at, name), limits, depth + 1)
            for name, sub in value.items()
            if not (isinstance(sub, dict) and sub.get("readOnly"))
        }
    if key in ("items", "additionalProperties") and isinstance(value, dict):
        return _clean(value, at, limits, depth + 1)
    if key in ("anyOf", "oneOf", "allOf") or (key == "items" and isinstance(value, list)):
        return [_clean(sub, child(at, i), limits, depth + 1) for i, sub in enumerate(value)]
    return value


def _merge_all_of(schema: dict[str, Any]) -> dict[str, Any]:
    """Fold ``allOf`` parts into the schema when they only add object properties or notes."""
    parts = schema["allOf"]
    mergeable = all(
        set(p) <= {"type", "properties", "required", "description", "additionalProperties"}
        and p.get("type", "object") == "object"
        for p in parts
    )
    if not mergeable:
        return schema
    merged = {k: v for k, v in schema.items() if k != "allOf"}
    for part in parts:
        if "properties" in part:
            merged["type"] = "object"
            merged["properties"] = {**merged.get("properties", {}), **part["properties"]}
        if part.get("required"):
            merged["required"] = list(dict.fromkeys(merged.get("required", []) + part["required"]))
        if "description" in part:
            merged.setdefault("description", part["description"])
        if part.get("additionalProperties") is False:
            merged["additionalProperties"] = False
    if len(parts) == 1 and "properties" not in parts[0]:
        merged.update({k: v for k, v in parts[0].items() if k not in merged})
    return merged


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        schema["type"] = [*kind, "null"]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema


def accepts_null(schema: dict[str, Any]) -> bool:
    """Whether ``null`` is a meaningful value for this schema (so it must be sent, not dropped)."""
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    if None in schema.get("enum", []) or ("const" in schema and schema["const"] is None):
        return True
    return any(accepts_null(s) for key in ("anyOf", "oneOf") for s in schema.get(key, []))


# ---------------------------------------------------------------------------- models


def field_name(key: str, taken: set[str]) -> str:
    """A Python attribute name for a JSON property; the property name becomes its alias."""
    name = key
    if (
        not _FIELD_NAME.match(name)
        or keyword.iskeyword(name)
        or hasattr(BaseModel, name)
        or name.startswith("model_")
    ):
        name = "f_" + re.sub(r"[^A-Za-z0-9_]", "_", key)
    base, n = name, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def args_model_from_schema(
    model_name: str,
    properties: dict[str, dict[str, Any]],
    required: set[str] | list[str],
    batch: SchemaBatch | None = None,
) -> type[BaseModel]:
    """The argument model of an object schema whose properties are already cleaned.

    Optional arguments also accept ``null`` (small models often send it for "not given");
    the caller decides whether a ``null`` is sent or dropped. A schema pydantic cannot turn
    into a validator raises ``InvalidSchema``, so callers have one error to handle. Nested
    objects of equal shape share one model, within this schema and across the ``batch``:
    building a model is slow, and inlined shared definitions repeat shapes many times.
    """
    models = batch.models if batch is not None else {}
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*shadows an attribute in parent")
            return _object_model(
                model_name,
                properties,
                set(required),
                extra="forbid",
                lenient_optional=True,
                models=models,
            )
    except InvalidSchema:
        raise
    except (PydanticCoreSchemaError, TypeError, ValueError) as exc:
        detail = " ".join(str(exc).split())
        raise InvalidSchema(
            "#", f"no validator can be built from this schema: {detail[:300]}"
        ) from None


def _object_model(
    model_name: str,
    properties: dict[str, Any],
    required: set[str],
    *,
    extra: Literal["allow", "forbid"],
    lenient_optional: bool,
    models: dict[str, type[BaseModel]],
) -> type[BaseModel]:
    shape = ""
    if not lenient_optional:  # a nested object: reuse the model of an equal shape
        text = json.dumps([properties, sorted(required), extra], sort_keys=True, default=str)
        shape = hashlib.sha256(text.encode()).hexdigest()
        if shape in models:
            return models[shape]
    fields: dict[str, Any] = {}
    taken: set[str] = set()
    for key, schema in properties.items():
        annotation = annotation_for(schema, f"{model_name}_{key}", models)
        name = field_name(key, taken)
        alias = key if name != key else None
        if key in required:
            fields[name] = (annotation, Field(alias=alias))
        else:
            if lenient_optional:
                annotation = Optional[annotation]  # noqa: UP045 - a runtime-built annotation
            default = schema.get("default")
            fields[name] = (annotation, Field(default=default, alias=alias))
    config = ConfigDict(
        extra=extra, protected_namespaces=(), regex_engine="python-re", populate_by_name=False
    )
    model = create_model(_class_name(model_name), __config__=config, **fields)
    if shape:
        models[shape] = model
    return model


def _class_name(hint: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^0-9a-zA-Z]+", hint) if part) or "Args"


def annotation_for(
    schema: dict[str, Any], hint: str, models: dict[str, type[BaseModel]] | None = None
) -> Any:
    """The Python type that validates values of ``schema`` (``Any`` where it says nothing).

    ``models`` holds nested object models already built, by shape, to reuse.
    """
    models = {} if models is None else models
    if not schema:
        return Any
    if "const" in schema:
        value = schema["const"]
        return Literal[value] if isinstance(value, _SCALAR) else Any
    if "enum" in schema:
        values = tuple(schema["enum"])
        if values and all(isinstance(v, _SCALAR) for v in values):
            return Literal[values]
        return Any
    for key in ("anyOf", "oneOf"):
        if key in schema:
            members = [
                annotation_for(sub, f"{hint}_{i}", models) for i, sub in enumerate(schema[key])
            ]
            if any(m is Any for m in members):
                return Any
            return Union[tuple(members)]  # noqa: UP007 - built at runtime
    if "allOf" in schema:
        return Any  # parts that could not be merged: let the server judge
    kind = schema.get("type")
    if isinstance(kind, list):
        members = [_single(k, schema, hint, models) for k in kind]
        return Union[tuple(members)] if len(members) > 1 else members[0]  # noqa: UP007
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else None
    return _single(kind, schema, hint, models) if kind else Any


def _single(
    kind: str, schema: dict[str, Any], hint: str, models: dict[str, type[BaseModel]]
) -> Any:
    if kind == "null":
        return type(None)
    if kind == "string":
        return _constrained(
            str,
            min_length=schema.get("minLength"),
            max_length=schema.get("maxLength"),
            pattern=schema.get("pattern"),
        )
    if kind == "number":
        return _constrained(
            float,
            ge=schema.get("minimum"),
            le=schema.get("maximum"),
            gt=schema.get("exclusiveMinimum"),
            lt=schema.get("exclusiveMaximum"),
            multiple_of=schema.get("multipleOf"),
        )
    if kind == "integer":
        return _constrained(int, **_integer_bounds(schema))
    if kind == "boolean":
        return bool
    if kind == "array":
        items = schema.get("items")
        item = annotation_for(items, f"{hint}_item", models) if isinstance(items, dict) else Any
        return _constrained(
            list[item],  # type: ignore[valid-type]  # a type built at run time
            min_length=schema.get("minItems"),
            max_length=schema.get("maxItems"),
        )
    if kind == "object":
        props = schema.get("properties")
        if isinstance(props, dict) and props:
            extra: Literal["allow", "forbid"] = (
                "forbid" if schema.get("additionalProperties") is False else "allow"
            )
            return _object_model(
                hint,
                props,
                set(schema.get("required", [])),
                extra=extra,
                lenient_optional=False,
                models=models,
            )
        values = schema.get("additionalProperties")
        value = annotation_for(values, f"{hint}_value", models) if isinstance(values, dict) else Any
        return dict[str, value]  # type: ignore[valid-type]
    return Any


def _integer_bounds(schema: dict[str, Any]) -> dict[str, Any]:
    """Bounds of an integer as whole numbers (pydantic's ``int`` takes no ``ge=0.5``).

    ``minimum: 0.5`` allows the same integers as ``minimum: 1``; a fractional ``multipleOf``
    is left to the server, since whole numbers cannot express it.
    """

    def whole(value: Any, up: bool) -> Any:
        if not isinstance(value, float) or isinstance(value, bool):
            return value
        return math.ceil(value) if up else math.floor(value)

    multiple = schema.get("multipleOf")
    return {
        "ge": whole(schema.get("minimum"), True),
        "le": whole(schema.get("maximum"), False),
        "gt": whole(schema.get("exclusiveMinimum"), False),
        "lt": whole(schema.get("exclusiveMaximum"), True),
        "multiple_of": multiple
        if isinstance(multiple, int)
        else int(multiple)
        if isinstance(multiple, float) and multiple.is_integer()
        else None,
    }


def _constrained(base: Any, **constraints: Any) -> Any:
    given = {k: v for k, v in constraints.items() if v is not None and not isinstance(v, bool)}
    return Annotated[base, Field(**given)] if given else base


# ---------------------------------------------------------------------------- whole schemas


def inline_refs(
    schema: dict[str, Any], limits: SchemaLimits = DEFAULT_LIMITS, batch: SchemaBatch | None = None
) -> dict[str, Any]:
    """The schema with local ``#/...`` references replaced by what they point to.

    Tool schemas generated from Python types (MCP servers) keep nested models under
    ``$defs``; ``clean_schema`` expects them resolved. A recursive reference cannot be
    inlined and becomes ``{}`` (any value); the tool's own server still checks it. The
    expansion spends an ``ExpansionBudget``: definitions shared many times over, or nesting
    past ``limits``, raise ``SchemaTooLarge`` instead of growing without end.
    """
    inlined: dict[str, Any] = _Inliner(schema, ExpansionBudget(limits, batch)).walk(
        schema, (), 0, "#"
    )
    return inlined


class _Inliner:
    """One expansion of a schema's local references, within a budget."""

    def __init__(self, schema: dict[str, Any], budget: ExpansionBudget) -> None:
        self.schema = schema
        self.budget = budget
        self.targets: dict[str, Any] = {}

    def target(self, ref: str) -> Any:
        if ref not in self.targets:
            node: Any = self.schema
            for part in ref.lstrip("#").strip("/").split("/"):
                if part:
                    part = part.replace("~1", "/").replace("~0", "~")
                    node = node.get(part) if isinstance(node, dict) else None
            self.targets[ref] = node
        return self.targets[ref]

    def data(self, value: Any, depth: int, at: _Pointer) -> Any:
        """A copy of a value (a default, an enum) that is data, not schema: no $ref in it."""
        self.budget.spend(value, depth, at)
        if isinstance(value, list):
            return [self.data(item, depth + 1, child(at, i)) for i, item in enumerate(value)]
        if isinstance(value, dict):
            return {key: self.data(item, depth + 1, child(at, key)) for key, item in value.items()}
        return value

    def walk(self, node: Any, stack: tuple[str, ...], depth: int, at: _Pointer) -> Any:
        self.budget.spend(node, depth, at)
        if isinstance(node, list):
            return [self.walk(item, stack, depth + 1, child(at, i)) for i, item in enumerate(node)]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            found = self.target(ref)
            rest = {k: v for k, v in node.items() if k != "$ref"}
            if ref in stack or not isinstance(found, dict):
                return self.walk(rest, stack, depth + 1, at)
            return self.walk({**found, **rest}, (*stack, ref), depth + 1, at)
        return {
            key: value
            if key == "examples"  # dropped by clean_schema
            else self.data(value, depth + 1, child(at, key))
            if key in ("default", "enum", "const")
            else self.walk(value, stack, depth + 1, child(at, key))
            for key, value in node.items()
            if key not in ("$defs", "definitions")
        }


def parameters_schema(
    schema: dict[str, Any], limits: SchemaLimits = DEFAULT_LIMITS, batch: SchemaBatch | None = None
) -> dict[str, Any]:
    """A tool's argument schema as the model is shown it: references inlined, cleaned.

    Raises ``InvalidSchema`` (a ``ValueError`` naming the JSON pointer) for a schema that is
    malformed or larger than ``limits``; a ``batch`` counts it toward the limits of all the
    tools of one server.
    """
    if not isinstance(schema, dict):
        raise TypeError(f"an argument schema must be a JSON object, got {type(schema).__name__}")
    if schema.get("type", "object") != "object":
        raise ValueError(
            f"an argument schema must have type 'object' at its root, "
            f"got {kind(schema.get('type'))}"
        )
    cleaned = clean_schema(inline_refs(schema, limits, batch), "#", limits)
    cleaned["type"] = "object"
    cleaned.setdefault("properties", {})
    check_size(cleaned, limits)
    return cleaned


def model_from_json_schema(
    schema: dict[str, Any],
    name: str,
    limits: SchemaLimits = DEFAULT_LIMITS,
    batch: SchemaBatch | None = None,
) -> type[BaseModel]:
    """The validating argument model of a whole tool schema (an object at the root)."""
    cleaned = parameters_schema(schema, limits, batch)
    return args_model_from_schema(
        f"{name}_args", cleaned["properties"], cleaned.get("required", []), batch
    )


def dump_arguments(args: BaseModel, schema: dict[str, Any]) -> dict[str, Any]:
    """Validated arguments under their JSON names, for sending to the tool's server.

    Arguments the caller left out stay out (the server applies its own defaults), and so
    does a ``null`` for a property whose ``schema`` (cleaned, as ``parameters_schema``
    returns it) does not accept ``null``: small models send it for "not given".
    """
    properties = schema.get("properties", {})
    data = args.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return {
        key: value
        for key, value in data.items()
        if value is not None or accepts_null(properties.get(key, {"type": "null"}))
    }


__all__ = [
    "DEFAULT_LIMITS",
    "InvalidSchema",
    "SchemaBatch",
    "SchemaLimits",
    "SchemaTooLarge",
    "accepts_null",
    "annotation_for",
    "args_model_from_schema",
    "clean_schema",
    "dump_arguments",
    "field_name",
    "inline_refs",
    "model_from_json_schema",
    "parameters_schema",
]
