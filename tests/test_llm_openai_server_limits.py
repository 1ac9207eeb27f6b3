"""What a large, deeply nested, impatient, silent or bursting client gets from ``hanlin serve``.

Each test drives a real server process on loopback (``tests/workers/serve_ticker.py``) whose
model logs every word it generates, so a test sees whether work went on after a client left.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from ticker_support import Ticker, chat, post_quietly, ticker_server, wait_until

MIB = 2**20


LIMITS = {
    "max_body_bytes": 1 * MIB,
    "body_timeout_s": 1.5,
    "max_active": 1,
    "max_waiting": 2,
    "queue_timeout_s": 60,
    "stream_stall_s": 1.5,
    "drain_timeout_s": 5,
}


@pytest.fixture(scope="module")
def ticker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ticker]:
    with ticker_server(tmp_path_factory.mktemp("ticker"), LIMITS) as server:
        yield server


def assert_openai_error(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    return error


# --- size ---------------------------------------------------------------------------------


def test_a_body_over_the_cap_is_413_at_once_and_never_reaches_the_model(ticker: Ticker) -> None:
    big = "x" * (20 * MIB)
    client = openai.OpenAI(base_url=f"{ticker.url}/v1", api_key="k", max_retries=0)
    started = time.perf_counter()
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(
            model="ticker", max_tokens=3, messages=[{"role": "user", "content": big}]
        )
    elapsed = time.perf_counter() - started
    assert caught.value.status_code == 413
    assert caught.value.body["code"] == "request_too_large"
    assert elapsed < 5, f"a 20 MB body took {elapsed:.1f}s to refuse"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap applies while reading
        yield b'{"model": "ticker", "messages": [{"role": "user", "content": "'
        for _ in range(20):
            yield b"y" * MIB
        yield b'"}]}'

    chunked = httpx.post(
        f"{ticker.url}/v1/chat/completions",
        content=chunks(),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert_openai_error(chunked, 413)
    assert not any(line.startswith(("start x", "start y")) for line in ticker.lines())
    answer = httpx.post(f"{ticker.url}/v1/chat/completions", json=chat("after-413"), timeout=30)
    assert answer.status_code == 200, "the server keeps serving after refusing a body"


def test_a_client_that_sends_its_body_too_slowly_gets_408(ticker: Ticker) -> None:
    host, port = ticker.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"mod'
        )
        started = time.perf_counter()
        reply = raw.recv(65536).decode()
        elapsed = time.perf_counter() - started
    assert reply.startswith("HTTP/1.1 408"), reply
    assert elapsed < LIMITS["body_timeout_s"] + 3  # type: ignore[operator]


# --- nesting and schemas ------------------------------------------------------------------


def test_json_nested_200000_deep_is_a_400_not_a_traceback(ticker: Ticker) -> None:
    deep = "[" * 200_000 + "]" * 200_000
    body = (
        '{"model": "ticker", "messages": [{"role": "user", "content": "hi"}], '
        f'"metadata": {deep}}}'
    )
    response = httpx.post(
        f"{ticker.url}/v1/chat/completions",
        content=body,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    error = assert_openai_error(response, 400)
    assert error["type"] == "invalid_request_error"
    # Below Python's recursion limit, but deeper than any request needs.
    nested: object = {"type": "string"}
    for _ in range(100):
        nested = {"type": "array", "items": nested}
    tool = {
        "type": "function",
        "function": {"name": "f", "parameters": {"type": "object", "properties": {"deep": nested}}},
    }
    response = httpx.post(
        f"{ticker.url}/v1/chat/completions", json=chat("deep-tool", tools=[tool]), timeout=30
    )
    assert assert_openai_error(response, 400)["code"] == "too_deeply_nested"
    assert "Traceback" not in ticker.errors.read_text()
    assert not any("deep-tool" in line for line in ticker.lines())


@pytest.mark.parametrize(
    ("parameters", "says"),
    [
        ({"type": "banana"}, "not a valid JSON schema"),
        (
            {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}},
            "does not point to anything",
        ),
        (
            {"type": "object", "properties": {"a": {"$ref": "http://169.254.169.254/x.json"}}},
            "points outside the schema",
        ),
        ({"type": "object", "required": "city"}, "not a valid JSON schema"),
    ],
)
def test_an_invalid_tool_schema_is_a_400(
    ticker: Ticker, parameters: dict[str, object], says: str
) -> None:
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": parameters}}
    client = openai.OpenAI(base_url=f"{ticker.url}/v1", api_key="k", max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="ticker",
            max_tokens=3,
            tools=[tool],
            tool_choice="required",
            messages=[{"role": "user", "content": "bad-schema"}],
        )
    assert says in caught.value.body["message"]
    assert caught.value.body["param"] == "tools[0].function.parameters"
    assert "start bad-schema" not in ticker.lines()


def test_a_valid_schema_with_local_refs_is_served(ticker: Ticker) -> None:
    schema = {
        "type": "object",
        "$defs": {"city": {"type": "string"}},
        "properties": {"city": {"$ref": "#/$defs/city"}},
    }
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": schema}}
    response_format = {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}}
    response = httpx.post(
        f"{ticker.url}/v1/chat/completions",
        timeout=30,
        json=chat("good-schema", tools=[tool], response_format=response_format),
    )
    assert response.status_code == 200, response.text
    bad_format = {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": 7}}}
    refused = httpx.post(
        f"{ticker.url}/v1/chat/completions",
        timeout=30,
        json=chat("bad-format", response_format=bad_format),
    )
    assert assert_openai_error(refused, 400)["param"] == "response_format.json_schema.schema"


# --- back-pressure ------------------------------------------------------------------------


async def test_a_burst_beyond_the_queue_gets_429_with_retry_after(ticker: Ticker) -> None:
    async with httpx.AsyncClient(base_url=ticker.url, timeout=60) as http:

        async def ask(index: int) -> tuple[httpx.Response, float]:
            started = time.perf_counter()
            response = await http.post("/v1/chat/completions", json=chat(f"burst-{index}", 5))
            return response, time.perf_counter() - started

        results = await asyncio.gather(*(ask(i) for i in range(8)))
    statuses = sorted(response.status_code for response, _ in results)
    # One running and two waiting (max_active=1, max_waiting=2): the rest are turned away.
    assert statuses == [200] * 3 + [429] * 5, statuses
    for response, elapsed in results:
        if response.status_code == 429:
            assert int(response.headers["retry-after"]) >= 1
            assert assert_openai_error(response, 429)["code"] == "rate_limit_exceeded"
            assert elapsed < 2, f"a 429 took {elapsed:.2f}s; it should not wait in line"
    assert sum(ticker.count(f"done burst-{i}") for i in range(8)) == 3


def test_a_request_that_waits_too_long_gets_503_with_retry_after(tmp_path: Path) -> None:
    limits = {"max_active": 1, "max_waiting": 4, "queue_timeout_s": 0.5}
    with ticker_server(tmp_path, limits) as server:
        holder = threading.Thread(
            target=post_quietly,
            daemon=True,
            args=(f"{server.url}/v1/chat/completions", chat("holder", 30)),
        )
        holder.start()
        wait_until(lambda: "start holder" in server.lines(), 10, "the first request started")
        started = time.perf_counter()
        late = httpx.post(f"{server.url}/v1/chat/completions", json=chat("late"), timeout=30)
        elapsed = time.perf_counter() - started
        assert assert_openai_error(late, 503)["code"] == "server_busy"
        assert int(late.headers["retry-after"]) >= 1
        assert 0.4 < elapsed < 3
        assert "start late" not in server.lines()


# --- clients that go away -----------------------------------------------------------------


def test_a_client_that_gives_up_stops_its_generation(ticker: Ticker) -> None:
    """Non-streaming: nothing is sent until the end, so only the connection says it left."""
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{ticker.url}/v1/chat/completions",
            json=chat("impatient", 100),
            timeout=httpx.Timeout(10, read=1.0),
        )
    wait_until(
        lambda: "stopped impatient" in ticker.lines(), 3, "generation stopped after the client left"
    )
    words = ticker.count("word impatient")
    time.sleep(0.5)
    assert ticker.count("word impatient") == words and words < 30
    assert ticker.health()["active"] == 0


def test_a_queued_request_whose_client_leaves_never_runs(ticker: Ticker) -> None:
    def hold() -> None:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(
                f"{ticker.url}/v1/chat/completions",
                json=chat("holding", 100),
                timeout=httpx.Timeout(10, read=2.0),
            )

    holder = threading.Thread(target=hold)
    holder.start()
    wait_until(lambda: "start holding" in ticker.lines(), 10, "the first request started")
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{ticker.url}/v1/chat/completions",
            json=chat("queued", 3),
            timeout=httpx.Timeout(10, read=0.5),
        )
    wait_until(lambda: ticker.health()["waiting"] == 0, 3, "the queue emptied")
    holder.join()
    wait_until(lambda: "stopped holding" in ticker.lines(), 3, "the holder stopped")
    time.sleep(0.5)
    assert "start queued" not in ticker.lines(), "work ran for a client that had left"


def test_a_streaming_client_that_leaves_before_the_first_word_stops_generation(
    ticker: Ticker,
) -> None:
    host, port = ticker.url.removeprefix("http://").split(":")
    # The first word comes after 5 s, as after a long prompt: nothing is sent before it.
    body = json.dumps(chat("vanishing", 100, stream=True, seed=5)).encode()
    with socket.create_connection((host, int(port))) as raw:
        raw.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        wait_until(lambda: "start vanishing" in ticker.lines(), 10, "generation started")
    wait_until(lambda: "stopped vanishing" in ticker.lines(), 3, "generation stopped")
    assert ticker.health()["active"] == 0


def test_a_stream_nobody_reads_is_dropped_and_frees_its_slot(tmp_path: Path) -> None:
    limits = {"max_active": 1, "stream_stall_s": 1.0}
    with ticker_server(tmp_path, limits, pause=0.0005) as server:
        host, port = server.url.removeprefix("http://").split(":")
        body = json.dumps(chat("silent", 1_000_000, stream=True)).encode()
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect((host, int(port)))
        raw.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        try:  # never read: the server's buffers fill and its writes block
            wait_until(
                lambda: any(line.startswith("stopped silent") for line in server.lines()),
                30,
                "the unread stream was dropped",
            )
            assert server.health()["active"] == 0
            answer = httpx.post(f"{server.url}/v1/chat/completions", json=chat("next"), timeout=10)
            assert answer.status_code == 200
        finally:
            raw.close()


# --- stopping -----------------------------------------------------------------------------


def test_sigterm_ends_requests_in_flight_within_seconds_and_tells_their_clients(
    tmp_path: Path,
) -> None:
    # A long grace period: the server must end its requests itself, not wait it out.
    limits = {"max_active": 2, "max_waiting": 8, "shutdown_grace_s": 30.0}
    outcomes: dict[str, tuple[int, str]] = {}
    with ticker_server(tmp_path, limits) as server:

        def call(tag: str, stream: bool) -> None:
            try:
                with httpx.stream(
                    "POST",
                    f"{server.url}/v1/chat/completions",
                    timeout=120,
                    json=chat(tag, 1000, stream=stream),
                ) as response:
                    outcomes[tag] = (response.status_code, response.read().decode())
            except httpx.HTTPError as exc:
                outcomes[tag] = (0, repr(exc))

        threads = [
            threading.Thread(target=call, args=(f"flight-{i}", i % 2 == 0), daemon=True)
            for i in range(5)
        ]
        for thread in threads:
            thread.start()
        wait_until(
            lambda: sum(server.count(f"start flight-{i}") for i in range(5)) == 2,
            10,
            "two requests generating",
        )
        wait_until(lambda: server.health()["waiting"] == 3, 10, "three requests waiting")
        started = time.perf_counter()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=60)
        elapsed = time.perf_counter() - started
        for thread in threads:
            thread.join(10)
    assert elapsed < 3, f"SIGTERM took {elapsed:.1f}s to stop the server"
    running = {line.split()[1] for line in server.lines() if line.startswith("start")}
    assert {line.split()[1] for line in server.lines() if line.startswith("stopped")} == running
    for tag, (status, body) in outcomes.items():
        if tag in running and tag in {"flight-0", "flight-2", "flight-4"}:  # streaming
            assert status == 200 and "the server is shutting down" in body, (tag, body)
        else:
            assert status == 503 and '"shutting_down"' in body, (tag, status, body)
    assert len(outcomes) == 5
    assert "Traceback" not in server.errors.read_text()
