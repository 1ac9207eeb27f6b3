"""The embedded llama.cpp backend, run for real on the shipped SmolLM2-135M-Instruct GGUF."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from pydantic import BaseModel

from hanlin.llm import (
    AssistantMessage,
    ChatOptions,
    Completed,
    ModelError,
    SystemMessage,
    TextDelta,
    ToolCall,
    ToolCallError,
    ToolMessage,
    ToolSpec,
    UserMessage,
)
from hanlin.llm.local_model import LocalModel
from hanlin.llm.local_prompt import to_template_messages, tools_in_use
from hanlin.llm.model_files import ModelFileError, default_gguf_path, resolve_model_path

CALCULATOR = ToolSpec(
    name="calculator",
    description="Evaluate an arithmetic expression and return the number.",
    parameters={
        "type": "object",
        "properties": {"expression": {"type": "string", "description": "e.g. 12 * 7"}},
        "required": ["expression"],
    },
)


class City(BaseModel):
    name: str
    country: str
    population: int


@pytest.fixture(scope="module")
def model() -> LocalModel:
    pytest.importorskip("llama_cpp", reason="needs llama-cpp-python (pip install 'hanlin[local]')")
    local = LocalModel(n_threads=2, n_ctx=2048)
    local.load()
    return local


def ask(text: str) -> list[UserMessage]:
    return [UserMessage(content=text)]


@pytest.mark.local_model
async def test_answers_a_question(model: LocalModel) -> None:
    question = ask("What is the capital of France? Answer in one sentence.")
    result = await model.chat(question, options=ChatOptions(max_tokens=24))
    assert "Paris" in result.message.content
    assert result.usage.prompt_tokens > 10
    assert 0 < result.usage.completion_tokens <= 24
    assert result.finish_reason == "stop"
    assert result.raw_text.strip() == result.message.content


@pytest.mark.local_model
async def test_stream_yields_tokens_then_the_result(model: LocalModel) -> None:
    items = [
        item
        async for item in model.stream(
            ask("Name three colors."), options=ChatOptions(max_tokens=32)
        )
    ]
    deltas, last = items[:-1], items[-1]
    assert len(deltas) >= 3 and all(isinstance(d, TextDelta) for d in deltas)
    assert isinstance(last, Completed)
    assert "".join(d.text for d in deltas) == last.result.raw_text


@pytest.mark.local_model
async def test_max_tokens_and_stop_strings_are_honoured(model: LocalModel) -> None:
    story = ask("Write a long story about a dragon.")
    short = await model.chat(story, options=ChatOptions(max_tokens=5))
    assert short.finish_reason == "length"
    assert short.usage.completion_tokens == 5

    counting = ask("Count from 1 to 10, one number per line.")
    full = await model.chat(counting, options=ChatOptions(max_tokens=48))
    assert "5" in full.raw_text
    stopped = await model.chat(counting, options=ChatOptions(max_tokens=48, stop=["5"]))
    assert "5" not in stopped.raw_text
    assert full.raw_text.startswith(stopped.raw_text)


@pytest.mark.local_model
async def test_same_seed_same_sample(model: LocalModel) -> None:
    prompt = ask("Invent a name for a cat.")
    options = [ChatOptions(max_tokens=16, temperature=1.2, seed=s) for s in (7, 7, 8, 9)]
    first, again, *others = [(await model.chat(prompt, options=o)).raw_text for o in options]
    assert first == again
    assert any(text != first for text in others)


@pytest.mark.local_model
async def test_json_schema_output_always_validates(model: LocalModel) -> None:
    options = ChatOptions(max_tokens=64, json_schema=City.model_json_schema())
    result = await model.chat(ask("Describe Tokyo as JSON."), options=options)
    city = City.model_validate_json(result.message.content)
    assert city.name


@pytest.mark.local_model
async def test_tool_prompt_goes_through_the_tool_path(model: LocalModel) -> None:
    messages = ask("What is 12 * 7? Use the calculator tool.")
    result = await model.chat(messages, tools=[CALCULATOR], options=ChatOptions(max_tokens=64))
    assert result.raw_text
    assert result.message.tool_calls or result.message.content or result.tool_errors
    for call in result.message.tool_calls:
        assert call.name == "calculator" and isinstance(call.arguments, dict) and call.id
    assert result.finish_reason == (
        "tool_calls" if result.message.tool_calls else result.finish_reason
    )
    assert all(isinstance(error, ToolCallError) for error in result.tool_errors)
    assert "<tool_response>" not in result.raw_text


@pytest.mark.local_model
async def test_continues_after_a_tool_result(model: LocalModel) -> None:
    called = [
        *ask("What is 12 * 7?"),
        AssistantMessage(
            tool_calls=[ToolCall(id="c1", name="calculator", arguments={"expression": "12 * 7"})]
        ),
    ]
    answered = [*called, ToolMessage(tool_call_id="c1", name="calculator", content="84")]
    options = ChatOptions(max_tokens=32)
    before = await model.chat(called, tools=[CALCULATOR], options=options)
    after = await model.chat(answered, tools=[CALCULATOR], options=options)
    assert after.usage.prompt_tokens > before.usage.prompt_tokens + 10  # the result was shown
    assert after.finish_reason in {"stop", "length", "tool_calls"}
    assert "<tool_response>" not in after.raw_text


def test_tool_history_renders_for_a_model_without_a_tool_role() -> None:
    history = [
        SystemMessage(content="Be brief."),
        *ask("What is 12 * 7 and 3 + 4?"),
        AssistantMessage(
            content="Let me compute.",
            tool_calls=[
                ToolCall(id="a", name="calculator", arguments={"expression": "12 * 7"}),
                ToolCall(id="b", name="calculator", arguments={"expression": "3 + 4"}),
            ],
        ),
        ToolMessage(tool_call_id="a", name="calculator", content="84"),
        ToolMessage(tool_call_id="b", name="calculator", content="bad input", is_error=True),
    ]
    turns = to_template_messages(history, tools_in_use([CALCULATOR], ChatOptions()), ChatOptions())
    assert [t.role for t in turns] == ["system", "user", "assistant", "user"]
    assert turns[0].content.startswith("Be brief.") and "calculator" in turns[0].content
    assert (
        turns[2].content.count("<tool_call>") == 2 and '"expression": "3 + 4"' in turns[2].content
    )
    assert turns[3].content.count("<tool_response>") == 2 and '"is_error": true' in turns[3].content
    no_tools = ChatOptions(tool_choice="none")
    plain = to_template_messages(history, tools_in_use([CALCULATOR], no_tools), no_tools)
    assert plain[0].content == "Be brief."


@pytest.mark.local_model
async def test_concurrent_calls_are_serialized_and_the_loop_stays_free(model: LocalModel) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    beat = asyncio.create_task(ticker())
    started = time.perf_counter()
    options = ChatOptions(max_tokens=24)
    first, second = await asyncio.gather(
        model.chat(ask("Name a fruit."), options=options),
        model.chat(ask("Name a country."), options=options),
    )
    elapsed = time.perf_counter() - started
    beat.cancel()
    assert ticks >= elapsed / 0.01 * 0.25  # the loop kept running while tokens were generated
    alone = [
        await model.chat(ask(q), options=options) for q in ("Name a fruit.", "Name a country.")
    ]
    assert [first.raw_text, second.raw_text] == [r.raw_text for r in alone]  # no interference


@pytest.mark.local_model
async def test_abandoned_stream_stops_generating(model: LocalModel) -> None:
    story = ask("Write a long story about a dragon.")
    full = await model.chat(story, options=ChatOptions(max_tokens=64))
    assert full.finish_reason == "length"  # left alone, this prompt runs on
    stream = model.stream(story, options=ChatOptions(max_tokens=400))
    async for item in stream:
        assert isinstance(item, TextDelta)
        break
    await stream.aclose()
    loaded = model.load()
    await asyncio.to_thread(loaded.lock.acquire)  # the worker lets go once it sees the cancel
    try:
        generated = loaded.llama.n_tokens - full.usage.prompt_tokens
    finally:
        loaded.lock.release()
    assert generated < 40
    assert (await model.chat(ask("Say hi."), options=ChatOptions(max_tokens=8))).raw_text


@pytest.mark.local_model
async def test_prompt_longer_than_the_context_is_a_clear_error() -> None:
    pytest.importorskip("llama_cpp", reason="needs llama-cpp-python (pip install 'hanlin[local]')")
    small = LocalModel(n_ctx=64, n_threads=1)
    with pytest.raises(ModelError, match="context window"):
        await small.chat(ask("word " * 200))


def test_attachments_a_text_model_cannot_read_are_named_briefly() -> None:
    """An image sent as a data URL must not put its bytes in the prompt (it would overflow
    the context), and an uploaded file's server-side folder is nobody's business."""
    from hanlin.llm.messages import ImagePart, TextPart, UserMessage

    inline = ImagePart(url="data:image/png;base64," + "A" * 200_000, media_type="image/png")
    saved = ImagePart(path="/tmp/hanlin-uploads/xyz/receipt.png")
    message = UserMessage(content=[TextPart(text="What is this?"), inline, saved])
    [turn] = to_template_messages([message], [], ChatOptions())
    assert len(turn.content) < 300
    assert "(inline data)" in turn.content and "receipt.png" in turn.content
    assert "AAAA" not in turn.content and "hanlin-uploads" not in turn.content


def test_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no such model file .*never downloads"):
        LocalModel(str(tmp_path / "absent.gguf"))
    not_gguf = tmp_path / "weights.gguf"
    not_gguf.write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="not a GGUF model file"):
        LocalModel(str(not_gguf))
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelFileError, match="TransformersModel"):
        LocalModel(str(tmp_path))


def test_model_specs_resolve_to_files(tmp_path: Path) -> None:
    default = resolve_model_path(None)
    assert default.kind == "gguf" and default.path == default_gguf_path()
    assert resolve_model_path("default") == default
    assert resolve_model_path(str(default.path)).path == default.path
    folder = tmp_path / "only-one"
    folder.mkdir()
    (folder / "m.gguf").symlink_to(default.path)
    assert resolve_model_path(str(folder)).kind == "gguf"
    (tmp_path / "config.json").write_text("{}")
    assert resolve_model_path(str(tmp_path)).kind == "hf_folder"


async def test_required_tool_choice_constrains_output_to_a_tool_call() -> None:
    from hanlin.llm.chat_model import ChatOptions as _Options
    from hanlin.llm.messages import UserMessage as _User
    from hanlin.tools.builtin.calculator import calculator

    model = LocalModel(n_threads=2)
    result = await model.chat(
        [_User(content="What is 12*7?")],
        tools=[calculator.spec],
        options=_Options(tool_choice="required", max_tokens=64),
    )
    assert result.raw_text.startswith(
        '<tool_call>\n{"name": "calculator", "arguments": {"expression": "'
    )
    if result.finish_reason != "length":  # a finished call is complete and valid by construction
        assert [c.name for c in result.message.tool_calls] == ["calculator"]
        assert result.tool_errors == []


async def test_huge_length_bounds_do_not_blow_up_the_grammar() -> None:
    from hanlin.llm.chat_model import ChatOptions as _Options
    from hanlin.llm.chat_model import ToolSpec as _Spec
    from hanlin.llm.messages import UserMessage as _User

    note = _Spec(
        name="note",
        description="Save a note.",
        parameters={
            "type": "object",
            "required": ["text"],
            "properties": {"text": {"type": "string", "maxLength": 100000}},
        },
    )
    result = await LocalModel(n_threads=2).chat(
        [_User(content="Save a note saying hi.")],
        tools=[note],
        options=_Options(tool_choice="required", max_tokens=32),
    )
    assert result.raw_text.startswith('<tool_call>\n{"name": "note", "arguments": {"text": "')
