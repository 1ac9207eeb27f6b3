"""llama.cpp grammars for tool calls: one or several schema-exact calls, or a plain answer.

A grammar decides what can be written, not what is likely, so a small model forced through
one writes a call whose name and argument names are always right. Several ``<tool_call>``
blocks, one per line, are allowed up to ``MAX_PARALLEL_CALLS``: BFCL's parallel questions
need them, and the bound stops a small model that repeats itself from filling its budget.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from hanlin.llm.chat_model import ModelInputError, ToolSpec

# A schema llama.cpp cannot turn into a grammar raises any of these (an assertion for a
# remote $ref, which it is not allowed to fetch; a recursion error for very deep nesting).
GRAMMAR_ERRORS = (ValueError, RuntimeError, KeyError, TypeError, AssertionError, RecursionError)

# llama.cpp spells a length bound out as one grammar rule per character or item, so a large
# bound (maxLength 100000) makes a huge grammar that crashes the process. Above this, the
# bound is dropped from the grammar; the tool still checks it when it runs.
GRAMMAR_MAX_BOUND = 256
MAX_PARALLEL_CALLS = 4
CALL_OPENING = '<tool_call>\n{"name": "'
CALL_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)
# llama-cpp-python's schema converter lets a string hold any character but a quote or a
# backslash, raw line breaks and other control characters included, which JSON forbids
# (RFC 8259, section 7): a model could then write a string no JSON parser reads, such as a
# value that runs on past its call into prose. The rule is swapped for JSON's own (the one
# llama.cpp's C++ converter writes).
_LOOSE_CHAR = 'char ::= [^"\\\\] |'
_JSON_CHAR = 'char ::= [^"\\\\\\x7F\\x00-\\x1F] |'
_PARTIAL_CLOSE = re.compile(r"\s*<(?:/[a-z_]*>?)?$")


def grammar_safe(schema: Any) -> Any:
    """``schema`` without length bounds too large for a grammar."""
    if isinstance(schema, dict):
        return {
            key: grammar_safe(value)
            for key, value in schema.items()
            if not (
                key in {"maxLength", "maxItems", "minLength", "minItems"}
                and isinstance(value, int)
                and value > GRAMMAR_MAX_BOUND
            )
        }
    if isinstance(schema, list):
        return [grammar_safe(item) for item in schema]
    return schema


def json_rules(schema: Any) -> str:
    """GBNF rules for ``schema`` whose strings are JSON strings (no raw control characters)."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    rules = json_schema_to_gbnf(json.dumps(grammar_safe(schema)))
    return rules.replace(_LOOSE_CHAR, _JSON_CHAR, 1)


def json_schema_grammar(schema: dict[str, Any]) -> Any:
    """A llama.cpp grammar that only admits JSON matching ``schema``."""
    try:
        return _compile(json_rules(schema))
    except GRAMMAR_ERRORS as exc:
        raise ModelInputError(
            f"cannot turn this JSON schema into a grammar: {type(exc).__name__}: {exc}",
            param="response_format",
        ) from exc


def call_rules(tools: Sequence[ToolSpec]) -> str:
    """GBNF rules whose ``call`` admits ``{"name": ..., "arguments": ...}`` for any tool."""
    schema = {
        "anyOf": [
            {
                "type": "object",
                "properties": {"name": {"const": t.name}, "arguments": t.parameters},
                "required": ["name", "arguments"],
                "additionalProperties": False,
            }
            for t in tools
        ]
    }
    try:
        rules = json_rules(schema)
    except GRAMMAR_ERRORS as exc:
        raise ModelInputError(
            f"cannot turn these tool schemas into a grammar: {type(exc).__name__}: {exc}",
            param="tools",
        ) from exc
    return rules.replace("root ::=", "call ::=", 1)


def _calls_rule(max_calls: int) -> str:
    block = '"<tool_call>\\n" call "\\n</tool_call>"'
    more = f' ("\\n" {block}){{0,{max_calls - 1}}}' if max_calls > 1 else ""
    return f"calls ::= {block}{more}\n"


def _compile(text: str) -> Any:
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(text, verbose=False)


def tool_call_grammar(tools: Sequence[ToolSpec], max_calls: int = 1) -> Any:
    """Exactly one to ``max_calls`` ``<tool_call>`` blocks, each calling one of ``tools`` with
    arguments that match its schema: ``tool_choice="required"``."""
    return _compile(call_rules(tools) + "\n" + _calls_rule(max_calls) + "root ::= calls\n")


def call_or_answer_grammar(tools: Sequence[ToolSpec], max_calls: int = 1) -> Any:
    """Calls as above, or a plain answer: text that does not open with ``<``."""
    return _compile(
        call_rules(tools) + "\n" + _calls_rule(max_calls) + "root ::= calls | [^<] .*\n"
    )


def answer_grammar() -> Any:
    """A plain answer: any text that does not open a tool call."""
    return _compile("root ::= [^<] .*\n")


def yes_no_grammar() -> Any:
    return _compile('root ::= "yes" | "no"\n')


def repeated_call_at(text: str) -> int | None:
    """Where the last ``<tool_call>`` block starts when it repeats an earlier block, finished
    or not (its call complete, the closing tag perhaps cut off): a small model allowed several
    calls tends to write its one call again until the bound, and generation stops there."""
    start = text.rfind("<tool_call>")
    if start <= 0:
        return None
    last = _PARTIAL_CLOSE.sub("", text[start + len("<tool_call>") :]).strip()
    earlier = [block.group(1) for block in CALL_BLOCK.finditer(text[:start])]
    return start if last and last in earlier else None
