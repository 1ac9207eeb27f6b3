"""Tolerant extraction of tool calls from a model's text, checked against the offered tools.

Local models without native tool calling write their calls as text: Hermes/Qwen
``<tool_call>`` JSON, bare or fenced JSON in several dialects, ReAct ``Action:`` lines, or
``name(key=value)``. ``parse_tool_calls`` reads them all (see ``tool_call_formats``), keeps
the prose apart, and checks each call against its tool's schema, so that anything that
cannot run comes back as a ``ToolCallError`` that says what was wrong and what to write.

Calls inside ``<think>`` blocks are drafts when the model also calls outside them, and are
dropped. When the only calls are inside, they are taken: reasoning models sometimes end their
thinking with the call and write nothing after it. Unreadable drafts inside thinking are
reported only when the model wrote nothing outside it, so a plain answer is never held up by
a sketch in its reasoning.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, Field

from hanlin.llm.chat_model import ToolSpec
from hanlin.llm.messages import ToolCall, new_call_id
from hanlin.llm.tool_errors import ToolCallError, ToolErrorKind
from hanlin.llm.toolcalls.formats import NO_INPUT, Attempt, extract_attempts
from hanlin.llm.toolcalls.prompt import tool_instructions
from hanlin.llm.toolcalls.schema import (
    check_arguments,
    example_call,
    find_tool,
    single_parameter,
    unknown_tool_error,
)

__all__ = [
    "ParsedToolCalls",
    "new_call_id",
    "parse_tool_calls",
    "split_thinking",
    "tool_instructions",
]

_THINK = re.compile(r"<(think|thinking|reasoning)>(.*?)(?:</\1>|\Z)", re.IGNORECASE | re.DOTALL)
_LEADING_THINK_END = re.compile(r"</(?:think|thinking|reasoning)>", re.IGNORECASE)
_THINK_START = re.compile(r"<(?:think|thinking|reasoning)>", re.IGNORECASE)
_LEFTOVER_MARKUP = re.compile(
    r"<\|?/?(?:tool_call|toolcall|tool_calls|function_call|functioncall)\|?>|</function>"
    r"|</?tool_response>|\[TOOL_CALLS\]|<\|python_tag\|>"
    r"|<\|(?:eom_id|eot_id|im_end|end|endoftext)\|>",
    re.IGNORECASE,
)
_EMPTY_FENCE = re.compile(r"```[\w-]*[ \t]*\n?\s*```")
_EMPTY_REACT_LABEL = re.compile(
    r"^[ \t>*#-]*Action(?:[ \t]*Input)?[ \t]*\**[ \t]*:\**[ \t]*$\n?", re.IGNORECASE | re.MULTILINE
)
_BRACKET_LINE = re.compile(r"^[ \t]*[\[\],;][\[\],; \t]*$\n?", re.MULTILINE)


class ParsedToolCalls(BaseModel):
    """The prose, the calls that can run, and the attempts that cannot, in text order."""

    content: str
    calls: list[ToolCall] = Field(default_factory=list)
    errors: list[ToolCallError] = Field(default_factory=list)
    thinking: str = ""


def parse_tool_calls(text: str, tools: Sequence[ToolSpec] | None = None) -> ParsedToolCalls:
    """Find, read and validate every tool call in ``text``; never raises on odd text.

    Without ``tools`` (or with none) calls are only read, not validated, and ``name(...)``
    calls are not recognised, since any word followed by a parenthesis could be one.
    """
    specs = {spec.name: spec for spec in tools or ()}
    params = {name: list(spec.parameters.get("properties") or {}) for name, spec in specs.items()}
    outside, thinking = split_thinking(text)
    extraction = extract_attempts(outside, params)
    changed = bool(extraction.removals) or outside != text
    content = _clean(_apply_removals(outside, extraction.removals), changed)
    attempts = extraction.attempts
    if not attempts and thinking:
        drafted = extract_attempts(thinking, params).attempts
        if not content or any(attempt.problem is None for attempt in drafted):
            attempts = drafted
    calls: list[ToolCall] = []
    errors: list[ToolCallError] = []
    for attempt in attempts:
        resolved = _resolve(attempt, specs or None)
        if isinstance(resolved, ToolCall):
            calls.append(resolved)
        else:
            errors.extend(resolved)
    return ParsedToolCalls(content=content, calls=calls, errors=errors, thinking=thinking)


def split_thinking(text: str) -> tuple[str, str]:
    """(text outside ``<think>`` blocks, the thinking). An unclosed block runs to the end;
    text before a ``</think>`` with no opening tag is thinking whose tag was in the prompt."""
    thoughts: list[str] = []
    close = _LEADING_THINK_END.search(text)
    opening = _THINK_START.search(text)
    if close and (opening is None or close.start() < opening.start()):
        thoughts.append(text[: close.start()])
        text = text[close.end() :]

    def take(match: re.Match[str]) -> str:
        thoughts.append(match.group(2))
        return ""

    outside = _THINK.sub(take, text)
    return outside, "\n\n".join(t.strip() for t in thoughts if t.strip())


def _apply_removals(text: str, removals: list[tuple[int, int, str]]) -> str:
    pieces: list[str] = []
    pos = 0
    for start, end, replacement in sorted(removals):
        if start < pos:
            continue
        before = text[pos:start]
        if not replacement and before[-1:] in (" ", "\n") and text[end : end + 1] == before[-1:]:
            before = before[:-1]  # "call <x> now" -> "call now", a removed line leaves no gap
        pieces += [before, replacement]
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces)


def _clean(content: str, changed: bool) -> str:
    """Tidies what is left after cutting calls out; untouched prose is only stripped."""
    content = _LEFTOVER_MARKUP.sub("", content)
    if changed:
        content = _EMPTY_FENCE.sub("", content)
        content = _BRACKET_LINE.sub("", content)
        content = _EMPTY_REACT_LABEL.sub("", content)
        content = re.sub(r"[ \t]+\n", "\n", content)
        content = re.sub(r"\n{3,}", "\n\n", content)
    return content.strip()


def _resolve(attempt: Attempt, specs: dict[str, ToolSpec] | None) -> ToolCall | list[ToolCallError]:
    """One attempt as a runnable call, or the errors that stop it."""
    call_id = attempt.call_id or new_call_id()
    spec = find_tool(attempt.name, specs) if specs and attempt.name else None
    if attempt.problem:
        return [_unparsable(attempt, attempt.problem, specs, spec)]
    if specs is not None and spec is None:
        return [unknown_tool_error(attempt.name or "", specs, attempt.style, call_id)]
    arguments = attempt.arguments
    if arguments is NO_INPUT:
        if spec is None or spec.parameters.get("required"):
            return [_unparsable(attempt, "the Action has no Action Input", specs, spec)]
        arguments = {}
    if not isinstance(arguments, dict):
        target = single_parameter(spec) if spec else None
        if target is None:
            problem = (
                f"the arguments are a plain value ({str(arguments)[:60]!r}), not a JSON object"
            )
            return [_unparsable(attempt, problem, specs, spec)]
        arguments = {target: arguments}
    if spec is None:
        return ToolCall(id=call_id, name=attempt.name or "", arguments=arguments)
    checked, errors = check_arguments(spec, arguments, attempt.style)
    if errors:
        return [e.model_copy(update={"call_id": call_id}) for e in errors]
    return ToolCall(id=call_id, name=spec.name, arguments=checked)


def _unparsable(
    attempt: Attempt, problem: str, specs: dict[str, ToolSpec] | None, spec: ToolSpec | None
) -> ToolCallError:
    name = spec.name if spec else attempt.name
    example = example_call(spec, attempt.style) if spec else example_call(None, attempt.style)
    message = f"Could not read the tool call: {problem}. Write it exactly like this: {example}"
    options = sorted(specs) if specs and spec is None else []
    return ToolCallError(
        kind=ToolErrorKind.UNPARSABLE, message=message, tool_name=name, options=options
    )
