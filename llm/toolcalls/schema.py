"""Checking a parsed call against its tool's JSON schema, with errors a small model can act on.

The check is deliberately light — tool name, top-level parameter names, required parameters,
top-level types and enums — because deeper validation belongs to the tool itself. Harmless
slips are repaired rather than rejected: ``"3"`` for an integer, ``"Celsius"`` for the enum
value ``"celsius"``, ``null`` for an optional parameter, a differently cased tool name.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from typing import Any

from hanlin.llm.chat_model import ToolSpec
from hanlin.llm.tool_errors import ToolCallError, ToolErrorKind

_FAIL: Any = object()
_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a JSON array",
    "object": "a JSON object",
    "null": "null",
}
_EXAMPLES: dict[str, Any] = {
    "string": "...",
    "integer": 1,
    "number": 1.5,
    "boolean": True,
    "array": [],
    "object": {},
}


def _properties(spec: ToolSpec) -> dict[str, dict[str, Any]]:
    properties = spec.parameters.get("properties") or {}
    return {k: (v if isinstance(v, dict) else {}) for k, v in properties.items()}


def _required(spec: ToolSpec) -> list[str]:
    return [r for r in spec.parameters.get("required") or [] if isinstance(r, str)]


def _normal(name: str) -> str:
    name = name.strip().strip("`'\"").removesuffix("()").lower()
    name = re.sub(r"^(?:functions?|tools?)\.", "", name)
    return re.sub(r"[\s\-]+", "_", name)


def find_tool(name: str, specs: dict[str, ToolSpec]) -> ToolSpec | None:
    """The tool meant by ``name``: exact, or the one match ignoring case, ``functions.``, dashes."""
    if name in specs:
        return specs[name]
    matches = [spec for key, spec in specs.items() if _normal(key) == _normal(name)]
    return matches[0] if len(matches) == 1 else None


def single_parameter(spec: ToolSpec) -> str | None:
    """Where a plain-string input goes: the only declared, or else the only required, parameter."""
    properties, required = list(_properties(spec)), _required(spec)
    if len(properties) == 1:
        return properties[0]
    return required[0] if len(required) == 1 else None


def signature(spec: ToolSpec) -> str:
    """``name(param: type, required; ...)`` as the model should read it."""
    required = set(_required(spec))
    parts = []
    for key, schema in _properties(spec).items():
        kind = (
            f"one of {json.dumps(schema['enum'])}"
            if "enum" in schema
            else schema.get("type", "any")
        )
        parts.append(f"{key}: {kind}" + (", required" if key in required else ""))
    return f"{spec.name}(" + "; ".join(parts) + ")"


def example_call(spec: ToolSpec | None, style: str) -> str:
    """The call written correctly, in the format the model was using."""
    if spec is None:
        name, arguments = "<tool name>", {"<parameter>": "<value>"}
    else:
        properties = _properties(spec)
        keys = _required(spec) or list(properties)[:1]
        name = spec.name
        arguments = {k: _example_value(properties.get(k, {})) for k in keys if k in properties}
    payload = json.dumps(arguments, ensure_ascii=False)
    if style == "react":
        return f"Action: {name}\nAction Input: {payload}"
    if style == "function" and spec is not None:
        listed = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in arguments.items())
        return f"{name}({listed})"
    call = json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)
    return call if style == "json" else f"<tool_call>{call}</tool_call>"


def _example_value(schema: dict[str, Any]) -> Any:
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    return _EXAMPLES.get(kind if isinstance(kind, str) else "string", "...")


def unknown_tool_error(
    name: str, specs: dict[str, ToolSpec], style: str, call_id: str | None = None
) -> ToolCallError:
    names = list(specs)
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    message = f"There is no tool named {name!r}."
    if close:
        message += " Did you mean " + " or ".join(repr(c) for c in close) + "?"
    message += " Available tools: " + ", ".join(names) + "."
    message += " Call one like this: " + example_call(specs[close[0]] if close else None, style)
    return ToolCallError(
        kind=ToolErrorKind.UNKNOWN_TOOL,
        message=message,
        tool_name=name,
        call_id=call_id,
        options=close or names,
    )


def check_arguments(
    spec: ToolSpec, arguments: dict[str, Any], style: str = "hermes"
) -> tuple[dict[str, Any], list[ToolCallError]]:
    """(arguments with harmless slips repaired, errors). Errors come in the order
    hallucinated parameters, invalid values, missing parameters."""
    properties, required = _properties(spec), _required(spec)
    extras = spec.parameters.get("additionalProperties")
    allow_extra = extras is True or isinstance(extras, dict)
    usage = f" Parameters: {signature(spec)}. Example: {example_call(spec, style)}"
    checked: dict[str, Any] = {}
    unknown: list[ToolCallError] = []
    invalid: list[ToolCallError] = []
    for key, value in arguments.items():
        schema = properties.get(key, {})
        if key not in properties and not allow_extra:
            close = difflib.get_close_matches(key, list(properties), n=2, cutoff=0.6)
            hint = " Did you mean " + " or ".join(repr(c) for c in close) + "?" if close else ""
            message = f"{spec.name} has no parameter {key!r}.{hint}{usage}"
            options = close or list(properties)
            unknown.append(_error(ToolErrorKind.HALLUCINATED_PARAMETER, spec, message, options))
        elif value is not None:  # null means "not given"; a required one is reported below
            fixed, reason = _check_value(value, schema)
            if not reason:
                checked[key] = fixed
                continue
            given = json.dumps(value, ensure_ascii=False)
            message = f"{spec.name}: {key!r} {reason}, got {given}.{usage}"
            enum = [str(v) for v in schema.get("enum", [])]
            invalid.append(_error(ToolErrorKind.INVALID_VALUE, spec, message, enum))
    missing = []
    for key in required:
        if arguments.get(key) is None:
            about = properties.get(key, {}).get("description")
            detail = f" ({about})" if about else ""
            message = f"{spec.name} needs the parameter {key!r}{detail}.{usage}"
            missing.append(_error(ToolErrorKind.MISSING_PARAMETER, spec, message, []))
    return checked, unknown + invalid + missing


def _error(kind: ToolErrorKind, spec: ToolSpec, message: str, options: list[str]) -> ToolCallError:
    return ToolCallError(kind=kind, message=message, tool_name=spec.name, options=options)


def _check_value(value: Any, schema: dict[str, Any]) -> tuple[Any, str]:
    """(value, "") when acceptable (perhaps coerced), else (None, what it must be)."""
    kind = schema.get("type")
    kinds = [kind] if isinstance(kind, str) else [k for k in kind or [] if isinstance(k, str)]
    fixed = value
    if kinds:
        fixed = next((value for k in kinds if _is_type(value, k)), _FAIL)
        if fixed is _FAIL:
            fixed = next((c for k in kinds if (c := _coerce(value, k)) is not _FAIL), _FAIL)
        if fixed is _FAIL:
            return None, "must be " + " or ".join(_TYPE_WORDS.get(k, k) for k in kinds)
    enum = schema.get("enum")
    if isinstance(enum, list) and not any(fixed == e and type(fixed) is type(e) for e in enum):
        folded = [
            e
            for e in enum
            if isinstance(e, str) and isinstance(fixed, str) and e.lower() == fixed.strip().lower()
        ]
        if not folded:
            return None, "must be one of " + ", ".join(json.dumps(e) for e in enum)
        fixed = folded[0]
    return fixed, ""


def _is_type(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    expected = {"string": str, "boolean": bool, "array": list, "object": dict, "null": type(None)}
    return kind in expected and isinstance(value, expected[kind])


def _coerce(value: Any, kind: str) -> Any:
    """The obvious repair of a near miss ("3" -> 3, 3.0 -> 3, 7 -> "7"), or _FAIL."""
    text = value.strip() if isinstance(value, str) else None
    if kind == "integer":
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if text is not None and re.fullmatch(r"[+-]?\d+", text):
            return int(text)
    elif kind == "number" and text is not None:
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        try:
            number = float(text)
        except ValueError:
            return _FAIL
        return number if math.isfinite(number) else _FAIL
    elif kind == "boolean" and text is not None and text.lower() in ("true", "false"):
        return text.lower() == "true"
    elif kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    elif kind in ("array", "object") and text is not None and text[:1] in "[{":
        try:
            parsed = json.loads(text)
        except ValueError:
            return _FAIL
        return parsed if _is_type(parsed, kind) else _FAIL
    return _FAIL
