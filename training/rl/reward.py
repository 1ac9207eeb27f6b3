"""The tool-use reward of TL-Training (eq. 8.6-8.7), with the reference code's penalties.

Rules are checked in this order; the first that applies decides:

* the output cannot be read as a call: -2
* a called tool is not offered: -2
* the wrong tool (or none) is called: -1.5
* parameters hallucinated, redundant and missing: -1.8
* parameters hallucinated, and redundant or missing: -1.3
* parameters redundant and missing: -1.0
* parameters hallucinated: -0.8
* parameters redundant or missing: -0.5
* the same parameters, some value differs (content filling): -0.25
* right: +1

A parameter is *hallucinated* when the tool does not declare it, *redundant* when it is
declared but not in the gold call, *missing* when the gold call has it and the prediction
does not. A ``null`` value counts as not given (the runtime treats it so).

Cases the reference leaves out, as decided here:

* Gold is a direct answer: answering without a call is right (+1); calling an offered
  tool is the wrong tool (-1.5), calling one that is not offered a hallucination (-2).
* Gold is a call and the prediction answers in text: the wrong tool (-1.5): it chose "none".
* Several calls: an unreadable call or an unknown tool anywhere decides the whole turn (as
  above). Otherwise gold and predicted calls are paired in order, each pair scored alone,
  an extra or missing call counts as the wrong tool, and the turn scores the mean. Its
  category is the first rule (in the order above) that any pair hit.
* Raw output is read by ``parse_tool_calls``, as at run time: every call format it knows
  counts, argument values of every JSON type are seen, and a tool name that differs only
  in case, dashes or a ``functions.`` prefix names that tool.
* Values are compared after the repairs the runtime applies before running a tool
  (``"3"`` for an integer parameter, an enum's case), then as canonical JSON: numbers by
  value (``1 == 1.0``, ``true`` is not ``1``), strings stripped of surrounding space,
  object keys unordered. A string ``"5"`` and a number ``5`` differ unless the schema
  turns one into the other.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from hanlin.llm.chat_model import ToolSpec
from hanlin.llm.messages import AssistantMessage, ToolCall
from hanlin.llm.tool_errors import ToolCallError, ToolErrorKind
from hanlin.llm.toolcalls.parsing import parse_tool_calls
from hanlin.llm.toolcalls.schema import check_arguments


class RewardCategory(StrEnum):
    UNPARSABLE = "unparsable"
    HALLUCINATED_TOOL = "hallucinated_tool"
    WRONG_TOOL = "wrong_tool"
    PARAMS_HALLUCINATED_REDUNDANT_MISSING = "params_hallucinated_redundant_missing"
    PARAMS_HALLUCINATED_AND_REDUNDANT_OR_MISSING = "params_hallucinated_and_redundant_or_missing"
    PARAMS_REDUNDANT_MISSING = "params_redundant_missing"
    PARAMS_HALLUCINATED = "params_hallucinated"
    PARAMS_REDUNDANT_OR_MISSING = "params_redundant_or_missing"
    CONTENT_FILLING = "content_filling"
    CORRECT = "correct"


REWARDS: dict[RewardCategory, float] = {
    RewardCategory.UNPARSABLE: -2.0,
    RewardCategory.HALLUCINATED_TOOL: -2.0,
    RewardCategory.WRONG_TOOL: -1.5,
    RewardCategory.PARAMS_HALLUCINATED_REDUNDANT_MISSING: -1.8,
    RewardCategory.PARAMS_HALLUCINATED_AND_REDUNDANT_OR_MISSING: -1.3,
    RewardCategory.PARAMS_REDUNDANT_MISSING: -1.0,
    RewardCategory.PARAMS_HALLUCINATED: -0.8,
    RewardCategory.PARAMS_REDUNDANT_OR_MISSING: -0.5,
    RewardCategory.CONTENT_FILLING: -0.25,
    RewardCategory.CORRECT: 1.0,
}
RULE_ORDER = list(REWARDS)  # enum order is the order the rules are checked in
TOOL_SELECTION_FAILURES = frozenset(RULE_ORDER[:3])
PARAMETER_SUCCESSES = frozenset({RewardCategory.CONTENT_FILLING, RewardCategory.CORRECT})


_FATAL = {  # parser errors that decide the whole turn, in rule order
    ToolErrorKind.UNPARSABLE: RewardCategory.UNPARSABLE,
    ToolErrorKind.UNKNOWN_TOOL: RewardCategory.HALLUCINATED_TOOL,
}


class RewardResult(BaseModel):
    score: float
    category: RewardCategory
    detail: str


def canonical_value(value: Any) -> str:
    """A JSON text equal for values the reward counts as equal (see the module notes)."""
    return json.dumps(_normalise(value), sort_keys=True, ensure_ascii=False)


def score_tool_call(
    predicted_text: str, gold: AssistantMessage, tools: Sequence[ToolSpec]
) -> RewardResult:
    """Reward of a model's raw output against the gold turn, read by hanlin's own parser.

    The output is read as the runtime reads it. When the parser rejects a call for its
    parameters, it is read again with every parameter name accepted, so that the call's
    arguments, as written, can be judged against the gold ones.
    """
    parsed = parse_tool_calls(predicted_text, list(tools))
    if any(e.kind not in _FATAL for e in parsed.errors):
        parsed = parse_tool_calls(predicted_text, _reading_specs(tools))
    fatal = fatal_parse_reward(parsed.errors)
    if fatal is not None:
        return fatal
    turn = AssistantMessage(content=parsed.content, tool_calls=parsed.calls)
    return score_message(turn, gold, tools)


def fatal_parse_reward(errors: Sequence[ToolCallError]) -> RewardResult | None:
    """The reward a turn gets whatever else it holds, when the parser could not read one of
    its calls (-2) or it names a tool that is not offered (-2); None otherwise."""
    for kind, category in _FATAL.items():
        found = [e for e in errors if e.kind == kind]
        if found:
            return _result(category, found[0].message)
    return None


def score_message(
    predicted: AssistantMessage, gold: AssistantMessage, tools: Sequence[ToolSpec]
) -> RewardResult:
    """Reward of an already parsed turn (e.g. the calls an agent really made)."""
    specs = {tool.name: tool for tool in tools}
    unknown = [call.name for call in predicted.tool_calls if call.name not in specs]
    if unknown:
        return _result(RewardCategory.HALLUCINATED_TOOL, f"no tool named {unknown[0]!r} is offered")
    if not gold.tool_calls:
        if not predicted.tool_calls:
            return _result(RewardCategory.CORRECT, "answered directly, as the gold turn does")
        names = ", ".join(call.name for call in predicted.tool_calls)
        return _result(RewardCategory.WRONG_TOOL, f"called {names} where no tool was needed")
    if not predicted.tool_calls:
        return _result(RewardCategory.WRONG_TOOL, "answered in text where a tool call was needed")
    slots = max(len(gold.tool_calls), len(predicted.tool_calls))
    judged: list[tuple[RewardCategory, str]] = []
    for index in range(slots):
        if index >= len(predicted.tool_calls):
            judged.append(
                (RewardCategory.WRONG_TOOL, f"missing call to {gold.tool_calls[index].name}")
            )
        elif index >= len(gold.tool_calls):
            judged.append(
                (RewardCategory.WRONG_TOOL, f"extra call to {predicted.tool_calls[index].name}")
            )
        else:
            judged.append(_judge_pair(predicted.tool_calls[index], gold.tool_calls[index], specs))
    if slots == 1:
        return _result(*judged[0])
    worst = min((category for category, _ in judged), key=RULE_ORDER.index)
    score = sum(REWARDS[category] for category, _ in judged) / slots
    detail = "; ".join(
        f"call {i + 1}: {category.value} ({text})" for i, (category, text) in enumerate(judged)
    )
    return RewardResult(score=score, category=worst, detail=detail)


def _judge_pair(
    predicted: ToolCall, gold: ToolCall, specs: dict[str, ToolSpec]
) -> tuple[RewardCategory, str]:
    if predicted.name != gold.name:
        return RewardCategory.WRONG_TOOL, f"called {predicted.name} instead of {gold.name}"
    spec = specs.get(gold.name, ToolSpec(name=gold.name))
    declared = set(spec.parameters.get("properties") or {})
    extras = spec.parameters.get("additionalProperties")
    open_schema = extras is True or isinstance(extras, dict)
    given = _present(predicted.arguments)
    wanted = _present(gold.arguments)
    hallucinated = sorted(k for k in given if k not in declared and not open_schema)
    redundant = sorted(k for k in given if k not in wanted and k not in hallucinated)
    missing = sorted(k for k in wanted if k not in given)
    if hallucinated or redundant or missing:
        category = _parameter_category(bool(hallucinated), bool(redundant), bool(missing))
        parts = [
            f"{label} {keys}"
            for label, keys in (
                ("hallucinated", hallucinated),
                ("redundant", redundant),
                ("missing", missing),
            )
            if keys
        ]
        return category, f"{gold.name}: " + "; ".join(parts)
    ours, theirs = _repaired(spec, given), _repaired(spec, wanted)
    wrong = sorted(k for k in wanted if canonical_value(ours[k]) != canonical_value(theirs[k]))
    if wrong:
        shown = ", ".join(f"{k}={_shown(ours[k])} (gold {_shown(theirs[k])})" for k in wrong)
        return RewardCategory.CONTENT_FILLING, f"{gold.name}: {shown}"
    return RewardCategory.CORRECT, f"{gold.name} with the gold arguments"


def _parameter_category(hallucinated: bool, redundant: bool, missing: bool) -> RewardCategory:
    if hallucinated and redundant and missing:
        return RewardCategory.PARAMS_HALLUCINATED_REDUNDANT_MISSING
    if hallucinated and (redundant or missing):
        return RewardCategory.PARAMS_HALLUCINATED_AND_REDUNDANT_OR_MISSING
    if redundant and missing:
        return RewardCategory.PARAMS_REDUNDANT_MISSING
    if hallucinated:
        return RewardCategory.PARAMS_HALLUCINATED
    return RewardCategory.PARAMS_REDUNDANT_OR_MISSING


def _result(category: RewardCategory, detail: str) -> RewardResult:
    return RewardResult(score=REWARDS[category], category=category, detail=detail)


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _present(arguments: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in arguments.items() if value is not None}


def _repaired(spec: ToolSpec, arguments: dict[str, Any]) -> dict[str, Any]:
    """The values the runtime would run the tool with; invalid ones stay as written."""
    checked, _ = check_arguments(spec, arguments)
    return {key: checked.get(key, value) for key, value in arguments.items()}


def _reading_specs(tools: Sequence[ToolSpec]) -> list[ToolSpec]:
    """The tools with names and parameter names only, so the parser returns every readable
    call as written (unknown, missing and ill-typed parameters are judged here, not there).
    A plain-value input is then mapped only onto a tool's sole parameter."""
    return [
        ToolSpec(
            name=tool.name,
            parameters={
                "type": "object",
                "properties": {key: {} for key in tool.parameters.get("properties") or {}},
                "additionalProperties": True,
            },
        )
        for tool in tools
    ]


def _normalise(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else value
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        return {str(key): _normalise(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalise(item) for item in value]
    return str(value)
