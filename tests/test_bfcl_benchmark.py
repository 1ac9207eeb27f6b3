"""The BFCL benchmark's loader (on the installed bfcl-eval data) and scorer (on hand-made items).

The scorer's items are written here, in BFCL's format; only the loader reads BFCL itself.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from hanlin.llm.chat_model import ChatResult, ModelError
from hanlin.llm.messages import AssistantMessage, ToolCall
from hanlin.llm.tool_errors import ToolCallError, ToolErrorKind

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("bfcl_eval") is None,
    reason="bfcl-eval is not installed (pip install --no-deps bfcl-eval==2026.3.23)",
)


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench() -> Iterator[dict[str, ModuleType]]:
    sys.path.insert(0, str(BENCHMARKS))  # the scripts import their siblings by name
    try:
        yield {name: _load(name) for name in ("bfcl_data", "bfcl_score", "bfcl", "bfcl_decision")}
    finally:
        sys.path.remove(str(BENCHMARKS))


PAINT = {
    "name": "paint.mix",
    "description": "Mix two paint colours.",
    "parameters": {
        "type": "dict",
        "properties": {
            "first": {"type": "string", "description": "A colour."},
            "second": {"type": "string", "description": "Another colour."},
            "ratio": {"type": "float", "description": "Share of the first colour."},
        },
        "required": ["first", "second"],
    },
}
ANSWER = [{"paint.mix": {"first": ["blue"], "second": ["yellow"], "ratio": [0.5, ""]}}]


def _item(bench: dict[str, ModuleType], category: str, answer: Any) -> Any:
    return bench["bfcl_data"].BfclItem(
        id=f"{category}_0",
        category=category,
        messages=[{"role": "user", "content": "Mix blue and yellow paint."}],
        functions=[PAINT],
        possible_answer=answer,
    )


def _turn(*calls: tuple[str, dict[str, Any]], errors: int = 0) -> ChatResult:
    message = AssistantMessage(
        tool_calls=[ToolCall(id=f"c{i}", name=n, arguments=a) for i, (n, a) in enumerate(calls)]
    )
    problems = [ToolCallError(kind=ToolErrorKind.UNPARSABLE, message="bad")] * errors
    return ChatResult(message=message, tool_errors=problems)


def test_a_function_becomes_a_json_schema_tool(bench: dict[str, ModuleType]) -> None:
    spec = bench["bfcl_data"].function_spec(PAINT)
    assert spec.name == "paint_mix"
    assert spec.parameters["type"] == "object"
    assert spec.parameters["properties"]["ratio"]["type"] == "number"
    assert spec.parameters["required"] == ["first", "second"]


def test_the_scorer_accepts_the_right_call(bench: dict[str, ModuleType]) -> None:
    score = bench["bfcl_score"].score_item(
        _item(bench, "simple", ANSWER), _turn(("paint_mix", {"first": "blue", "second": "yellow"}))
    )
    assert score.correct and score.reward == 1.0


def test_the_scorer_rejects_a_wrong_value(bench: dict[str, ModuleType]) -> None:
    score = bench["bfcl_score"].score_item(
        _item(bench, "simple", ANSWER), _turn(("paint_mix", {"first": "red", "second": "yellow"}))
    )
    assert not score.correct and "first" in score.error
    assert score.reward == -0.25  # right parameters, one value differs


def test_the_scorer_rejects_a_missing_argument(bench: dict[str, ModuleType]) -> None:
    score = bench["bfcl_score"].score_item(
        _item(bench, "simple", ANSWER), _turn(("paint_mix", {"first": "blue"}))
    )
    assert not score.correct and "second" in score.error
    assert score.reward == -0.5


def test_the_scorer_rejects_no_call_where_one_is_needed(bench: dict[str, ModuleType]) -> None:
    score = bench["bfcl_score"].score_item(_item(bench, "simple", ANSWER), _turn())
    assert not score.correct and score.reward == -1.5


def test_irrelevance_is_right_only_without_any_call(bench: dict[str, ModuleType]) -> None:
    item = _item(bench, "irrelevance", None)
    score_item = bench["bfcl_score"].score_item
    assert score_item(item, _turn()).correct
    assert not score_item(item, _turn(("paint_mix", {"first": "a", "second": "b"}))).correct
    assert not score_item(item, _turn(errors=1)).correct  # an unreadable attempt is a call


def test_an_unreadable_call_is_rewarded_minus_two_whatever_the_item_expects(
    bench: dict[str, ModuleType],
) -> None:
    score_item = bench["bfcl_score"].score_item
    assert score_item(_item(bench, "irrelevance", None), _turn()).reward == 1.0
    for category, answer in (("irrelevance", None), ("simple", ANSWER)):
        score = score_item(_item(bench, category, answer), _turn(errors=1))
        assert not score.correct and score.reward == -2.0


def test_parallel_calls_match_in_any_order(bench: dict[str, ModuleType]) -> None:
    answer = [
        {"paint.mix": {"first": ["blue"], "second": ["yellow"], "ratio": [""]}},
        {"paint.mix": {"first": ["red"], "second": ["white"], "ratio": [""]}},
    ]
    item = _item(bench, "parallel", answer)
    both = _turn(
        ("paint_mix", {"first": "red", "second": "white"}),
        ("paint_mix", {"first": "blue", "second": "yellow"}),
    )
    score = bench["bfcl_score"].score_item(item, both)
    assert score.correct and score.reward == 1.0
    one = _turn(("paint_mix", {"first": "red", "second": "white"}))
    assert not bench["bfcl_score"].score_item(item, one).correct


def test_the_loader_reads_every_category_from_the_package(bench: dict[str, ModuleType]) -> None:
    data = bench["bfcl_data"]
    assert set(data.available_categories()) >= {
        "simple",
        "multiple",
        "parallel",
        "parallel_multiple",
        "irrelevance",
    }
    for category in data.available_categories():
        items = data.load_category(category, limit=3)
        assert len(items) == 3 and items == data.load_category(category, limit=3)
        for item in items:
            assert item.chat_messages() and item.tool_specs()
            assert (item.possible_answer is None) == item.expects_no_call
            assert all("." not in spec.name for spec in item.tool_specs())
    assert len(data.load_category("simple", limit=None)) > 100


def test_policies_map_to_request_options(bench: dict[str, ModuleType]) -> None:
    options = bench["bfcl"].policy_options
    assert options("required").tool_choice == "required"
    assert options("call_once").tool_choice == "required"
    assert options("auto").tool_decision == "free"
    assert options("likelihood").tool_decision == "likelihood"
    assert options("default").tool_decision is None
    with pytest.raises(ValueError, match="unknown policy"):
        options("sometimes")


class _Failing:
    """A model whose every request fails, as a broken backend or an overlong prompt does."""

    name = "failing"

    async def chat(self, *args: Any, **kwargs: Any) -> ChatResult:
        raise ModelError("generation failed: boom")


def test_a_model_error_is_a_counted_miss_even_on_irrelevance(
    bench: dict[str, ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    items = {
        "irrelevance": [_item(bench, "irrelevance", [])],
        "simple": [_item(bench, "simple", ANSWER)],
    }
    monkeypatch.setattr(bench["bfcl"], "load_category", lambda c, limit, offset: items[c])
    report = asyncio.run(
        bench["bfcl"].evaluate_async(
            _Failing(), policy="similarity", categories=["irrelevance", "simple"], limit=1
        )
    )
    for category in ("irrelevance", "simple"):
        summary = report["categories"][category]
        assert summary["correct"] == 0 and summary["model_errors"] == 1
        assert summary["items"][0]["error"].startswith("model error: ")


def test_the_decision_auc_ranks_call_items_over_no_call_items(
    bench: dict[str, ModuleType],
) -> None:
    auc = bench["bfcl_decision"].auc
    assert auc([0.9, 0.8], [0.1, 0.2]) == 1.0  # every call item above every other
    assert auc([0.1], [0.9]) == 0.0
    assert auc([0.5, 0.5], [0.5]) == 0.5  # a rate alone, the same everywhere: ties
    # 0.3 beats 0.2 and ties nothing; 0.6 beats both: 3 wins of 4 pairs
    assert auc([0.3, 0.6], [0.2, 0.4]) == 0.75
    with pytest.raises(ValueError, match="at least one item"):
        auc([], [0.1])
