"""`hanlin serve` on the embedded model, driven by the official openai client."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest
from openai import OpenAI
from tests_support import free_port

pytestmark = pytest.mark.local_model
API_KEY = secrets.token_hex(16)


def hanlin_command() -> list[str]:
    exe = Path(sys.executable).with_name("hanlin")
    return [str(exe)] if exe.exists() else [shutil.which("hanlin") or "hanlin"]


@dataclass
class Served:
    base: str
    process: subprocess.Popen[str]

    def client(self, **kwargs: object) -> OpenAI:
        return OpenAI(base_url=self.base, api_key=API_KEY, max_retries=0, **kwargs)  # type: ignore[arg-type]

    def health(self) -> dict[str, object]:
        return httpx.get(f"{self.base.removesuffix('/v1')}/health", timeout=10).json()

    def wait_idle(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.health()["active"] != 0:
            assert time.monotonic() < deadline, "the model still works for a client that left"
            time.sleep(0.1)


def start_server() -> Served:
    port = free_port()
    # The key travels in the environment, as documented, not on the command line.
    env = {**os.environ, "HANLIN_SERVE_API_KEYS": API_KEY}
    proc = subprocess.Popen(
        [*hanlin_command(), "serve", "--port", str(port), "--threads", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else "server exited"
        try:
            if (
                httpx.get(
                    f"{base}/models", timeout=1, headers={"authorization": f"Bearer {API_KEY}"}
                ).status_code
                == 200
            ):
                return Served(base, proc)
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("hanlin serve did not come up in 90 s")


def start_long_stream(server: Served) -> openai.Stream:  # type: ignore[type-arg]
    """A generation that would run for minutes, once its first token has arrived."""
    stream = server.client().chat.completions.create(
        model="hanlin-local",
        max_tokens=2000,
        stream=True,
        messages=[{"role": "user", "content": "Count from 1 to 2000, comma separated."}],
    )
    chunks = iter(stream)
    next(chunks)  # the role chunk
    next(chunks)  # the first token
    return stream


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    served = start_server()
    proc = served.process
    try:
        yield served
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()


@pytest.fixture
def served(server: Served) -> str:
    return server.base


def test_models_and_completion(served: str) -> None:
    client = OpenAI(base_url=served, api_key=API_KEY, max_retries=0)
    assert [m.id for m in client.models.list().data] == ["hanlin-local"]
    reply = client.chat.completions.create(
        model="hanlin-local",
        max_tokens=24,
        messages=[{"role": "user", "content": "Name one colour of the rainbow."}],
    )
    choice = reply.choices[0]
    assert choice.message.role == "assistant" and choice.message.content.strip()
    assert reply.usage is not None and reply.usage.completion_tokens > 0


def test_streaming(served: str) -> None:
    client = OpenAI(base_url=served, api_key=API_KEY, max_retries=0)
    chunks = list(
        client.chat.completions.create(
            model="hanlin-local",
            max_tokens=24,
            stream=True,
            messages=[{"role": "user", "content": "Say hello."}],
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(chunks) > 3 and text.strip()
    assert chunks[-1].choices[0].finish_reason in {"stop", "length"}


def test_tools_are_accepted_and_answer_is_well_formed(served: str) -> None:
    client = OpenAI(base_url=served, api_key=API_KEY, max_retries=0)
    reply = client.chat.completions.create(
        model="hanlin-local",
        max_tokens=64,
        messages=[{"role": "user", "content": "What is 12 times 7? Use the calculator."}],
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "calculator",
                    "description": "Evaluate an arithmetic expression.",
                    "parameters": {
                        "type": "object",
                        "properties": {"expression": {"type": "string"}},
                        "required": ["expression"],
                    },
                },
            }
        ],
    )
    message = reply.choices[0].message
    # The 135M model's skill is not asserted: either a parsed call or text comes back.
    if message.tool_calls:
        assert reply.choices[0].finish_reason == "tool_calls"
        assert message.tool_calls[0].function.name == "calculator"
    else:
        assert message.content


def test_a_wrong_key_is_refused(served: str) -> None:
    with pytest.raises(openai.AuthenticationError):
        OpenAI(base_url=served, api_key="wrong", max_retries=0).models.list()


def test_a_schema_the_grammar_cannot_express_is_a_400(server: Served) -> None:
    schema = {"type": "object", "properties": {"a": {"not": {"type": "string"}}}}
    with pytest.raises(openai.BadRequestError) as caught:
        server.client().chat.completions.create(
            model="hanlin-local",
            max_tokens=4,
            messages=[{"role": "user", "content": "hi"}],
            response_format={"type": "json_schema", "json_schema": {"name": "r", "schema": schema}},
        )
    assert "grammar" in caught.value.body["message"]
    assert caught.value.body["param"] == "response_format"


def test_an_over_long_prompt_is_a_400_while_another_request_generates(server: Served) -> None:
    """The prompt is measured outside the model lock: it need not wait for the generation."""
    client = server.client()
    stream = client.chat.completions.create(
        model="hanlin-local",
        max_tokens=400,
        stream=True,
        messages=[{"role": "user", "content": "Count from 1 to 500, one number per line."}],
    )
    chunks = iter(stream)
    next(chunks)  # the role chunk: generation has the lock
    next(chunks)  # the first token
    started = time.perf_counter()
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="hanlin-local",
            max_tokens=4,
            messages=[{"role": "user", "content": "many words " * 400_000}],
        )  # 4.4 MB
    elapsed = time.perf_counter() - started
    assert caught.value.body["code"] == "context_length_exceeded"
    assert caught.value.body["param"] == "messages"
    assert elapsed < 15, f"the over-long prompt took {elapsed:.1f}s to refuse"
    assert server.health()["active"] == 1, "the first request is still generating"
    stream.close()  # the client leaves mid-stream: generation stops at the next token
    server.wait_idle(10)


def test_a_client_that_gives_up_stops_real_generation(server: Served) -> None:
    def impatient() -> None:
        with pytest.raises(openai.APITimeoutError):
            server.client(timeout=3.0).chat.completions.create(
                model="hanlin-local",
                max_tokens=2000,
                messages=[{"role": "user", "content": "Count from 1 to 2000, comma separated."}],
            )

    caller = threading.Thread(target=impatient)
    caller.start()
    caller.join()
    # Had the 2000 tokens gone on, this would wait for them (minutes on two CPU threads).
    started = time.perf_counter()
    reply = server.client(timeout=60.0).chat.completions.create(
        model="hanlin-local", max_tokens=2, messages=[{"role": "user", "content": "Hi"}]
    )
    assert reply.choices[0].message.content is not None
    assert time.perf_counter() - started < 30
    server.wait_idle(5)


def test_sigterm_stops_the_server_mid_generation(server: Served) -> None:
    """Runs last in this module: it stops the shared server."""
    stream = start_long_stream(server)
    started = time.perf_counter()
    server.process.send_signal(signal.SIGTERM)
    output = server.process.communicate(timeout=60)[0]
    elapsed = time.perf_counter() - started
    stream.close()
    assert elapsed < 8, f"SIGTERM took {elapsed:.1f}s with a generation in flight"
    assert "Traceback" not in output, output


def test_ctrl_c_mid_generation_exits_cleanly() -> None:
    """Ctrl-C runs the exit handlers, which free the weights: under a running generation
    that crashed the process (SIGSEGV)."""
    server = start_server()
    try:
        stream = start_long_stream(server)
        started = time.perf_counter()
        server.process.send_signal(signal.SIGINT)
        output = server.process.communicate(timeout=60)[0]
        elapsed = time.perf_counter() - started
        stream.close()
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()
    assert server.process.returncode not in {-signal.SIGSEGV, -signal.SIGABRT}, output
    assert "Traceback" not in output, output
    assert elapsed < 8, f"Ctrl-C took {elapsed:.1f}s with a generation in flight"
