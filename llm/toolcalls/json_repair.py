"""Reading JSON-ish values and call expressions the way small models write them.

Strict JSON first; then Python-style literals (single quotes, ``True``/``None``, trailing
commas) through ``ast.literal_eval``; then, only for text the model visibly finished, closing
brackets it forgot. ``name(key=value)`` calls are read with ``ast``. Nothing is evaluated.
Decoded values are then recognised as calls in every dialect small models use: ``name`` +
``arguments``/``parameters``, OpenAI ``function`` objects, ``tool``/``tool_input``,
``action``/``action_input``.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from typing import Any

FAIL: Any = object()  # a value that is there but cannot be read
_DECODER = json.JSONDecoder(strict=False)  # small models put raw newlines inside strings
_PAIRS = {"{": "}", "[": "]", "(": ")"}
_LITERAL_ERRORS = (ValueError, SyntaxError, TypeError, MemoryError, RecursionError)
_JSON_WORDS = re.compile(r"\b(true|false|null)\b")
_STRINGS = re.compile(r"""("(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')""", re.DOTALL)
ARGUMENT_KEYS = ("arguments", "parameters", "args", "tool_input", "input", "action_input")
_NAME_KEYS = ("name", "tool", "tool_name", "action", "function")
_CALL_EXTRAS = ("id", "type", "index", "call_id", "thought", "reasoning")
FINAL_ANSWER = re.compile(r"^final[ _]?answer$", re.IGNORECASE)
_NAME_HINT = re.compile(r"""["']?(?:name|tool|tool_name|action|function)["']?\s*:\s*["']([^"']+)""")


def scan_balanced(
    text: str, start: int, limit: int | None = None
) -> tuple[int | None, list[str], bool]:
    """From an opening bracket: (end after its match or None, brackets left open, in a string).

    ``limit`` bounds how many characters are looked at, so repeated scans stay cheap.
    """
    stack: list[str] = []
    quote: str | None = None
    i = start
    stop = len(text) if limit is None else min(len(text), start + limit)
    while i < stop:
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in _PAIRS:
            stack.append(ch)
        elif ch in "}])":
            if not stack or _PAIRS[stack.pop()] != ch:
                return None, [], False
            if not stack:
                return i + 1, [], False
        i += 1
    return None, stack, quote is not None


def python_literal(source: str) -> Any:
    """A dict or list written Python-style (single quotes, True/None, trailing commas)."""
    pieces = _STRINGS.split(source)
    words = {"true": "True", "false": "False", "null": "None"}
    for index in range(0, len(pieces), 2):  # even pieces lie outside string literals
        pieces[index] = _JSON_WORDS.sub(lambda m: words[m.group(1)], pieces[index])
    try:
        value = json_compatible(ast.literal_eval("".join(pieces).strip()))
    except _LITERAL_ERRORS:
        return FAIL
    return value if isinstance(value, (dict, list)) else FAIL


def json_compatible(value: Any) -> Any:
    """A Python literal as the JSON value it stands for: tuples become lists; bytes, sets,
    complex numbers and non-string keys raise ``ValueError`` (they cannot travel as JSON)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [json_compatible(item) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: json_compatible(item) for key, item in value.items()}
    raise ValueError(f"not a JSON value: {type(value).__name__}")


def parse_value(
    text: str, start: int, *, repair: bool = False, lenient: bool = True
) -> tuple[Any, int] | None:
    """Read one JSON-ish value at ``start``; ignore what follows it.

    ``lenient`` allows Python-style literals; ``repair`` closes brackets left open at the end
    of ``text`` — only for text the model visibly finished (a closing tag followed), never for
    output cut off mid-value.
    """
    try:
        return _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError):
        if not lenient:
            return None
    end, stack, in_string = scan_balanced(text, start)
    if end is not None:
        value = python_literal(text[start:end])
        return None if value is FAIL else (value, end)
    body = text[start:].rstrip()
    if not (repair and stack and not in_string and body[-1] not in ",:"):
        return None
    closed = body + "".join(_PAIRS[opener] for opener in reversed(stack))
    try:
        return json.loads(closed, strict=False), len(text)
    except (ValueError, RecursionError):
        value = python_literal(closed)
        return None if value is FAIL else (value, len(text))


def decode_arguments(raw: Any) -> Any:
    """Arguments given as a JSON string become a dict; other strings stay scalars."""
    if isinstance(raw, str) and not raw.strip():
        return {}  # some servers send "" for a call without arguments
    if isinstance(raw, str) and raw.strip()[:1] in ("{", "["):
        parsed = parse_value(raw.strip(), 0, repair=True)
        if parsed is None:
            return FAIL
        return parsed[0]
    return raw


def name_hint(text: str) -> str | None:
    match = _NAME_HINT.search(text)
    return match.group(1).strip() if match else None


def parse_call_expression(source: str, order: list[str] | None) -> tuple[str, Any] | None:
    """``name(key="v", ...)`` read with ``ast``: literals only, never evaluated.

    Returns (name, arguments) with arguments a dict, or ``FAIL`` when an argument is not a
    literal (or positional with no known parameter order); None when it is not a call at all.
    """
    try:
        node = ast.parse(source.strip(), mode="eval").body
    except _LITERAL_ERRORS:
        return None
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    if not isinstance(name, str):
        return None
    try:
        arguments = {
            kw.arg: json_compatible(ast.literal_eval(kw.value)) for kw in node.keywords if kw.arg
        }
        positional = [json_compatible(ast.literal_eval(arg)) for arg in node.args]
    except _LITERAL_ERRORS:
        return name, FAIL
    if len(node.keywords) != len(arguments):  # a **kwargs spread
        return name, FAIL
    if positional:
        free = [p for p in (order or []) if p not in arguments]
        if len(positional) > len(free):
            return name, FAIL
        arguments.update(zip(free, positional, strict=False))
    return name, arguments


def plain_scalar(text: str) -> Any:
    """A bare value: JSON when it reads as JSON (numbers, quoted strings), else the text."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"`":
        return text[1:-1]
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


@dataclass
class CallShape:
    """A decoded value read as a call: tool name and arguments, or a final answer, or the
    reason its arguments cannot be read."""

    name: str | None
    arguments: Any
    call_id: str | None = None
    answer: str | None = None  # a ``{"action": "Final Answer", ...}`` reply
    problem: str | None = None


def shapes_from_value(value: Any, params: dict[str, list[str]]) -> list[CallShape] | None:
    """The calls a decoded JSON value describes, or None when it is not a call at all."""
    if isinstance(value, list):
        shapes = [shapes_from_value(item, params) for item in value]
        if not value or any(s is None for s in shapes):
            return None
        return [one for group in shapes if group for one in group]
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("tool_calls"), list):
        return shapes_from_value(value["tool_calls"], params)
    shape = _shape_of_dict(value, params)
    return None if shape is None else [shape]


def _shape_of_dict(item: dict[str, Any], params: dict[str, list[str]]) -> CallShape | None:
    call_id = item.get("id") if isinstance(item.get("id"), str) else None
    function = item.get("function")
    if isinstance(function, dict):  # OpenAI: {"type": "function", "function": {...}}
        if "description" in function and "arguments" not in function:
            return None  # an echoed tool schema, not a call
        item = function
    name_key = next((k for k in _NAME_KEYS if isinstance(item.get(k), str)), None)
    arg_key = next((k for k in ARGUMENT_KEYS if k in item), None)
    if name_key is None:
        return None
    name = item[name_key].strip()
    extra = set(item) - {name_key, arg_key, *_CALL_EXTRAS}
    if arg_key is not None and extra and name not in params:
        return None  # a data record that happens to have a "name", not a call
    if arg_key == "action_input" and FINAL_ANSWER.match(name):
        answer = item["action_input"]
        return CallShape(
            None, None, answer=answer if isinstance(answer, str) else json.dumps(answer)
        )
    if arg_key is None:
        rest = {k: v for k, v in item.items() if k not in (name_key, *_CALL_EXTRAS)}
        declared = params.get(name)
        if declared is None or not set(rest) <= set(declared):
            return None  # {"name": ...} alone is a call only for a known tool
        return CallShape(name, rest, call_id)
    arguments = decode_arguments(item[arg_key])
    if arguments is FAIL:
        problem = f"the arguments of {name!r} are not valid JSON: {str(item[arg_key])[:80]!r}"
        return CallShape(name, None, call_id, problem=problem)
    return CallShape(name, {} if arguments is None else arguments, call_id)
