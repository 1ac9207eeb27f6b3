"""The TL-Training reward (every category) and the TS / PI / CF metrics built on it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hanlin.llm.chat_model import ToolSpec
from hanlin.llm.messages import AssistantMessage, ToolCall
from hanlin.training.evaluation.tool_metrics import Prediction, score_predictions
from hanlin.training.rl.reward import (
    RewardCategory,
    canonical_value,
    score_message,
    score_tool_call,
)

C = RewardCategory
TOOLS = [
    ToolSpec(
        name="get_weather",
        parameters={
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "note": {},
            },
            "required": ["city"],
        },
    ),
    ToolSpec(
        name="search_web",
        parameters={
            "type": "object",
            "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
            "required": ["query"],
        },
    ),
]


def call(name: str, **arguments: Any) -> ToolCall:
    return ToolCall(id=f"id_{name}", name=name, arguments=arguments)


def turn(*calls: ToolCall, content: str = "") -> AssistantMessage:
    return AssistantMessage(content=content, tool_calls=list(calls))


def hermes(name: str, arguments: Any) -> str:
    payload = json.dumps({"name": name, "arguments": arguments})
    return f"<tool_call>\n{payload}\n</tool_call>"


GOLD = turn(call("get_weather", city="Paris", days=3))


def weather(**arguments: Any) -> str:
    return hermes("get_weather", arguments)


@pytest.mark.parametrize(
    ("text", "category", "score"),
    [
        (
            '<tool_call>\n{"name": "get_weather", "arguments": {"city": \n</tool_call>',
            C.UNPARSABLE,
            -2,
        ),
        (hermes("get_wether", {"city": "Paris"}), C.HALLUCINATED_TOOL, -2),
        (hermes("search_web", {"query": "Paris weather"}), C.WRONG_TOOL, -1.5),
        ("It will be sunny in Paris.", C.WRONG_TOOL, -1.5),
        (weather(country="FR", unit="celsius"), C.PARAMS_HALLUCINATED_REDUNDANT_MISSING, -1.8),
        (weather(city="Paris", country="FR"), C.PARAMS_HALLUCINATED_AND_REDUNDANT_OR_MISSING, -1.3),
        (
            weather(city="Paris", days=3, unit="celsius", country="FR"),
            C.PARAMS_HALLUCINATED_AND_REDUNDANT_OR_MISSING,
            -1.3,
        ),
        (weather(city="Paris", unit="celsius"), C.PARAMS_REDUNDANT_MISSING, -1.0),
        (weather(city="Paris", days=3, country="FR"), C.PARAMS_HALLUCINATED, -0.8),
        (weather(city="Paris"), C.PARAMS_REDUNDANT_OR_MISSING, -0.5),
        (weather(city="Paris", days=3, unit="celsius"), C.PARAMS_REDUNDANT_OR_MISSING, -0.5),
        (weather(city="Rome", days=3), C.CONTENT_FILLING, -0.25),
        (weather(city="Paris", days=3), C.CORRECT, 1),
        ('get_weather(city="Paris", days=3)', C.CORRECT, 1),
        ('Action: get_weather\nAction Input: {"city": "Paris", "days": 3}', C.CORRECT, 1),
    ],
)
def test_every_category_of_a_single_call(text: str, category: C, score: float) -> None:
    result = score_tool_call(text, GOLD, TOOLS)
    assert (result.category, result.score) == (category, score), result.detail


def test_the_detail_names_what_went_wrong() -> None:
    result = score_tool_call(
        hermes("get_weather", {"country": "FR", "unit": "celsius"}), GOLD, TOOLS
    )
    assert result.detail == (
        "get_weather: hallucinated ['country']; redundant ['unit']; missing ['city', 'days']"
    )
    wrong = score_tool_call(hermes("get_weather", {"city": "Rome", "days": 3}), GOLD, TOOLS)
    assert wrong.detail == 'get_weather: city="Rome" (gold "Paris")'


def test_values_are_compared_after_the_runtime_repairs_and_json_normalisation() -> None:
    def judged(arguments: dict[str, Any], gold: dict[str, Any]) -> C:
        return score_tool_call(
            hermes("get_weather", arguments), turn(call("get_weather", **gold)), TOOLS
        ).category

    assert judged({"city": " Paris ", "days": "3"}, {"city": "Paris", "days": 3}) == C.CORRECT
    assert judged({"city": "Paris", "days": 3.0}, {"city": "Paris", "days": 3}) == C.CORRECT
    assert (
        judged({"city": "Paris", "unit": "Celsius"}, {"city": "Paris", "unit": "celsius"})
        == C.CORRECT
    )
    assert (
        judged({"city": "Paris", "days": None}, {"city": "Paris"}) == C.CORRECT
    )  # null: not given
    assert judged({"city": "Paris", "note": "5"}, {"city": "Paris", "note": 5}) == C.CONTENT_FILLING
    assert (
        judged({"city": "Paris", "note": True}, {"city": "Paris", "note": 1}) == C.CONTENT_FILLING
    )
    nested = {"city": "Paris", "note": {"b": [1.0], "a": "x "}}
    assert judged(nested, {"city": "Paris", "note": {"a": "x", "b": [1]}}) == C.CORRECT
    assert canonical_value(2.0) == canonical_value(2) != canonical_value("2")


def test_a_plain_value_input_is_mapped_as_the_runtime_maps_it() -> None:
    gold = turn(call("search_web", query="hanlin"))
    assert (
        score_tool_call("Action: search_web\nAction Input: hanlin", gold, TOOLS).category
        == C.CORRECT
    )


def test_direct_answers_as_gold() -> None:
    gold = AssistantMessage(content="Hello! How can I help?")
    assert score_tool_call("Hi there.", gold, TOOLS).category == C.CORRECT
    assert score_tool_call(hermes("search_web", {"query": "hi"}), gold, TOOLS).score == -1.5
    assert score_tool_call(hermes("say_hi", {}), gold, TOOLS).category == C.HALLUCINATED_TOOL
    assert score_tool_call(hermes("say_hi", {}), gold, []).category == C.HALLUCINATED_TOOL
    assert score_tool_call("Hi there.", gold, []).category == C.CORRECT


def test_several_calls_are_paired_in_order_and_averaged() -> None:
    gold = turn(call("get_weather", city="Paris"), call("search_web", query="louvre"))
    both = (
        hermes("get_weather", {"city": "Paris"}) + "\n" + hermes("search_web", {"query": "louvre"})
    )
    assert score_tool_call(both, gold, TOOLS).score == 1.0
    one = score_tool_call(hermes("get_weather", {"city": "Paris"}), gold, TOOLS)
    assert (one.score, one.category) == ((1 - 1.5) / 2, C.WRONG_TOOL)
    assert "call 2: wrong_tool (missing call to search_web)" in one.detail
    swapped = turn(call("search_web", query="louvre"), call("get_weather", city="Paris"))
    assert score_message(swapped, gold, TOOLS).score == -1.5
    # a -1.8 parameter slot scores lower than a wrong tool, but the turn still selected wrongly
    mixed = turn(call("get_weather", country="FR", unit="celsius"), call("get_weather", city="x"))
    result = score_message(mixed, gold, TOOLS)
    assert (result.score, result.category) == ((-1.8 - 1.5) / 2, C.WRONG_TOOL)
    extra = turn(
        call("get_weather", city="Paris"),
        call("search_web", query="louvre"),
        call("search_web", query="x"),
    )
    assert score_message(extra, gold, TOOLS).score == pytest.approx((1 + 1 - 1.5) / 3)


def test_score_message_judges_real_calls_including_unknown_tools() -> None:
    assert score_message(turn(call("get_weather", city="Paris", days=3)), GOLD, TOOLS).score == 1
    assert score_message(turn(call("get_time")), GOLD, TOOLS).category == C.HALLUCINATED_TOOL
    assert score_message(turn(content="Sunny."), GOLD, TOOLS).category == C.WRONG_TOOL


def test_metrics_on_a_small_hand_made_set() -> None:
    answer = AssistantMessage(content="Hello!")
    pairs = [
        Prediction(predicted=weather(city="Paris", days=3), gold=GOLD, tools=TOOLS),
        (weather(city="Rome", days=3), GOLD, TOOLS),  # content filling
        (weather(city="Paris"), GOLD, TOOLS),  # a missing parameter
        (hermes("search_web", {"query": "Paris"}), GOLD, TOOLS),  # wrong tool
        ("Hi!", answer, TOOLS),  # right not to call
        (turn(call("get_weather", city="Paris")), answer, TOOLS),  # should not have called
    ]  # fmt: skip
    scores = score_predictions(pairs)
    assert scores.count == 6
    assert scores.tool_selection == pytest.approx(4 / 6)
    assert scores.parameter_identification == pytest.approx(3 / 6)
    assert scores.content_filling == pytest.approx(2 / 6)
    assert scores.mean_reward == pytest.approx((1 - 0.25 - 0.5 - 1.5 + 1 - 1.5) / 6)
    with pytest.raises(ValueError, match="no predictions"):
        score_predictions([])
