"""OpenAICompatibleModel against a real HTTP server on 127.0.0.1 that speaks the OpenAI API."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from hanlin.llm import (
    AssistantMessage,
    ChatOptions,
    Completed,
    ModelError,
    SystemMessage,
    TextDelta,
    ToolCall,
    ToolErrorKind,
    ToolMessage,
    ToolSpec,
    UserMessage,
)
from hanlin.llm.openai_http import OpenAICompatibleModel

Behaviour = Callable[[BaseHTTPRequestHandler, "FakeOpenAIServer"], None]
Serve = Callable[..., "FakeOpenAIServer"]

CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER = ToolSpec(name="get_weather", description="Current weather in a city.", parameters=CITY)
CLOCK = ToolSpec(name="get_time", description="The current time.")
HI = [UserMessage(content="Hi")]


class FakeOpenAIServer:
    """Serves ``POST /v1/chat/completions``; request N gets behaviour N (the last repeats)."""

    def __init__(self, behaviours: list[Behaviour]):
        self.behaviours = behaviours
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                if self.path != "/v1/chat/completions":
                    send_status(404, {"error": {"message": f"no route {self.path}"}})(self, server)
                    return
                server.requests.append(body)
                server.headers.append({k.lower(): v for k, v in self.headers.items()})
                index = min(len(server.requests), len(server.behaviours)) - 1
                try:
                    server.behaviours[index](self, server)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Serve]:
    servers: list[FakeOpenAIServer] = []

    def start(*behaviours: Behaviour) -> FakeOpenAIServer:
        server = FakeOpenAIServer(list(behaviours))
        server.thread.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# ----------------------------------------------------------------- server behaviours


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}],
    }


def tool_delta(index: int, arguments: str, call_id: str = "", name: str = "") -> dict[str, Any]:
    """One tool-call fragment; id and name come only in a call's first fragment, if at all."""
    function = {"arguments": arguments, **({"name": name} if name else {})}
    fragment = {"index": index, "function": function, **({"id": call_id} if call_id else {})}
    return chunk({"tool_calls": [fragment]})


USAGE = {"id": "chatcmpl-1", "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 3}}


def send_sse(
    events: list[dict[str, Any] | str], *, done: bool = True, split_lines: bool = False
) -> Behaviour:
    """A stream of ``data:`` events; ``split_lines`` cuts each event in two TCP writes."""

    def behaviour(handler: BaseHTTPRequestHandler, server: FakeOpenAIServer) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Connection", "close")
        handler.end_headers()
        for event in [*events, *(["[DONE]"] if done else [])]:
            data = (f"data: {event if isinstance(event, str) else json.dumps(event)}\n\n").encode()
            parts = [data[: len(data) // 2], data[len(data) // 2 :]] if split_lines else [data]
            for part in parts:
                handler.wfile.write(part)
                handler.wfile.flush()
                time.sleep(0.005)

    return behaviour


def answer(text: str) -> Behaviour:
    return send_sse([chunk({"content": text}), chunk(finish="stop")])


def send_status(
    status: int, body: dict[str, Any] | str, headers: dict[str, str] | None = None
) -> Behaviour:
    def behaviour(handler: BaseHTTPRequestHandler, server: FakeOpenAIServer) -> None:
        raw = (body if isinstance(body, str) else json.dumps(body)).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(raw)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(raw)

    return behaviour


def hang(handler: BaseHTTPRequestHandler, server: FakeOpenAIServer) -> None:
    server.release.wait(10)


def cut_off_after_text(handler: BaseHTTPRequestHandler, server: FakeOpenAIServer) -> None:
    """Promises a long body, sends one text event, then drops the connection."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    handler.wfile.write(f"data: {json.dumps(chunk({'content': 'Partial'}))}\n\n".encode())
    handler.wfile.flush()
    time.sleep(0.05)
    handler.connection.shutdown(socket.SHUT_RDWR)


def model_for(server: FakeOpenAIServer, **kwargs: Any) -> OpenAICompatibleModel:
    kwargs.setdefault("backoff", 0.01)
    return OpenAICompatibleModel(server.base_url, "qwen-test", **kwargs)


async def collect(model: OpenAICompatibleModel, *args: Any, **kwargs: Any) -> tuple[list[str], Any]:
    deltas: list[str] = []
    result = None
    async for item in model.stream(*args, **kwargs):
        if isinstance(item, TextDelta):
            deltas.append(item.text)
        else:
            assert isinstance(item, Completed)
            result = item.result
    assert result is not None
    return deltas, result


# ----------------------------------------------------------------- streaming


async def test_streams_text_deltas_and_usage(serve: Serve) -> None:
    server = serve(
        send_sse(
            [
                chunk({"role": "assistant", "content": ""}),
                chunk({"content": "Hel"}),
                chunk({"content": "lo"}),
                chunk({"content": " world"}),
                chunk(finish="stop"),
                USAGE,
            ]
        )
    )
    model = model_for(server, api_key="sk-test")
    deltas, result = await collect(
        model, [SystemMessage(content="Be brief."), UserMessage(content="Hi")]
    )
    await model.aclose()

    assert deltas == ["Hel", "lo", " world"]
    assert result.message.content == "Hello world"
    assert result.raw_text == "Hello world"
    assert result.message.tool_calls == []
    assert result.finish_reason == "stop"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (12, 3)

    body = server.requests[0]
    assert body["model"] == "qwen-test"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]
    assert "tools" not in body and "tool_choice" not in body and "response_format" not in body
    assert server.headers[0]["authorization"] == "Bearer sk-test"


async def test_tolerates_a_server_without_usage_or_done(serve: Serve) -> None:
    server = serve(send_sse([chunk({"content": "ok"}), chunk(finish="length")], done=False))
    model = model_for(server)
    result = await model.chat(HI)
    assert result.message.content == "ok"
    assert result.finish_reason == "length"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (0, 0)
    assert "authorization" not in server.headers[0]


async def test_assembles_native_tool_calls_split_across_chunks(serve: Serve) -> None:
    server = serve(
        send_sse(
            [
                chunk({"role": "assistant", "content": None}),
                tool_delta(0, "", call_id="call_abc", name="get_weather"),
                tool_delta(0, '{"ci'),
                tool_delta(0, 'ty": "Par'),
                tool_delta(0, 'is"}'),
                tool_delta(1, "", name="get_time"),  # no id: one must be generated
                chunk(finish="tool_calls"),
                USAGE,
            ],
            split_lines=True,
        )
    )
    model = model_for(server)
    options = ChatOptions(
        temperature=0.2,
        max_tokens=64,
        stop=["</s>"],
        seed=7,
        tool_choice="required",
        json_schema={"type": "object"},
    )
    deltas, result = await collect(
        model, [UserMessage(content="Weather in Paris?")], tools=[WEATHER, CLOCK], options=options
    )

    assert deltas == []
    calls = result.message.tool_calls
    assert [(c.name, c.arguments) for c in calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {}),
    ]
    assert calls[0].id == "call_abc"
    assert re.fullmatch(r"call_[0-9a-f]{12}", calls[1].id)
    assert result.tool_errors == []
    assert result.finish_reason == "tool_calls"

    body = server.requests[0]
    assert body["tools"] == [WEATHER.openai_format(), CLOCK.openai_format()]
    assert body["tools"][0]["function"]["parameters"]["required"] == ["city"]
    assert body["tool_choice"] == "required"
    assert (body["temperature"], body["max_tokens"], body["stop"], body["seed"]) == (
        0.2,
        64,
        ["</s>"],
        7,
    )
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": {"type": "object"}, "strict": True},
    }


async def test_sends_the_conversation_in_openai_form(serve: Serve) -> None:
    server = serve(answer("It is sunny."))
    history = [
        UserMessage(content="Weather?"),
        AssistantMessage(
            tool_calls=[ToolCall(id="c1", name="get_weather", arguments={"city": "北京"})]
        ),
        ToolMessage(tool_call_id="c1", name="get_weather", content="sunny"),
    ]
    result = await model_for(server, text_tool_calls=False).chat(history, tools=[WEATHER])
    assert result.message.content == "It is sunny."
    sent = server.requests[0]["messages"]
    assert sent[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "北京"}'},
            }
        ],
    }
    assert sent[2] == {"role": "tool", "tool_call_id": "c1", "content": "sunny"}


async def test_malformed_tool_arguments_become_tool_errors(serve: Serve) -> None:
    server = serve(
        send_sse(
            [
                tool_delta(0, '{"city": Paris', call_id="call_bad", name="get_weather"),
                tool_delta(1, "{}", call_id="call_ok", name="get_time"),
                chunk(finish="tool_calls"),
            ]
        )
    )
    result = await model_for(server).chat([UserMessage(content="?")], tools=[WEATHER, CLOCK])

    assert [c.id for c in result.message.tool_calls] == ["call_ok"]
    [error] = result.tool_errors
    assert error.kind == ToolErrorKind.UNPARSABLE
    assert (error.call_id, error.tool_name) == ("call_bad", "get_weather")
    assert "not valid JSON" in error.message and '{"city": Paris' in error.message
    assert "JSON object" in error.for_model()


async def test_extracts_tool_calls_written_in_the_text(serve: Serve) -> None:
    pytest.importorskip("hanlin.llm.toolcalls.parsing")
    hermes = '{"name": "get_weather", "arguments": {"city": "Oslo"}}'
    text = f"Let me check.\n<tool_call>{hermes}</tool_call>"
    server = serve(answer(text))
    result = await model_for(server).chat([UserMessage(content="Oslo?")], tools=[WEATHER])

    [call] = result.message.tool_calls
    assert (call.name, call.arguments) == ("get_weather", {"city": "Oslo"})
    assert call.id
    assert "<tool_call>" not in result.message.content
    assert result.raw_text == text


async def test_text_tool_calls_can_be_left_in_the_text(serve: Serve) -> None:
    text = '<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>'
    server = serve(answer(text))
    model = model_for(server, text_tool_calls=False)
    result = await model.chat([UserMessage(content="Oslo?")], tools=[WEATHER])
    assert result.message.tool_calls == []
    assert result.message.content == text


async def test_reads_a_whole_json_response_when_the_server_does_not_stream(serve: Serve) -> None:
    response = {
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "id": "c9",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": {"city": "Rome"}},
                        }
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2},
    }
    server = serve(send_status(200, response))
    result = await model_for(server).chat([UserMessage(content="Rome?")], tools=[WEATHER])
    assert result.message.tool_calls == [
        ToolCall(id="c9", name="get_weather", arguments={"city": "Rome"})
    ]
    assert result.usage.completion_tokens == 2


async def test_tool_arguments_nested_too_deeply_are_a_tool_error(serve: Serve) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    server = serve(
        send_sse(
            [
                tool_delta(0, deep, call_id="call_deep", name="get_weather"),
                chunk(finish="tool_calls"),
            ]
        )
    )
    result = await model_for(server).chat([UserMessage(content="?")], tools=[WEATHER])
    [error] = result.tool_errors
    assert error.kind == ToolErrorKind.UNPARSABLE and "nested too deeply" in error.message


async def test_a_response_nested_too_deeply_is_a_model_error(serve: Serve) -> None:
    server = serve(send_status(200, "[" * 100_000 + "]" * 100_000))
    with pytest.raises(ModelError, match="nested too deeply"):
        await model_for(server).chat([UserMessage(content="?")])


# ----------------------------------------------------------------- failures and retries


async def test_retries_server_errors_then_succeeds(serve: Serve) -> None:
    server = serve(
        send_status(500, {"error": {"message": "engine warming up"}}),
        send_status(503, "busy"),
        answer("finally"),
    )
    result = await model_for(server, max_retries=3).chat(HI)
    assert result.message.content == "finally"
    assert len(server.requests) == 3


async def test_gives_up_after_the_last_retry(serve: Serve) -> None:
    server = serve(send_status(500, {"error": {"message": "CUDA out of memory"}}))
    model = model_for(server, max_retries=2)
    with pytest.raises(ModelError) as caught:
        await model.chat(HI)
    message = str(caught.value)
    assert len(server.requests) == 3
    assert model.url in message and "HTTP 500" in message and "CUDA out of memory" in message
    assert "after 3 attempt" in message and "running at" in message


async def test_honours_retry_after_on_429(serve: Serve) -> None:
    server = serve(
        send_status(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "1"}),
        answer("ok"),
    )
    started = time.monotonic()
    result = await model_for(server, backoff=0.01).chat(HI)
    waited = time.monotonic() - started
    assert result.message.content == "ok"
    assert len(server.requests) == 2
    assert 0.9 <= waited < 5


async def test_client_errors_are_not_retried_and_show_the_body(serve: Serve) -> None:
    body = {"error": {"message": "This model's maximum context length is 4096 tokens"}}
    server = serve(send_status(400, body))
    model = model_for(server, max_retries=3)
    expected = rf"{re.escape(model.url)} .*HTTP 400.*maximum context length is 4096"
    with pytest.raises(ModelError, match=expected):
        await model.chat(HI)
    assert len(server.requests) == 1


async def test_a_wrong_base_url_suggests_v1(serve: Serve) -> None:
    server = serve(send_sse([]))
    model = OpenAICompatibleModel(server.base_url.removesuffix("/v1"), "qwen-test")
    with pytest.raises(ModelError, match="HTTP 404.*/v1"):
        await model.chat(HI)


async def test_nothing_listening_fails_fast_naming_the_url() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    model = OpenAICompatibleModel(
        f"http://127.0.0.1:{port}/v1", "qwen-test", max_retries=1, backoff=0.05
    )
    started = time.monotonic()
    with pytest.raises(ModelError) as caught:
        await model.chat(HI)
    assert time.monotonic() - started < 3
    message = str(caught.value)
    assert f"http://127.0.0.1:{port}/v1/chat/completions" in message
    assert "ConnectError" in message and "server is running" in message
    assert "after 2 attempt" in message


async def test_a_hanging_server_times_out(serve: Serve) -> None:
    server = serve(hang)
    model = model_for(server, timeout=0.3, max_retries=1)
    started = time.monotonic()
    expected = rf"{re.escape(model.url)} failed.*timed out after 0.3s waiting for data"
    with pytest.raises(ModelError, match=expected):
        await model.chat(HI)
    assert time.monotonic() - started < 5
    assert len(server.requests) == 2


async def test_no_retry_once_text_was_yielded(serve: Serve) -> None:
    server = serve(cut_off_after_text, send_sse([chunk({"content": "again"})]))
    model = model_for(server, max_retries=3)
    seen: list[str] = []
    with pytest.raises(ModelError, match="after 1 attempt"):
        async for item in model.stream(HI):
            if isinstance(item, TextDelta):
                seen.append(item.text)
    assert seen == ["Partial"]
    assert len(server.requests) == 1


async def test_an_error_event_inside_the_stream_is_reported(serve: Serve) -> None:
    server = serve(send_sse([{"error": {"message": "prompt too long", "code": 400}}]))
    with pytest.raises(ModelError, match="prompt too long"):
        await model_for(server).chat(HI)


def test_one_model_serves_several_event_loops(serve: Serve) -> None:
    server = serve(answer("ok"))
    model = model_for(server)
    for _ in range(2):
        result = asyncio.run(model.chat(HI))
        assert result.message.content == "ok"
    assert len(server.requests) == 2


def test_rejects_a_base_url_without_scheme() -> None:
    with pytest.raises(ValueError, match="http://"):
        OpenAICompatibleModel("localhost:8000/v1", "m")
