"""The OpenAI-compatible server, driven by the official ``openai`` client over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import openai
import pytest

from hanlin.llm.chat_model import (
    BaseChatModel,
    ChatModel,
    ChatOptions,
    ChatResult,
    Completed,
    ModelInputError,
    StreamItem,
    TextDelta,
    ToolSpec,
)
from hanlin.llm.messages import (
    AssistantMessage,
    AudioPart,
    FilePart,
    ImagePart,
    Message,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from hanlin.llm.scripted import ScriptedModel, call
from hanlin.serving.server import BackgroundServer, create_app

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


class OptionsRecordingModel(ScriptedModel):
    """A scripted model that also keeps the options each call was given."""

    def __init__(self, turns: Sequence[object], **kwargs: object) -> None:
        super().__init__(turns, **kwargs)  # type: ignore[arg-type]
        self.options_seen: list[ChatOptions | None] = []

    def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions | None = None,
    ) -> AsyncIterator[StreamItem]:
        self.options_seen.append(options)
        return super().stream(messages, tools=tools, options=options)


class FailsMidStream(BaseChatModel):
    """Streams one piece of text, then its backend breaks."""

    name = "flaky"

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions | None = None,
    ) -> AsyncIterator[StreamItem]:
        yield TextDelta(text="partial ")
        raise RuntimeError("connection to the GPU box dropped")


@contextmanager
def serving(models: dict[str, ChatModel]) -> Iterator[str]:
    with BackgroundServer(create_app(models)) as server:
        yield server.url


def client_for(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="not-needed", max_retries=0)


def ask(client: openai.OpenAI, text: str, **kwargs: object) -> object:
    return client.chat.completions.create(
        model="scripted", messages=[{"role": "user", "content": text}], **kwargs
    )


def test_lists_models_in_openai_format() -> None:
    models = {"scripted": ScriptedModel([]), "other": ScriptedModel([], name="other")}
    with serving(models) as url:
        client = client_for(url)
        listed = client.models.list()
        assert [m.id for m in listed.data] == ["scripted", "other"]
        assert all(m.object == "model" and m.owned_by == "hanlin" for m in listed.data)
        assert client.models.retrieve("other").id == "other"
        with pytest.raises(openai.NotFoundError):
            client.models.retrieve("missing")


def test_answers_without_streaming_and_reports_usage() -> None:
    model = ScriptedModel(["Paris is the capital of France."])
    with serving({"scripted": model}) as url:
        response = ask(client_for(url), "What is the capital of France?")
    assert response.object == "chat.completion"
    assert response.model == "scripted"
    choice = response.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "Paris is the capital of France."
    assert choice.finish_reason == "stop"
    assert choice.message.tool_calls is None
    usage = response.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    [sent] = model.calls
    assert sent == [UserMessage(content="What is the capital of France?")]


def test_streams_text_deltas_then_finish_and_usage() -> None:
    model = ScriptedModel(["one two three four"])
    with serving({"scripted": model}) as url:
        stream = ask(client_for(url), "count", stream=True, stream_options={"include_usage": True})
        chunks = list(stream)
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert len({c.id for c in chunks}) == 1
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert pieces == ["one ", "two ", "three ", "four "]
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and finishes.count("stop") == 1
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0


def test_stream_without_usage_option_sends_no_usage_chunk() -> None:
    with serving({"scripted": ScriptedModel(["hi"])}) as url:
        chunks = list(ask(client_for(url), "hello", stream=True))
    assert all(c.choices for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_tool_call_round_trip() -> None:
    def answer(messages: Sequence[Message]) -> str:
        return f"The weather: {messages[-1].content}"

    model = ScriptedModel([call("get_weather", call_id="call_42", city="Paris"), answer])
    history: list[dict[str, object]] = [{"role": "user", "content": "Weather in Paris?"}]
    with serving({"scripted": model}) as url:
        client = client_for(url)
        first = client.chat.completions.create(
            model="scripted", messages=history, tools=[WEATHER_TOOL]
        )
        choice = first.choices[0]
        assert choice.finish_reason == "tool_calls"
        assert choice.message.content is None
        [tool_call] = choice.message.tool_calls
        assert tool_call.id == "call_42" and tool_call.type == "function"
        assert tool_call.function.name == "get_weather"
        assert json.loads(tool_call.function.arguments) == {"city": "Paris"}

        history.append(choice.message.model_dump(exclude_none=True))
        history.append({"role": "tool", "tool_call_id": tool_call.id, "content": "sunny, 21 C"})
        second = client.chat.completions.create(
            model="scripted", messages=history, tools=[WEATHER_TOOL]
        )
    assert second.choices[0].message.content == "The weather: sunny, 21 C"
    assert model.tools_seen[0] == [ToolSpec(**WEATHER_TOOL["function"])]
    replayed = model.calls[1]
    assert replayed[1] == AssistantMessage(
        tool_calls=[ToolCall(id="call_42", name="get_weather", arguments={"city": "Paris"})]
    )
    assert replayed[2] == ToolMessage(
        tool_call_id="call_42", name="get_weather", content="sunny, 21 C"
    )


def test_streamed_tool_call_arrives_as_tool_call_deltas() -> None:
    model = ScriptedModel([call("get_weather", call_id="call_7", city="Oslo")])
    with serving({"scripted": model}) as url:
        chunks = list(ask(client_for(url), "Weather in Oslo?", stream=True, tools=[WEATHER_TOOL]))
    deltas = [tc for c in chunks for tc in (c.choices[0].delta.tool_calls or [])]
    assert [(d.index, d.id, d.function.name) for d in deltas] == [(0, "call_7", "get_weather")]
    assert json.loads(deltas[0].function.arguments) == {"city": "Oslo"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_sampling_fields_and_response_format_reach_the_model() -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    model = OptionsRecordingModel(["{}", "{}", "{}"])
    with serving({"scripted": model}) as url:
        client = client_for(url)
        ask(
            client,
            "a",
            temperature=0.7,
            max_tokens=64,
            stop="END",
            seed=11,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": schema},
            },
        )
        ask(client, "b", response_format={"type": "json_object"}, stop=["x", "y"])
        ask(
            client,
            "c",
            tools=[WEATHER_TOOL, {**WEATHER_TOOL, "function": {"name": "other"}}],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
        )
    first, second, third = model.options_seen
    assert first == ChatOptions(
        temperature=0.7, max_tokens=64, stop=["END"], seed=11, json_schema=schema
    )
    assert second == ChatOptions(stop=["x", "y"], json_schema={"type": "object"})
    assert third.tool_choice == "required"
    assert [t.name for t in model.tools_seen[2]] == ["get_weather"]


def test_multimodal_user_content_becomes_hanlin_parts() -> None:
    seen_file_text: list[str] = []

    def read_file(messages: Sequence[Message]) -> str:
        [part] = [p for p in messages[1].content if isinstance(p, FilePart)]
        seen_file_text.append(Path(part.path).read_text())
        return "read it"

    model = ScriptedModel([read_file])
    document = base64.b64encode(b"name,score\nada,3\n").decode()
    content = [
        {"type": "text", "text": "Describe these."},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
        {
            "type": "file",
            "file": {"filename": "scores.csv", "file_data": f"data:text/csv;base64,{document}"},
        },
    ]
    with serving({"scripted": model}) as url:
        response = client_for(url).chat.completions.create(
            model="scripted",
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": content},
            ],
        )
    assert response.choices[0].message.content == "read it"
    system, user = model.calls[0]
    assert system.content == "Be brief."
    text, image, audio, file = user.content
    assert text.text == "Describe these."
    assert image == ImagePart(url="data:image/png;base64,iVBORw0KGgo=", media_type="image/png")
    assert audio == AudioPart(data_base64="UklGRg==", media_type="audio/wav")
    assert file.name == "scores.csv" and file.media_type == "text/csv"
    assert seen_file_text == ["name,score\nada,3\n"]
    assert not Path(file.path).exists(), "inline files are removed after the request"


def test_unknown_model_is_not_found_and_lists_models() -> None:
    with serving({"scripted": ScriptedModel([])}) as url:
        with pytest.raises(openai.NotFoundError) as caught:
            client_for(url).chat.completions.create(
                model="gpt-9", messages=[{"role": "user", "content": "hi"}]
            )
    error = caught.value.body
    assert error["code"] == "model_not_found" and error["param"] == "model"
    assert "scripted" in error["message"]


@pytest.mark.parametrize(
    ("messages", "extra", "param"),
    [
        ([], {}, "messages"),
        ([{"role": "user", "content": "hi"}], {"temperature": 5}, "temperature"),
        ([{"role": "wizard", "content": "hi"}], {}, "messages.0"),
        (
            [{"role": "tool", "tool_call_id": "nope", "content": "x"}],
            {},
            "messages[0].tool_call_id",
        ),
        (
            [
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{not json"},
                        }
                    ],
                }
            ],
            {},
            "messages[0].tool_calls[0].function.arguments",
        ),
        ([{"role": "user", "content": "hi"}], {"n": 3}, "n"),
        (
            [{"role": "user", "content": "hi"}],
            {"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
            "response_format.json_schema",
        ),
    ],
)
def test_invalid_requests_are_bad_requests(messages: list, extra: dict, param: str) -> None:
    model = ScriptedModel(["unused"])
    with serving({"scripted": model}) as url:
        with pytest.raises(openai.BadRequestError) as caught:
            client_for(url).chat.completions.create(model="scripted", messages=messages, **extra)
    error = caught.value.body
    assert error["type"] == "invalid_request_error"
    assert error["param"].startswith(param), error
    assert model.calls == [], "a bad request never reaches the model"


def test_raw_http_errors_are_openai_shaped() -> None:
    with serving({"scripted": ScriptedModel([])}) as url:
        not_json = httpx.post(
            f"{url}/v1/chat/completions",
            content=b"{oops",
            headers={"content-type": "application/json"},
        )
        no_route = httpx.get(f"{url}/v1/nowhere")
        health = httpx.get(f"{url}/health")
    assert not_json.status_code == 400
    assert "not valid JSON" in not_json.json()["error"]["message"]
    assert no_route.status_code == 404 and "error" in no_route.json()
    assert health.json() == {"status": "ok", "active": 0, "waiting": 0, "models": ["scripted"]}


def test_model_failures_are_server_errors_and_serving_continues() -> None:
    def explode(_: Sequence[Message]) -> str:
        raise ValueError("tokenizer exploded")

    model = ScriptedModel([explode, "still here", explode, "and here"])
    with serving({"scripted": model, "empty": ScriptedModel([])}) as url:
        client = client_for(url)
        with pytest.raises(openai.InternalServerError) as crashed:
            ask(client, "first")
        assert crashed.value.status_code == 500
        assert "tokenizer exploded" in crashed.value.body["message"]
        assert ask(client, "second").choices[0].message.content == "still here"

        with pytest.raises(openai.InternalServerError):
            list(ask(client, "third", stream=True))
        assert ask(client, "fourth").choices[0].message.content == "and here"

        with pytest.raises(openai.InternalServerError) as exhausted:
            client.chat.completions.create(
                model="empty", messages=[{"role": "user", "content": "x"}]
            )
        assert exhausted.value.status_code == 502
        assert exhausted.value.body["type"] == "model_error"


def test_input_the_model_cannot_take_is_a_bad_request_not_a_server_error() -> None:
    def too_long(_: Sequence[Message]) -> str:
        raise ModelInputError(
            "the prompt is 9000 tokens but the context window is 4096",
            code="context_length_exceeded",
            param="messages",
        )

    model = ScriptedModel([too_long, too_long, "fits"])
    with serving({"scripted": model}) as url:
        client = client_for(url)
        with pytest.raises(openai.BadRequestError) as caught:
            ask(client, "a very long prompt")
        assert caught.value.body["code"] == "context_length_exceeded"
        assert caught.value.body["param"] == "messages"
        with pytest.raises(openai.BadRequestError):
            list(ask(client, "a very long prompt", stream=True))
        assert ask(client, "short").choices[0].message.content == "fits"


def test_failure_mid_stream_is_reported_in_band() -> None:
    with serving({"flaky": FailsMidStream(), "scripted": ScriptedModel(["fine"])}) as url:
        client = client_for(url)
        stream = client.chat.completions.create(
            model="flaky", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        received: list[str] = []
        with pytest.raises(openai.APIError, match="connection to the GPU box dropped"):
            for chunk in stream:
                received.append(chunk.choices[0].delta.content or "")
        assert "".join(received) == "partial "
        assert ask(client, "again").choices[0].message.content == "fine"


async def test_concurrent_requests_are_served_together() -> None:
    delay = 0.4
    model = ScriptedModel(["done"] * 5, delay=delay)
    with serving({"scripted": model}) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0)
        started = time.perf_counter()
        responses = await asyncio.gather(
            *(
                client.chat.completions.create(
                    model="scripted",
                    messages=[{"role": "user", "content": f"job {i}"}],
                    stream=i % 2 == 0,
                )
                for i in range(5)
            )
        )
        elapsed = time.perf_counter() - started
        texts = []
        for response in responses:
            if isinstance(response, openai.AsyncStream):
                texts.append(
                    "".join(
                        [c.choices[0].delta.content or "" async for c in response if c.choices]
                    ).strip()
                )
            else:
                texts.append(response.choices[0].message.content)
        await client.close()
    assert texts == ["done"] * 5
    assert sorted(m[0].content for m in model.calls) == [f"job {i}" for i in range(5)]
    assert elapsed < 3 * delay, f"5 requests took {elapsed:.2f}s; they ran one after another"


class SlowTalker(BaseChatModel):
    """Pauses between words, and notes when its stream is closed."""

    name = "slow"

    def __init__(self, pause: float) -> None:
        self.pause = pause
        self.closed_flag = False

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions | None = None,
    ) -> AsyncIterator[StreamItem]:
        try:
            for word in ["first ", "second ", "third "]:
                yield TextDelta(text=word)
                await asyncio.sleep(self.pause)
            answer = AssistantMessage(content="first second third")
            yield Completed(result=ChatResult(message=answer))
        finally:
            self.closed_flag = True


def test_deltas_reach_the_client_while_the_model_is_still_talking() -> None:
    pause = 0.5
    model = SlowTalker(pause)
    with serving({"slow": model}) as url:
        started = time.perf_counter()
        stream = client_for(url).chat.completions.create(
            model="slow", messages=[{"role": "user", "content": "talk"}], stream=True
        )
        arrivals: list[tuple[str, float]] = []
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                arrivals.append((chunk.choices[0].delta.content, time.perf_counter() - started))
    assert [text for text, _ in arrivals] == ["first ", "second ", "third "]
    assert arrivals[0][1] < pause, "the first word waited for the whole answer"
    assert arrivals[2][1] - arrivals[0][1] >= 1.5 * pause


def test_client_hanging_up_closes_the_model_stream() -> None:
    model = SlowTalker(0.3)
    with serving({"slow": model, "scripted": ScriptedModel(["ok"])}) as url:
        client = client_for(url)
        stream = client.chat.completions.create(
            model="slow", messages=[{"role": "user", "content": "talk"}], stream=True
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                break
        stream.close()
        deadline = time.monotonic() + 3
        while not model.closed_flag and time.monotonic() < deadline:
            time.sleep(0.02)
        assert model.closed_flag, "the model kept generating for a client that left"
        assert ask(client, "next").choices[0].message.content == "ok"


def test_keep_alive_requests_are_not_held_back_by_delayed_acks() -> None:
    with serving({"scripted": ScriptedModel([])}) as url, httpx.Client() as http:
        http.get(f"{url}/health")
        started = time.perf_counter()
        for _ in range(10):
            assert http.get(f"{url}/health").status_code == 200
        elapsed = time.perf_counter() - started
    assert elapsed < 0.2, f"10 keep-alive requests took {elapsed:.3f}s (Nagle/delayed ACK?)"
