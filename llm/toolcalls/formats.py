"""Finding tool-call attempts in model text, in the formats small and local models emit.

Each recognizer reads one family of formats — Hermes ``<tool_call>`` tags, ``<function=name>``
tags, ReAct ``Action:`` lines, bare JSON (also fenced or after ``[TOOL_CALLS]``) and
``name(key=value)`` calls — and masks what it consumed so later recognizers do not read it
twice. Nothing here is evaluated: JSON is decoded, Python-style literals go through
``ast.literal_eval``. Validation against tool schemas happens in ``tool_call_parsing``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from hanlin.llm.toolcalls.json_repair import (
    FAIL,
    FINAL_ANSWER,
    CallShape,
    name_hint,
    parse_call_expression,
    parse_value,
    plain_scalar,
    scan_balanced,
    shapes_from_value,
)

NO_INPUT: Any = object()  # a ReAct ``Action:`` with no ``Action Input``


@dataclass
class Attempt:
    """One tool call the text tries to make, readable or not."""

    start: int
    style: str  # "hermes" | "json" | "react" | "function"
    name: str | None = None
    arguments: Any = None  # a dict, a scalar to map onto one parameter, or NO_INPUT
    call_id: str | None = None
    problem: str | None = None  # set when the attempt could not be read


@dataclass
class Extraction:
    attempts: list[Attempt] = field(default_factory=list)
    removals: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, replace)


_OPEN_TAG = re.compile(
    r"<\|?(?:tool_call|toolcall|tool_calls|function_call|functioncall)\|?>", re.IGNORECASE
)
_CLOSE_TAG = re.compile(
    r"<\|?/(?:tool_call|toolcall|tool_calls|function_call|functioncall)\|?>", re.IGNORECASE
)
_FUNC_OPEN = re.compile(r"<function=[\"']?([^>\s\"']+)[\"']?>", re.IGNORECASE)
_FUNC_CLOSE = re.compile(r"</function>", re.IGNORECASE)
_PARAM = re.compile(
    r"<parameter=[\"']?([^>\s\"']+)[\"']?>(.*?)(?:</parameter>|(?=<parameter=)|\Z)",
    re.IGNORECASE | re.DOTALL,
)
_RESPONSE = re.compile(r"<tool_response>.*?(?:</tool_response>|\Z)", re.IGNORECASE | re.DOTALL)
_ACTION = re.compile(
    r"^[ \t>*#-]*Action[ \t]*\d*[ \t]*\**[ \t]*:[ \t]*(.*)$", re.IGNORECASE | re.MULTILINE
)
_ACTION_INPUT = re.compile(
    r"\s*[>*#-]*[ \t]*Action[ \t]*Input[ \t]*\d*[ \t]*\**[ \t]*:\**", re.IGNORECASE
)
_MARKER = re.compile(
    r"^[ \t>*#-]*(?:Thought|Action|Observation|Final[ \t]*Answer|Question)\b[^\n:]{0,20}:",
    re.IGNORECASE | re.MULTILINE,
)
_FENCE = re.compile(r"```[\w-]*[ \t]*\n(.*?)```", re.DOTALL)
_OPENER = re.compile(r"[\[{]")
_JSON_START = re.compile(r"""\[\s*\{|\{\s*["']""")  # where a call object or list can begin
_CALLISH_AT = re.compile(r"""(?:\[\s*)*\{\s*(["'])(?:name|function|tool|tool_name|action)\1\s*:""")
_ARGUMENTS_KEY = re.compile(
    r"""["'](?:arguments|parameters|args|tool_input|input|action_input|function)["']\s*:"""
)
_EXPRESSION_LIMIT = 50_000  # longest name(...) call looked for, in characters
_EXPRESSION_MISSES = 50  # unreadable name(...) matches tolerated before giving up
_MARKER_BEFORE = re.compile(r"(?:\[TOOL_CALLS\]|<\|python_tag\|>|functools)\s*$")
# An empty "Observation:" the model left for the result.
_OBSERVATION_STUB = re.compile(r"\s*Observation[ \t]*:\s*\Z", re.IGNORECASE)
_NOT_A_CALL = re.compile(r"^(?:none|n/?a|no action|nothing)$", re.IGNORECASE)


class _Scan:
    """The text being read, with consumed spans blanked out (newlines kept, offsets stable)."""

    def __init__(self, text: str, params: dict[str, list[str]]):
        self.masked = text
        self.params = params
        self.out = Extraction()

    def consume(self, start: int, end: int, replacement: str = "") -> None:
        self.out.removals.append((start, end, replacement))
        blank = re.sub(r"[^\n]", " ", self.masked[start:end])
        self.masked = self.masked[:start] + blank + self.masked[end:]

    def add(
        self,
        start: int,
        style: str,
        name: str | None,
        arguments: Any,
        problem: str | None = None,
        call_id: str | None = None,
    ) -> None:
        self.out.attempts.append(Attempt(start, style, name, arguments, call_id, problem))

    def record(self, shapes: list[CallShape], start: int, style: str) -> str:
        """Adds the shapes as attempts; returns the final-answer text among them, if any."""
        for s in shapes:
            if s.answer is None:
                self.add(start, style, s.name, s.arguments, s.problem, s.call_id)
        return "\n".join(s.answer for s in shapes if s.answer is not None)


def _tool_responses(scan: _Scan) -> None:
    """Results the model invented for itself are neither calls nor content."""
    for match in list(_RESPONSE.finditer(scan.masked)):
        scan.consume(match.start(), match.end())


def _hermes(scan: _Scan) -> None:
    """``<tool_call>`` blocks (and their ``<function_call>``/``<|tool_call|>`` cousins)."""
    pos = 0
    while match := _OPEN_TAG.search(scan.masked, pos):
        body_end, close_end = _block_bounds(
            scan.masked, match.end(), len(scan.masked), _OPEN_TAG, _CLOSE_TAG
        )
        read_end = _read_block(scan, match.start(), match.end(), body_end, close_end is not None)
        end = close_end if close_end is not None else read_end
        scan.consume(match.start(), end)
        pos = end


def _block_bounds(
    text: str, start: int, hi: int, opening: re.Pattern[str], closing: re.Pattern[str]
) -> tuple[int, int | None]:
    """(where the body ends, where the closing tag ends or None when the block is unclosed).

    An unclosed block runs to the next opening tag, or to ``hi``.
    """
    close = closing.search(text, start, hi)
    following = opening.search(text, start, hi)
    if close is not None and (following is None or close.start() < following.start()):
        return close.start(), close.end()
    return (following.start() if following else hi), None


def _read_block(scan: _Scan, tag_start: int, start: int, end: int, complete: bool) -> int:
    """Reads the calls in one ``<tool_call>`` body; returns where what was read ends."""
    text = scan.masked[:end]
    body = text[start:].strip()
    if body.lower().startswith("<function="):
        return _function_tags(scan, start, end, consume=False)
    if not body:
        scan.add(tag_start, "hermes", None, None, "the <tool_call> block is empty")
        return end
    pos, first = start, True
    while True:
        opener = _OPENER.search(text, pos)
        if (
            opener
            and not first
            and not re.fullmatch(r"[\s,`]*(?:json)?[\s,`]*", text[pos : opener.start()])
        ):
            opener = None
        if opener is None:
            if first:
                _block_expression(scan, tag_start, body)
                return end
            return end if complete else pos
        parsed = parse_value(text, opener.start(), repair=complete)
        if parsed is None:
            problem = "the text inside <tool_call> is not valid JSON"
            scan.add(tag_start, "hermes", name_hint(text[opener.start() :]), None, problem)
            return end
        shapes = shapes_from_value(parsed[0], scan.params)
        if shapes is None:
            problem = 'the JSON inside <tool_call> has no "name" and "arguments"'
            scan.add(tag_start, "hermes", name_hint(text[opener.start() :]), None, problem)
        else:
            scan.record(shapes, tag_start, "hermes")
        pos, first = parsed[1], False


def _block_expression(scan: _Scan, start: int, body: str) -> None:
    """A ``<tool_call>`` holding ``name(key=value)`` instead of JSON."""
    source = _FENCE.sub(lambda m: m.group(1), body).strip().strip("`")
    name = re.match(r"[\w.]+", source)
    result = parse_call_expression(source, scan.params.get(name.group(0)) if name else None)
    if result is None:
        scan.add(start, "hermes", name_hint(body), None, "the text inside <tool_call> is not JSON")
    elif result[1] is FAIL:
        scan.add(start, "hermes", result[0], None, "the arguments are not plain literals")
    else:
        scan.add(start, "hermes", result[0], result[1])


def _function_tags(scan: _Scan, lo: int = 0, hi: int | None = None, *, consume: bool = True) -> int:
    """``<function=name>{json}</function>`` and ``<function=name><parameter=k>v</parameter>``."""
    hi = len(scan.masked) if hi is None else hi
    pos = lo
    while match := _FUNC_OPEN.search(scan.masked, pos, hi):
        text = scan.masked
        body_end, close_end = _block_bounds(text, match.end(), hi, _FUNC_OPEN, _FUNC_CLOSE)
        end = close_end if close_end is not None else body_end
        arguments, problem = _tag_arguments(text[:body_end], match.end(), close_end is not None)
        scan.add(match.start(), "hermes", match.group(1), arguments, problem)
        if consume:
            scan.consume(match.start(), end)
        pos = end
    return hi if not consume else pos


def _tag_arguments(text: str, start: int, complete: bool) -> tuple[Any, str | None]:
    body = text[start:]
    if "<parameter=" in body.lower():
        return {m.group(1): plain_scalar(m.group(2).strip()) for m in _PARAM.finditer(body)}, None
    opener = _OPENER.search(text, start)
    if not body.strip():
        return {}, None
    parsed = parse_value(text, opener.start(), repair=complete) if opener else None
    if parsed is None or not isinstance(parsed[0], dict):
        return None, "the arguments after <function=...> are not a JSON object"
    return parsed[0], None


def _react(scan: _Scan) -> None:
    """``Action: tool`` + ``Action Input: ...`` blocks, and ``Action: tool[input]``."""
    for match in list(_ACTION.finditer(scan.masked)):
        text = scan.masked
        value = match.group(1).strip().strip("`*'\" ")
        given = _ACTION_INPUT.match(text, match.end())
        input_start = given.end() if given else match.end()
        marker = _MARKER.search(text, input_start) if given else None
        input_end = marker.start() if marker else len(text)
        if not value or value.startswith(("{", "[")) or _NOT_A_CALL.match(value):
            if not value and given:
                scan.add(match.start(), "react", None, None, "the Action line names no tool")
                scan.consume(match.start(), input_end)
            continue
        if FINAL_ANSWER.match(value):
            if given:
                scan.consume(match.start(), input_end, text[input_start:input_end].strip())
            continue
        end = match.end()
        bracket = re.fullmatch(r"([\w.\-]+)\s*\[(.*)\]", value, re.DOTALL)
        call = re.fullmatch(r"([\w.\-]+)\s*\((.*)\)", value, re.DOTALL)
        if bracket:
            arguments, problem, _ = _react_input(bracket.group(2), True)
            scan.add(match.start(), "react", bracket.group(1), arguments, problem)
        elif call and (result := parse_call_expression(value, scan.params.get(call.group(1)))):
            problem = "the arguments are not plain literals" if result[1] is FAIL else None
            scan.add(match.start(), "react", result[0], None if problem else result[1], problem)
        elif given:
            arguments, problem, used = _react_input(text[input_start:input_end], marker is not None)
            scan.add(match.start(), "react", value, arguments, problem)
            end = input_start + used
        else:
            scan.add(match.start(), "react", value, NO_INPUT)
        stub = _OBSERVATION_STUB.match(text, end)
        scan.consume(match.start(), stub.end() if stub else end)


def _react_input(raw: str, complete: bool) -> tuple[Any, str | None, int]:
    """(arguments, problem, characters of ``raw`` used) for one Action Input."""
    lead = len(raw) - len(raw.lstrip())
    fence = re.match(r"```[\w-]*[ \t]*\n?(.*?)```", raw[lead:], re.DOTALL)
    inner, used = (fence.group(1), lead + fence.end()) if fence else (raw, None)
    body = inner.strip()
    if not body:
        return NO_INPUT, None, used or len(raw)
    if body[0] in "{[":
        parsed = parse_value(inner, inner.index(body[0]), repair=complete or fence is not None)
        if parsed is None:
            return None, "the Action Input is not valid JSON", used or len(raw)
        return parsed[0], None, used or parsed[1]
    paragraph = re.split(r"\n[ \t]*\n", body, maxsplit=1)[0]
    return plain_scalar(paragraph.strip()), None, used or inner.index(body) + len(paragraph)


def _bare_json(scan: _Scan) -> None:
    """JSON calls anywhere in the text: alone, fenced, in prose, after ``[TOOL_CALLS]``."""
    fences = [(f.start(), f.start(1), f.end(1), f.end()) for f in _FENCE.finditer(scan.masked)]
    pos = 0
    while opener := _JSON_START.search(scan.masked, pos):
        text, start = scan.masked, opener.start()
        fence = next((f for f in fences if f[1] <= start < f[2]), None)
        fence_end = fence[2] if fence else None
        callish = _looks_like_call(text, start)
        bounded = text[:fence_end] if fence_end else text
        try:
            parsed = parse_value(bounded, start, repair=fence_end is not None, lenient=callish)
        except RecursionError:
            parsed = None
        if parsed is None:
            if not callish:
                pos = start + 1
                continue
            end = scan_balanced(text, start)[0] or fence_end or len(text)
            problem = "the JSON of the call is not valid (unbalanced brackets or quotes?)"
            scan.add(start, "json", name_hint(text[start:end]), None, problem)
            scan.consume(start, end)
            pos = end
            continue
        value, end = parsed
        shapes = shapes_from_value(value, scan.params)
        if shapes is None:
            pos = end if isinstance(value, dict) else start + 1
            continue
        while text[end : end + 1] in ("}", "]"):  # extra brackets some models add after a call
            end += 1
        prefix = _MARKER_BEFORE.search(text, max(0, start - 40), start)
        cut = (prefix.start() if prefix else start, end)
        if fence and not text[fence[1] : start].strip() and not text[end : fence[2]].strip():
            cut = (fence[0], fence[3])  # the fence holds only the call: drop the fence too
        scan.consume(*cut, scan.record(shapes, start, "json"))
        pos = end


def _looks_like_call(text: str, start: int) -> bool:
    """A tool name key up front and an arguments key soon after: a call, even if unreadable."""
    if _CALLISH_AT.match(text, start) is None:
        return False
    return _ARGUMENTS_KEY.search(text, start, start + 500) is not None


def _call_expressions(scan: _Scan) -> None:
    """``tool(key="value")`` for known tool names; literal arguments only."""
    if not scan.params:
        return
    names = "|".join(re.escape(n) for n in sorted(scan.params, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w.])(?:functions\.)?({names})\s*\(")
    pos, misses = 0, 0
    while misses < _EXPRESSION_MISSES and (match := pattern.search(scan.masked, pos)):
        text, name = scan.masked, match.group(1)
        end = scan_balanced(text, match.end() - 1, _EXPRESSION_LIMIT)[0]
        alone = _stands_alone(text, match.start(), end or len(text))
        result = (
            parse_call_expression(text[match.start() : end], scan.params[name]) if end else None
        )
        if result is None or result[1] is FAIL:
            misses += 1
            if alone:
                problem = (
                    "the call is not complete"
                    if end is None
                    else "the arguments are not plain literals"
                )
                scan.add(match.start(), "function", name, None, problem)
                scan.consume(match.start(), end or len(text))
            pos = end if alone and end else match.end()
            continue
        assert end is not None  # a call is only read once its closing bracket was found
        scan.add(match.start(), "function", name, result[1])
        scan.consume(match.start(), end)
        pos = end


def _stands_alone(text: str, start: int, end: int) -> bool:
    """A call on a line of its own is meant as a call, even when it cannot be read."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    before, after = text[line_start:start], text[end : line_end if line_end >= 0 else len(text)]
    return bool(re.fullmatch(r"[\s`\[,>*-]*", before) and re.fullmatch(r"[\s`\],;.]*", after))


def extract_attempts(text: str, params: dict[str, list[str]]) -> Extraction:
    """Every tool-call attempt in ``text``, in order, and the spans to cut from the content.

    ``params`` maps known tool names to their parameter names (in declaration order); it
    enables ``name(...)`` calls and flat ``{"name": ..., "<param>": ...}`` objects.
    """
    scan = _Scan(text, params)
    for recognizer in (
        _tool_responses,
        _hermes,
        _function_tags,
        _react,
        _bare_json,
        _call_expressions,
    ):
        recognizer(scan)
    scan.out.attempts.sort(key=lambda attempt: attempt.start)
    return scan.out
