"""From a Python signature and docstring to a pydantic argument model and a flat JSON schema.

The argument model is the single source of truth: it validates what the model sends and
produces the schema the model sees, so the two can never disagree. Schemas are flattened
(``$defs`` inlined, titles dropped) because small models follow a flat schema far better
than one full of ``$ref`` pointers.
"""

from __future__ import annotations

import inspect
import re
import typing
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo

from hanlin.tools.schema_limits import SchemaLimits

DEFAULT_LIMITS = SchemaLimits()

# ---------------------------------------------------------------------------- docstrings

_GOOGLE_ARGS = {
    "args",
    "arguments",
    "parameters",
    "params",
    "keyword args",
    "keyword arguments",
    "other parameters",
}
_GOOGLE_SECTION = re.compile(
    r"^(args|arguments|parameters|params|keyword args|keyword arguments|other parameters|"
    r"returns?|yields?|raises?|examples?|notes?|attributes|see also|todo|warnings?|"
    r"references)\s*:\s*$",
    re.IGNORECASE,
)
_NUMPY_UNDERLINE = re.compile(r"^-{3,}\s*$")
_REST_FIELD = re.compile(r"^:(\w+)(?:\s+([^:]*?))?\s*:\s*(.*)$")
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")
_NUMPY_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?::\s*(.*))?$")


@dataclass
class DocInfo:
    """What a docstring says: a one-line summary and a description per parameter."""

    summary: str = ""
    params: dict[str, str] = field(default_factory=dict)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _join(lines: list[str]) -> str:
    return " ".join(part.strip() for part in lines if part.strip())


def parse_docstring(doc: str | None) -> DocInfo:
    """Read the summary and parameter descriptions from a Google, reST or NumPy docstring."""
    if not doc:
        return DocInfo()
    lines = inspect.cleandoc(doc).splitlines()
    info = DocInfo()
    summary: list[str] = []
    i = 0
    while i < len(lines) and lines[i].strip():
        stripped = lines[i].strip()
        if _GOOGLE_SECTION.match(stripped) or _REST_FIELD.match(stripped):
            break
        if i + 1 < len(lines) and _NUMPY_UNDERLINE.match(lines[i + 1].strip()):
            break
        summary.append(stripped)
        i += 1
    info.summary = _join(summary)

    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        rest_match = _REST_FIELD.match(stripped)
        if rest_match and rest_match.group(1) in ("param", "parameter", "arg", "argument"):
            name = (rest_match.group(2) or "").split()[-1:] or [""]
            text = [rest_match.group(3)]
            i += 1
            while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith(":"):
                text.append(lines[i])
                i += 1
            if name[0]:
                info.params[name[0]] = _join(text)
            continue
        google = _GOOGLE_SECTION.match(stripped)
        numpy = (
            i + 1 < len(lines)
            and _NUMPY_UNDERLINE.match(lines[i + 1].strip())
            and stripped.lower() in _GOOGLE_ARGS
        )
        if google and google.group(1).lower() in _GOOGLE_ARGS:
            i = _read_entries(lines, i + 1, _indent(lines[i]), info.params, _GOOGLE_ENTRY)
            continue
        if numpy:
            i = _read_entries(lines, i + 2, _indent(lines[i]) - 1, info.params, _NUMPY_ENTRY)
            continue
        i += 1
    return info


def _read_entries(
    lines: list[str], i: int, section_indent: int, out: dict[str, str], entry: re.Pattern[str]
) -> int:
    """Read ``name: text`` entries of one section; continuation lines are indented deeper."""
    entry_indent: int | None = None
    name: str | None = None
    text: list[str] = []
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        indent = _indent(line)
        next_is_underline = i + 1 < len(lines) and _NUMPY_UNDERLINE.match(lines[i + 1].strip())
        if indent <= section_indent or next_is_underline:
            break
        if entry_indent is None:
            entry_indent = indent
        match = entry.match(line.strip()) if indent == entry_indent else None
        if match:
            if name:
                out[name] = _join(text)
            name = match.group(1)
            # NumPy puts the type after the colon and the text below; Google the text.
            text = [match.group(3)] if entry is _GOOGLE_ENTRY else []
        elif indent > entry_indent:
            text.append(line)
        else:
            break
        i += 1
    if name:
        out[name] = _join(text)
    return i


# ---------------------------------------------------------------------------- models

_SKIPPED = {"self", "cls"}


def _model_name(tool_name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^0-9a-zA-Z]+", tool_name)) + "Args"


def _with_description(annotation: Any, description: str | None) -> Any:
    """Attach a docstring description unless the annotation already carries its own."""
    if not description:
        return annotation
    if typing.get_origin(annotation) is Annotated:
        base, *metadata = typing.get_args(annotation)
        if any(isinstance(m, FieldInfo) and m.description for m in metadata):
            return annotation
        return Annotated[base, Field(description=description), *metadata]
    return Annotated[annotation, Field(description=description)]


def args_model_from_function(
    fn: Callable[..., Any], tool_name: str, descriptions: dict[str, str] | None = None
) -> type[BaseModel]:
    """Build the pydantic model of ``fn``'s arguments from its signature.

    Every parameter needs a type annotation: the annotation is what the model is told to send.
    """
    descriptions = descriptions or {}
    signature = inspect.signature(fn)
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except NameError as exc:
        raise TypeError(f"tool {tool_name!r}: cannot resolve a type annotation ({exc})") from exc
    fields: dict[str, Any] = {}
    for name, param in signature.parameters.items():
        if name in _SKIPPED:
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(
                f"tool {tool_name!r}: *args / **kwargs cannot be described to a "
                f"model; declare each parameter ({name!r})"
            )
        if param.kind is param.POSITIONAL_ONLY:
            raise TypeError(
                f"tool {tool_name!r}: parameter {name!r} is positional-only; "
                "tool arguments are passed by name"
            )
        if name not in hints:
            raise TypeError(f"tool {tool_name!r}: parameter {name!r} has no type annotation")
        default = ... if param.default is param.empty else param.default
        fields[name] = (_with_description(hints[name], descriptions.get(name)), default)
    config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())
    with warnings.catch_warnings():
        # A parameter called `json` or `copy` shadows a BaseModel method; harmless here,
        # since arguments are read back from the instance, where the field value wins.
        warnings.filterwarnings("ignore", message=".*shadows an attribute in parent")
        return create_model(_model_name(tool_name), __config__=config, **fields)


# ---------------------------------------------------------------------------- JSON schema

_SUBSCHEMA_KEYS = ("items", "additionalProperties", "not", "contains", "propertyNames")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


_SMALL_DEFINITION = 1_000  # values: a definition this small is inlined wherever it is used


def flat_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with ``$defs`` inlined and titles removed.

    A recursive model cannot be inlined; its definitions stay under ``$defs``. Nor can nested
    models that share definitions so often that inlining them all would grow past
    ``SchemaLimits`` (a model with two fields of a model with two fields of ... doubles with
    each level): then small definitions are still inlined, and the large ones stay under
    ``$defs``, so the schema grows no faster than the model.
    """
    schema = model.model_json_schema()
    defs: dict[str, Any] = schema.pop("$defs", {})
    sizes = _inlined_sizes(defs)
    inlined = (
        set(defs)
        if _inlined_size(schema, sizes) <= DEFAULT_LIMITS.max_nodes
        else {key for key, size in sizes.items() if size <= _SMALL_DEFINITION}
    )
    kept: dict[str, Any] = {}

    def resolve(node: Any, stack: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [resolve(item, stack) for item in node]
        if not isinstance(node, dict):
            return node
        node = dict(node)
        ref = node.pop("$ref", None)
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            key = ref.removeprefix("#/$defs/")
            if key in stack or key not in inlined:
                kept[key] = defs[key]  # recursive, or large and shared: keep the reference
                return {"$ref": ref, **{k: resolve(v, stack) for k, v in node.items()}}
            target = resolve(defs[key], stack + (key,))
            # Keys beside a $ref (description, default) refine the referenced schema.
            return {**target, **{k: resolve(v, stack) for k, v in node.items() if k != "title"}}
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "title":
                continue
            if key in ("properties", "$defs", "patternProperties"):
                out[key] = {name: resolve(sub, stack) for name, sub in value.items()}
            elif key in _SUBSCHEMA_KEYS or key in _SUBSCHEMA_LISTS:
                out[key] = resolve(value, stack)
            else:
                out[key] = value
        return out

    flat = resolve(schema, ())
    flat.pop("description", None)  # the tool's own description says it better
    flat.setdefault("properties", {})
    done: dict[str, Any] = {}
    while missing := [key for key in kept if key not in done]:  # kept ones may keep others
        done.update({key: resolve(kept[key], (key,)) for key in missing})
    if done:
        flat["$defs"] = done
    return flat


def _inlined_sizes(defs: dict[str, Any]) -> dict[str, int]:
    """How many values each definition becomes with its references inlined (a reference
    back into itself counts as one), capped just past the limit so the count stays cheap."""
    sizes: dict[str, int] = {}
    pending: set[str] = set()

    def size_of(key: str) -> int:
        if key not in sizes:
            if key in pending or key not in defs:
                return 1
            pending.add(key)
            sizes[key] = _inlined_size(defs[key], sizes, size_of)
            pending.discard(key)
        return sizes[key]

    for key in defs:
        size_of(key)
    return sizes


def _inlined_size(
    node: Any, sizes: dict[str, int], size_of: Callable[[str], int] | None = None
) -> int:
    cap = DEFAULT_LIMITS.max_nodes + 1
    if isinstance(node, list):
        return min(cap, 1 + sum(_inlined_size(item, sizes, size_of) for item in node))
    if not isinstance(node, dict):
        return 1
    ref = node.get("$ref")
    total = 1 + len(node)
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        key = ref.removeprefix("#/$defs/")
        total += size_of(key) if size_of is not None else sizes.get(key, 1)
    total += sum(
        _inlined_size(value, sizes, size_of)
        for key, value in node.items()
        if key != "$ref" and isinstance(value, dict | list)
    )
    return min(cap, total)


def describe_schema(schema: dict[str, Any]) -> str:
    """A short human reading of a JSON schema: ``integer``, ``one of 'a', 'b'``, ..."""
    if "enum" in schema:
        return "one of " + ", ".join(repr(v) for v in schema["enum"])
    if "const" in schema:
        return f"exactly {schema['const']!r}"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(describe_schema(s) for s in schema[key])
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items")
        return f"array of {describe_schema(items)}" if items else "array"
    if kind == "object" and schema.get("properties"):
        return "object with " + ", ".join(schema["properties"])
    if isinstance(kind, list):
        return " or ".join(kind)
    return kind or "any value"
