"""The transformers backend: a clear error without torch, real generation with it."""

from __future__ import annotations

import importlib.util

import pytest
from tool_spec_support import TIMER, WEATHER

from hanlin.llm import ChatOptions, Completed, ModelError, TextDelta, UserMessage
from hanlin.llm.chat_model import ModelInputError
from hanlin.llm.transformers_model import StopStringFilter, TransformersModel

HAS_TRANSFORMERS = all(
    importlib.util.find_spec(name) is not None for name in ("torch", "transformers", "gguf")
)
needs_transformers = pytest.mark.skipif(
    not HAS_TRANSFORMERS, reason="needs torch, transformers and gguf (pip install 'hanlin[train]')"
)


def ask(text: str) -> list[UserMessage]:
    return [UserMessage(content=text)]


def test_stop_filter_holds_back_possible_stop_strings() -> None:
    stops = StopStringFilter(["STOP", "<end>"])
    out = [stops.feed(piece) for piece in ["Hello ", "wor", "ld S", "T", "OP and more"]]
    assert out == ["Hello ", "wor", "ld ", "", ""]
    assert stops.text == "Hello world " and stops.stopped
    partial = StopStringFilter(["<end>"])
    assert partial.feed("a <e") == "a "
    assert partial.feed("x") == "<ex"
    assert partial.flush() == ""


@pytest.mark.skipif(HAS_TRANSFORMERS, reason="torch and transformers are installed")
async def test_missing_torch_names_the_extra_to_install() -> None:
    model = TransformersModel()
    with pytest.raises(ModelError, match=r"hanlin\[train\]"):
        await model.chat(ask("hi"))


@pytest.fixture(scope="module")
def model() -> TransformersModel:
    local = TransformersModel(n_threads=2)
    local.load()
    return local


@needs_transformers
@pytest.mark.local_model
async def test_streams_an_answer_from_the_gguf_file(model: TransformersModel) -> None:
    question = ask("What is the capital of France? Answer in one sentence.")
    items = [item async for item in model.stream(question, options=ChatOptions(max_tokens=24))]
    deltas, last = items[:-1], items[-1]
    assert len(deltas) >= 3 and all(isinstance(d, TextDelta) for d in deltas)
    assert isinstance(last, Completed)
    assert "Paris" in last.result.message.content
    assert "".join(d.text for d in deltas) == last.result.raw_text
    assert last.result.usage.prompt_tokens > 10


@needs_transformers
@pytest.mark.local_model
async def test_stop_strings_and_max_tokens(model: TransformersModel) -> None:
    counting = ask("Count from 1 to 10, one number per line.")
    stopped = await model.chat(counting, options=ChatOptions(max_tokens=48, stop=["5"]))
    assert "5" not in stopped.raw_text and "4" in stopped.raw_text
    short = await model.chat(ask("Write a long story."), options=ChatOptions(max_tokens=5))
    assert short.finish_reason == "length" and short.usage.completion_tokens == 5


@needs_transformers
async def test_json_schema_is_refused_with_a_pointer(model: TransformersModel) -> None:
    options = ChatOptions(json_schema={"type": "object"})
    # The request asks for what this backend cannot do: the caller's to change (a 400 when served).
    with pytest.raises(ModelInputError, match="LocalModel"):
        await model.chat(ask("hi"), options=options)


@needs_transformers
@pytest.mark.local_model
async def test_the_similarity_decision_offers_only_the_tool_the_question_is_about(
    model: TransformersModel,
) -> None:
    tools = [WEATHER, TIMER]

    async def prompt_tokens(question: str, decision: str) -> int:
        options = ChatOptions(max_tokens=4, tool_decision=decision)  # type: ignore[arg-type]
        reply = await model.chat(ask(question), tools=tools, options=options)
        return reply.usage.prompt_tokens

    # The prompt shrinks by the tools the model is no longer shown.
    unrelated = "Who wrote Hamlet?"
    assert await prompt_tokens(unrelated, "similarity") < await prompt_tokens(unrelated, "free")
    timer = "Set a timer for 12 minutes."
    one_tool = await prompt_tokens(timer, "similarity")
    assert (
        await prompt_tokens(unrelated, "similarity") < one_tool < await prompt_tokens(timer, "free")
    )
