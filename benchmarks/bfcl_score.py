"""Scoring a model turn on a BFCL item with the package's own AST checker.

``bfcl_eval.eval_checker.ast_eval.ast_checker`` is imported as shipped, so accuracy is the
leaderboard's. It reads one setting from the package's model registry (whether a model's
function names had their dots replaced), and that registry imports every vendor SDK BFCL
supports; hanlin installs the package without them, so before importing the checker the
registry module is replaced by one that answers "dots replaced" for any model, which is how
``bfcl_data`` offers the functions. Irrelevance follows BFCL's rule: right when the turn
makes no call (a call that cannot be read still counts as an attempt).

The TL-Training reward (``hanlin.training.rl.reward``) is reported beside accuracy. It needs
one gold call per expected call: each parameter takes its first possible value; a parameter
BFCL marks optional (``""`` among its values) is part of the gold call only when the model
gave it, with the model's value if that value is allowed.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from functools import cache
from typing import Any

from bfcl_data import BfclItem, tool_name
from pydantic import BaseModel

from hanlin.llm.chat_model import ChatResult
from hanlin.llm.messages import AssistantMessage, ToolCall
from hanlin.training.rl.reward import fatal_parse_reward, score_message

MODEL_NAME = "hanlin"  # any name: the stand-in registry answers the same for all


class ItemScore(BaseModel):
    id: str
    correct: bool
    error: str = ""
    reward: float | None = None
    calls: list[dict[str, Any]] = []


class _DotsReplaced:
    underscore_to_dot = True


class _AnyModel(dict[str, Any]):
    def __missing__(self, key: str) -> _DotsReplaced:
        return _DotsReplaced()


@cache
def ast_checker() -> Callable[..., dict[str, Any]]:
    """The package's ``ast_checker``, importable without the vendor SDKs."""
    name = "bfcl_eval.constants.model_config"
    if name not in sys.modules:
        stand_in = types.ModuleType(name)
        stand_in.MODEL_CONFIG_MAPPING = _AnyModel()  # type: ignore[attr-defined]
        sys.modules[name] = stand_in
    from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker as checker

    return checker


def decoded_calls(message: AssistantMessage) -> list[dict[str, Any]]:
    """A turn's calls in BFCL's decoded form: ``[{name: {param: value}}]``."""
    return [{call.name: dict(call.arguments)} for call in message.tool_calls]


def made_a_call(result: ChatResult) -> bool:
    return bool(result.message.tool_calls or result.tool_errors)


def score_item(item: BfclItem, result: ChatResult) -> ItemScore:
    calls = decoded_calls(result.message)
    reward = _reward(item, result)
    if item.expects_no_call:
        called = made_a_call(result)
        return ItemScore(
            id=item.id,
            correct=not called,
            error="made a call where none fits" if called else "",
            reward=reward,
            calls=calls,
        )
    if not calls:
        error = "; ".join(e.message for e in result.tool_errors) or "no call made"
        return ItemScore(id=item.id, correct=False, error=error[:300], reward=reward)
    from bfcl_eval.constants.enums import Language

    checked = ast_checker()(
        item.functions, calls, item.possible_answer, Language.PYTHON, item.category, MODEL_NAME
    )
    errors = checked.get("error") or []
    return ItemScore(
        id=item.id,
        correct=bool(checked["valid"]),
        error="" if checked["valid"] else "; ".join(str(e) for e in errors)[:300],
        reward=reward,
        calls=calls,
    )


def _reward(item: BfclItem, result: ChatResult) -> float:
    """TL-Training's reward of the turn: a call the parser could not read, or one naming a
    tool not offered, is -2 whatever the item expects (an irrelevance item included)."""
    fatal = fatal_parse_reward(result.tool_errors)
    if fatal is not None:
        return fatal.score
    predicted = result.message
    gold = AssistantMessage(content="", tool_calls=gold_calls(item, predicted))
    if not gold.tool_calls:
        gold = AssistantMessage(content="(answer in words)")
    return score_message(predicted, gold, item.tool_specs()).score


def gold_calls(item: BfclItem, predicted: AssistantMessage) -> list[ToolCall]:
    """One gold call per expected call, ordered to pair with the prediction: by name, then
    by the most argument values in agreement."""
    expected = []
    for entry in item.possible_answer or []:
        for name, params in entry.items():
            expected.append((tool_name(name), params))
    given = list(predicted.tool_calls)
    ordered: list[tuple[str, dict[str, list[Any]], dict[str, Any]]] = []
    remaining = list(expected)
    for call in given:
        same_name = [e for e in remaining if e[0] == call.name]
        if same_name:
            match = max(same_name, key=lambda e: _agreement(e[1], call.arguments))
            remaining.remove(match)
            ordered.append((match[0], match[1], call.arguments))
    ordered += [(name, params, {}) for name, params in remaining]
    return [
        ToolCall(id=f"gold_{i}", name=name, arguments=_gold_arguments(params, given_args))
        for i, (name, params, given_args) in enumerate(ordered)
    ]


def _agreement(params: dict[str, list[Any]], given: dict[str, Any]) -> int:
    return sum(1 for key, allowed in params.items() if key in given and given[key] in allowed)


def _gold_arguments(params: dict[str, list[Any]], given: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, allowed in params.items():
        values = [v for v in allowed if v != ""]
        optional = "" in allowed
        if optional and key not in given:
            continue
        if key in given and given[key] in values:
            out[key] = given[key]
        elif values:
            out[key] = values[0]
    return out
