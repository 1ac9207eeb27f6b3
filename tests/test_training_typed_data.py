"""The typed catalogue in the synthetic data: integers, floats, booleans, enums, strings,
nested objects and arrays, optional parameters given and left out, several calls in one
turn, and requests no offered tool fits, each with a gold turn valid against its schema."""

from __future__ import annotations

from collections import Counter
from typing import Any

import jsonschema
import pytest

from hanlin.llm.messages import AssistantMessage, SystemMessage, ToolMessage
from hanlin.training.config import DataConfig
from hanlin.training.data.pipeline import load_split
from hanlin.training.data.synthetic import SyntheticExample, generate_examples
from hanlin.training.data.tool_catalogue import CATALOGUE, TYPED_CATALOGUE, catalogue_tool
from hanlin.training.data.typed_templates_services import TYPED_TASKS

TYPED_NAMES = {t.name for t in TYPED_CATALOGUE}


@pytest.fixture(scope="module")
def examples() -> list[SyntheticExample]:
    return generate_examples(600, 5, typed_rate=0.7, no_tool_rate=0.2, error_rate=0.3)


def _typed(examples: list[SyntheticExample]) -> list[SyntheticExample]:
    return [e for e in examples if {t.name for t in e.trajectory.tools} <= TYPED_NAMES]


def _gold_calls(examples: list[SyntheticExample]) -> list[tuple[Any, dict[str, Any]]]:
    """(call, tool schema) of every turn the data teaches, erroneous first tries left out."""
    calls = []
    for example in _typed(examples):
        for index, message in enumerate(example.trajectory.messages):
            if isinstance(message, AssistantMessage) and index not in example.injected:
                calls += [(c, catalogue_tool(c.name).spec.parameters) for c in message.tool_calls]
    return calls


def _kinds(value: Any, schema: dict[str, Any], seen: Counter[str]) -> None:
    """Count the JSON kinds a gold value uses, checking each against its schema node."""
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"] or [schema]
    node = options[0]
    kind = node.get("type")
    if "enum" in node:
        assert value in node["enum"]
        seen["enum"] += 1
    if kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), value
    elif kind == "number":
        assert isinstance(value, int | float) and not isinstance(value, bool), value
        seen["float" if isinstance(value, float) else "whole number"] += 1
    elif kind == "boolean":
        assert isinstance(value, bool)
    elif kind == "string":
        assert isinstance(value, str)
    elif kind == "array":
        assert isinstance(value, list) and value
        for item in value:
            _kinds(item, node["items"], seen)
        kind = "array of objects" if node["items"].get("type") == "object" else "array"
    elif kind == "object":
        assert isinstance(value, dict)
        for key, item in value.items():
            _kinds(item, node["properties"][key], seen)
    seen[str(kind)] += 1


def test_typed_catalogue_is_apart_and_spans_json_types() -> None:
    assert len(TYPED_CATALOGUE) >= 20
    assert not TYPED_NAMES & {t.name for t in CATALOGUE}
    schemas = [t.spec.parameters["properties"] for t in TYPED_CATALOGUE]
    types = {p.get("type") for props in schemas for p in props.values()}
    assert {"string", "integer", "number", "boolean", "array", "object"} <= types
    every_task_tool = {step.tool for task in TYPED_TASKS for step in task.steps}
    assert every_task_tool == TYPED_NAMES  # every typed tool is asked for


def test_every_gold_call_is_valid_against_its_schema(examples: list[SyntheticExample]) -> None:
    calls = _gold_calls(examples)
    assert len(calls) > 300
    seen: Counter[str] = Counter()
    for call, schema in calls:
        jsonschema.validate(call.arguments, schema)
        for key, value in call.arguments.items():
            _kinds(value, schema["properties"][key], seen)
    for kind in ("integer", "float", "boolean", "enum", "string", "object", "array"):
        assert seen[kind] >= 10, (kind, seen)
    assert seen["array of objects"] >= 5


def test_gold_calls_succeed_and_wrong_first_tries_fail(examples: list[SyntheticExample]) -> None:
    injected = 0
    for example in _typed(examples):
        messages = example.trajectory.messages
        results = {m.tool_call_id: m for m in messages if isinstance(m, ToolMessage)}
        for index, message in enumerate(messages):
            if not isinstance(message, AssistantMessage):
                continue
            outcomes = {results[c.id].is_error for c in message.tool_calls}
            if index in example.injected:
                injected += 1
                assert True in outcomes
            else:
                assert outcomes <= {False}
    assert injected >= 30


def test_optional_parameters_are_both_given_and_left_out(
    examples: list[SyntheticExample],
) -> None:
    given: Counter[str] = Counter()
    left_out: Counter[str] = Counter()
    for call, schema in _gold_calls(examples):
        for key in set(schema["properties"]) - set(schema.get("required", [])):
            (given if key in call.arguments else left_out)[f"{call.name}.{key}"] += 1
    both = set(given) & set(left_out)
    assert len(both) >= 10, (given, left_out)
    assert {"split_bill.tip_percent", "weighted_average.weights", "ship_parcel.express"} <= both


def test_parallel_calls_and_no_tool_turns_appear(examples: list[SyntheticExample]) -> None:
    typed = _typed(examples)
    parallel = [e for e in typed if e.kind == "parallel"]
    assert len(parallel) >= 20
    for example in parallel:
        messages = example.trajectory.messages
        index = next(i for i, m in enumerate(messages) if isinstance(m, AssistantMessage))
        if index not in example.injected:
            assert len(messages[index].tool_calls) >= 2  # type: ignore[union-attr]
    withheld = [e for e in typed if e.kind == "withheld"]
    assert len(withheld) >= 20
    assert any(len(e.trajectory.tools) == 1 for e in withheld)
    for example in withheld:
        turns = [m for m in example.trajectory.messages if isinstance(m, AssistantMessage)]
        assert len(turns) == 1 and not turns[0].tool_calls
        assert "none of them fits" in turns[0].content
        gold_tool = (
            next(t.steps[0].tool for t in TYPED_TASKS if example.template.startswith(t.key + "#"))
            if example.template.startswith("typed.")
            else None
        )
        assert gold_tool not in {t.name for t in example.trajectory.tools}
    single_offers = Counter(len(e.trajectory.tools) for e in typed if e.kind == "single")
    assert single_offers[1] >= 20  # one function offered, one call: the simplest case


def test_typed_data_is_deterministic_and_off_by_default() -> None:
    first = [e.trajectory for e in generate_examples(80, 9, typed_rate=0.5)]
    again = [e.trajectory for e in generate_examples(80, 9, typed_rate=0.5)]
    assert first == again
    bare = [t for t in first if not isinstance(t.messages[0], SystemMessage)]
    assert 5 <= len(bare) <= 35  # some typed requests come with the tool list alone
    plain = [e.trajectory for e in generate_examples(80, 9)]
    assert all(isinstance(t.messages[0], SystemMessage) for t in plain)
    assert not any({t.name for t in tr.tools} & TYPED_NAMES for tr in plain)
    assert plain != first


def test_config_reaches_the_split() -> None:
    data = DataConfig(synthetic_count=120, typed_rate=0.8, typed_tools_per_query=(1, 1))
    split = load_split(data)
    offered = [{t.name for t in tr.tools} for tr in split.train + split.heldout]
    typed = [names for names in offered if names <= TYPED_NAMES]
    assert len(typed) > 60 and all(len(names) == 1 for names in typed)
    with pytest.raises(ValueError, match="typed_rate"):
        generate_examples(5, 0, typed_rate=1.5)
