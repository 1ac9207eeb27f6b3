"""Whether the embedded model calls: several calls in one reply, and the call / answer decision.

The questions and tools are written here; none comes from a benchmark.
"""

from __future__ import annotations

from typing import Any

import pytest
from tool_spec_support import TIMER, WEATHER

from hanlin.llm.chat_model import ChatOptions
from hanlin.llm.local_grammar import (
    call_or_answer_grammar,
    repeated_call_at,
    tool_call_grammar,
)
from hanlin.llm.local_model import LocalModel
from hanlin.llm.messages import UserMessage

BLOCK = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "%s"}}\n</tool_call>'


@pytest.fixture(scope="module")
def model() -> LocalModel:
    return LocalModel(n_threads=1)  # one thread: on a busy machine, more threads wait on each other


def test_a_repeated_call_is_found_where_it_starts() -> None:
    one, other = BLOCK % "Oslo", BLOCK % "Rome"
    assert repeated_call_at(one) is None
    assert repeated_call_at(f"{one}\n{other}") is None
    assert repeated_call_at(f"{one}\n{other}\n{one}") == len(f"{one}\n{other}\n")
    cut_short = f"{one}\n{one}"
    assert repeated_call_at(cut_short[:-3]) == len(one) + 1  # the call is complete, not its tag
    assert repeated_call_at(cut_short[:-20]) is None  # the call itself is not finished yet


def test_grammars_compile_for_one_or_several_calls() -> None:
    assert tool_call_grammar([WEATHER, TIMER], 1) is not None
    assert tool_call_grammar([WEATHER], 4) is not None
    assert call_or_answer_grammar([WEATHER, TIMER], 4) is not None


def test_only_a_fresh_question_is_decided() -> None:
    model = LocalModel(tool_decision="likelihood")
    auto = ChatOptions()
    asked = [{"role": "user", "content": "Set a timer for 5 minutes."}]
    answered = [*asked, {"role": "user", "content": '<tool_response>\n{"name": "x"}'}]
    assert model.decision_for(asked, [TIMER], auto) == "likelihood"
    assert model.decision_for(answered, [TIMER], auto) is None
    assert model.decision_for(asked, [], auto) is None
    assert model.decision_for(asked, [TIMER], ChatOptions(tool_choice="required")) is None
    assert model.decision_for(asked, [TIMER], ChatOptions(tool_decision="free")) is None
    assert model.decision_for(asked, [TIMER], ChatOptions(tool_decision="yes_no")) == "yes_no"


@pytest.mark.local_model
async def test_one_reply_calls_a_tool_twice_for_two_cities(model: LocalModel) -> None:
    result = await model.chat(
        [UserMessage(content="What is the weather in Oslo and in Rome?")],
        tools=[WEATHER],
        options=ChatOptions(tool_choice="required", max_tokens=120),
    )
    cities = [call.arguments["city"] for call in result.message.tool_calls]
    assert cities == ["Oslo", "Rome"], result.raw_text
    assert result.finish_reason == "tool_calls"


@pytest.mark.local_model
async def test_a_model_repeating_its_call_is_stopped_after_one(model: LocalModel) -> None:
    result = await model.chat(
        [UserMessage(content="Set a timer for 12 minutes.")],
        tools=[TIMER],
        options=ChatOptions(tool_choice="required", max_tokens=160),
    )
    assert [(c.name, c.arguments) for c in result.message.tool_calls] == [
        ("set_timer", {"minutes": 12})
    ]
    assert result.raw_text.count("<tool_call>") == 1


DECIDING = [None, "likelihood", "relevance", "similarity"]  # None: the model's default


@pytest.mark.local_model
@pytest.mark.parametrize("decision", DECIDING)
async def test_the_policy_calls_when_a_tool_fits(model: LocalModel, decision: Any) -> None:
    result = await model.chat(
        [UserMessage(content="Set a timer for 12 minutes.")],
        tools=[TIMER],
        options=ChatOptions(max_tokens=64, tool_decision=decision),
    )
    assert [(c.name, c.arguments) for c in result.message.tool_calls] == [
        ("set_timer", {"minutes": 12})
    ]


@pytest.mark.local_model
@pytest.mark.parametrize("decision", DECIDING)
async def test_the_policy_answers_when_no_tool_fits(model: LocalModel, decision: Any) -> None:
    result = await model.chat(
        [UserMessage(content="Who wrote the novel Pride and Prejudice?")],
        tools=[WEATHER],
        options=ChatOptions(max_tokens=32, tool_decision=decision),
    )
    assert result.message.tool_calls == [] and result.tool_errors == []
    assert result.message.content and "<tool_call>" not in result.raw_text


@pytest.mark.local_model
async def test_the_free_policy_leaves_the_model_alone(model: LocalModel) -> None:
    question = [UserMessage(content="Set a timer for 12 minutes.")]
    free = await model.chat(
        question, tools=[TIMER], options=ChatOptions(max_tokens=24, tool_decision="free")
    )
    decided = await model.chat(question, tools=[TIMER], options=ChatOptions(max_tokens=24))
    assert free.raw_text != decided.raw_text
