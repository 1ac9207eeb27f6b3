"""Tool-call extraction from model text, over a corpus of realistic small-model outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hanlin.llm.chat_model import ToolSpec
from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.llm.toolcalls.parsing import ParsedToolCalls, parse_tool_calls, tool_instructions

CORPUS = Path(__file__).parent / "data" / "tool_calls" / "corpus.jsonl"


def _tool(name: str, properties: dict[str, Any], required: list[str]) -> ToolSpec:
    return ToolSpec(
        name=name,
        description=f"The {name} tool.",
        parameters={"type": "object", "properties": properties, "required": required},
    )


STRING = {"type": "string"}
TOOLS = [
    _tool("calculator", {"expression": STRING}, ["expression"]),
    _tool(
        "get_weather",
        {"city": STRING, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        ["city"],
    ),
    _tool("get_weather_forecast", {"city": STRING, "days": {"type": "integer"}}, ["city", "days"]),
    _tool("search_web", {"query": STRING, "max_results": {"type": "integer"}}, ["query"]),
    _tool(
        "send_email",
        {"to": STRING, "subject": STRING, "body": STRING, "cc": {"type": "array", "items": STRING}},
        ["to", "subject", "body"],
    ),
    _tool(
        "get_stock_price",
        {"symbol": {"type": "string", "description": "Ticker, e.g. AAPL"}},
        ["symbol"],
    ),
    _tool(
        "create_event",
        {"title": STRING, "attendees": {"type": "array"}, "details": {"type": "object"}},
        ["title", "attendees"],
    ),
    _tool("get_time", {}, []),
]


def _corpus() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line]


def test_corpus_is_large_and_well_formed() -> None:
    entries = _corpus()
    assert len(entries) >= 60
    assert len({e["id"] for e in entries}) == len(entries)
    kinds = {k.value for k in ToolErrorKind}
    for entry in entries:
        assert set(entry) >= {"id", "text", "expect_calls", "expect_error_kinds", "note"}
        assert set(entry["expect_error_kinds"]) <= kinds


@pytest.mark.parametrize("entry", _corpus(), ids=lambda e: e["id"])
def test_corpus(entry: dict[str, Any]) -> None:
    parsed = parse_tool_calls(entry["text"], TOOLS)
    assert [{"name": c.name, "arguments": c.arguments} for c in parsed.calls] == entry[
        "expect_calls"
    ]
    assert [e.kind.value for e in parsed.errors] == entry["expect_error_kinds"]
    if "expect_content" in entry:
        assert parsed.content == entry["expect_content"]
    if "expect_thinking" in entry:
        assert parsed.thinking == entry["expect_thinking"]
    for call in parsed.calls:
        assert re.fullmatch(r"call_[0-9a-f]{12}", call.id) or call.id == "call_abc"
    for error in parsed.errors:
        assert error.message and error.for_model().startswith(f"Error ({error.kind.value})")


def test_unknown_tool_names_the_closest_tools() -> None:
    text = (
        '<tool_call>{"name": "get_weather_forcast", "arguments": {"city": "Rome", "days": 2}}'
        "</tool_call>"
    )
    (error,) = parse_tool_calls(text, TOOLS).errors
    assert error.kind == ToolErrorKind.UNKNOWN_TOOL
    assert error.tool_name == "get_weather_forcast"
    assert error.options[:2] == ["get_weather_forecast", "get_weather"]
    assert "'get_weather_forecast'" in error.message and "<tool_call>" in error.message


def test_hallucinated_parameter_suggests_the_declared_one() -> None:
    text = '<tool_call>{"name": "get_stock_price", "arguments": {"symbl": "AAPL"}}</tool_call>'
    errors = parse_tool_calls(text, TOOLS).errors
    assert [e.kind for e in errors] == [
        ToolErrorKind.HALLUCINATED_PARAMETER,
        ToolErrorKind.MISSING_PARAMETER,
    ]
    assert errors[0].options == ["symbol"] and "Did you mean 'symbol'" in errors[0].message
    assert "Ticker, e.g. AAPL" in errors[1].message
    assert errors[0].call_id == errors[1].call_id and errors[0].tool_name == "get_stock_price"


def test_invalid_enum_lists_the_allowed_values() -> None:
    text = '{"name": "get_weather", "arguments": {"city": "Oslo", "unit": "kelvin"}}'
    (error,) = parse_tool_calls(text, TOOLS).errors
    assert error.options == ["celsius", "fahrenheit"]
    assert '"kelvin"' in error.message


def test_unparsable_messages_show_the_format_the_model_used() -> None:
    react = parse_tool_calls("Action: get_weather", TOOLS).errors[0]
    assert 'Action: get_weather\nAction Input: {"city": "..."}' in react.message
    hermes = parse_tool_calls('<tool_call>{"name": "calculator", "arguments": {', TOOLS).errors[0]
    assert (
        '<tool_call>{"name": "calculator", "arguments": {"expression": "..."}}</tool_call>'
        in hermes.message
    )
    assert hermes.tool_name == "calculator"


def test_ids_from_the_model_are_kept_and_missing_ids_are_unique() -> None:
    text = (
        '{"tool_calls": [{"id": "call_keep", "type": "function",'
        ' "function": {"name": "get_time", "arguments": "{}"}}]}'
    )
    assert parse_tool_calls(text, TOOLS).calls[0].id == "call_keep"
    many = parse_tool_calls("\n".join(["get_time()"] * 5), TOOLS).calls
    assert len({c.id for c in many}) == 5


def test_without_tools_calls_are_read_but_not_validated() -> None:
    text = (
        '<tool_call>{"name": "anything", "arguments": {"x": 1}}</tool_call>\n'
        "Action: other\nAction Input: plain"
    )
    parsed = parse_tool_calls(text)
    assert [(c.name, c.arguments) for c in parsed.calls] == [("anything", {"x": 1})]
    assert [e.kind for e in parsed.errors] == [ToolErrorKind.UNPARSABLE]  # plain input, no schema
    assert parse_tool_calls('calculator(expression="1")').calls == []  # needs known names


def test_schema_allowing_extra_properties_accepts_them() -> None:
    open_tool = ToolSpec(
        name="log",
        parameters={"type": "object", "properties": {"msg": STRING}, "additionalProperties": True},
    )
    parsed = parse_tool_calls(
        '{"name": "log", "arguments": {"msg": "hi", "level": 3}}', [open_tool]
    )
    assert parsed.calls[0].arguments == {"msg": "hi", "level": 3}


def test_tool_instructions_describe_tools_and_their_format_parses_back() -> None:
    section = tool_instructions(TOOLS)
    assert "<tool_call>" in section and "</tool_call>" in section
    listed = re.search(r"<tools>\n(.*?)\n</tools>", section, re.DOTALL)
    assert listed is not None
    schemas = [json.loads(line) for line in listed.group(1).splitlines()]
    assert [s["name"] for s in schemas] == [t.name for t in TOOLS]
    assert schemas[1]["parameters"]["properties"]["unit"]["enum"] == ["celsius", "fahrenheit"]
    assert tool_instructions([]) == ""
    # A model that follows the instructions literally is understood.
    reply = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    assert parse_tool_calls(reply, TOOLS).calls[0].arguments == {"city": "Paris"}


def test_long_text_is_parsed_quickly() -> None:
    import time

    prose = "Some prose with {braces} and [brackets], calculator(s) and Action items. " * 400
    text = prose + '<tool_call>{"name": "get_time", "arguments": {}}</tool_call>' + "[" * 5000
    started = time.perf_counter()
    parsed = parse_tool_calls(text, TOOLS)
    assert time.perf_counter() - started < 2.0
    assert [c.name for c in parsed.calls] == ["get_time"]


_MARKUP = st.sampled_from(
    [
        "<tool_call>",
        "</tool_call>",
        "<think>",
        "</think>",
        "{",
        "}",
        "[",
        "]",
        '"',
        "'",
        ":",
        ",",
        "\n",
        "Action:",
        "Action Input:",
        "Observation:",
        "```json\n",
        "```",
        '"name"',
        '"arguments"',
        "calculator",
        "get_weather(",
        ")",
        "=",
        "null",
        "true",
        "\\",
        "<function=x>",
        "[TOOL_CALLS]",
        "Final Answer:",
        "北京",
        "2+2",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_MARKUP, st.text(max_size=8)), max_size=40))
def test_arbitrary_markup_never_raises(pieces: list[str]) -> None:
    text = "".join(pieces)
    for tools in (TOOLS, None):
        parsed = parse_tool_calls(text, tools)
        assert isinstance(parsed, ParsedToolCalls)
        assert all(isinstance(c.arguments, dict) for c in parsed.calls)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text: str) -> None:
    parsed = parse_tool_calls(text, TOOLS)
    assert isinstance(parsed.content, str)


@settings(max_examples=150, deadline=None)
@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
    st.sampled_from(["calculator", "search_web"]),
)
def test_any_string_argument_round_trips(value: str, name: str) -> None:
    key = "expression" if name == "calculator" else "query"
    text = "<tool_call>" + json.dumps({"name": name, "arguments": {key: value}}) + "</tool_call>"
    parsed = parse_tool_calls(text, TOOLS)
    assert [(c.name, c.arguments) for c in parsed.calls] == [(name, {key: value})]
    assert parsed.errors == []


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="abcdefghij klmnop.,!?\n", max_size=200))
def test_plain_prose_is_left_alone(text: str) -> None:
    parsed = parse_tool_calls(text, TOOLS)
    assert (parsed.calls, parsed.errors, parsed.content) == ([], [], text.strip())


def test_pathological_repetition_stays_fast() -> None:
    import time

    for text in (
        "calculator(" * 20000,
        "{" * 50000,
        '{"name": "x", "arguments": ' * 3000,
        "<tool_call>" * 5000,
        "Action: calculator\n" * 5000,
        "<think>" * 5000,
    ):
        started = time.perf_counter()
        parse_tool_calls(text, TOOLS)
        assert time.perf_counter() - started < 3.0, text[:30]


@pytest.mark.parametrize(
    ("literal", "kind"),
    [
        ("{'expression': b'2+2'}", "unparsable"),  # bytes cannot travel as JSON
        ("{'expression': {1, 2}}", "unparsable"),  # nor can sets
        ("{1: '2+2'}", "unparsable"),  # nor non-string keys
        ("{'expression': ('2', '+2')}", "invalid_value"),  # a tuple is a JSON array
    ],
)
def test_python_literals_must_be_json_values(literal: str, kind: str) -> None:
    text = "<tool_call>{'name': 'calculator', 'arguments': " + literal + "}</tool_call>"
    parsed = parse_tool_calls(text, TOOLS)
    assert [e.kind.value for e in parsed.errors] == [kind]
    assert parsed.calls == []
    assert parse_tool_calls('calculator(expression=b"1")', TOOLS).errors[0].kind == "unparsable"
