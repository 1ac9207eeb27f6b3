"""The chat reaches only allowed model servers, and their error bodies never reach the chat."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from tests_support import free_port
from typer.testing import CliRunner

from hanlin.chat_teams.config import TeamConfig
from hanlin.chat_teams.model_hosts import ModelHosts
from hanlin.cli.main import app
from hanlin.llm.scripted import ScriptedModel
from hanlin.ui.controller import ChatController, Turn
from hanlin.ui.services import UiServices

LEAK = "internal_secret-7f3a"


async def last(turns: Any) -> Turn:
    final = None
    async for turn in turns:
        final = turn
    assert final is not None
    return final


def chat_text(turn: Turn) -> str:
    return "\n".join(str(m["content"]) for m in turn.messages) + "\n" + turn.status


def config_for(url: str) -> TeamConfig:
    return TeamConfig(kind="react", tools=[], long_term_memory=False, model_url=url)


class Recording:
    """A model factory that notes every configuration it is asked to build a model for."""

    def __init__(self) -> None:
        self.asked: list[TeamConfig] = []

    def __call__(self, config: TeamConfig) -> ScriptedModel:
        self.asked.append(config)
        return ScriptedModel(["Hello."])


async def test_a_model_server_outside_the_allowed_hosts_is_never_built() -> None:
    factory = Recording()
    controller = ChatController(
        UiServices(model_factory=factory, redis_url=None, open_memory=False)
    )
    ids = await controller.new_thread("user-ann")
    for url in (
        "http://169.254.169.254/latest/v1",
        "http://10.0.0.7:8000/v1",
        "http://internal.example/v1",
    ):
        refused = await last(controller.send("s", ids, config_for(url), "hi", [], []))
        assert "not an allowed model host" in chat_text(refused), chat_text(refused)
    assert factory.asked == []
    ok = await last(controller.send("s", ids, config_for("http://127.0.0.1:9/v1"), "hi", [], []))
    assert chat_text(ok).rstrip().endswith("done") and len(factory.asked) == 1


async def test_allow_model_url_adds_exactly_that_origin() -> None:
    factory = Recording()
    hosts = ModelHosts.with_urls(["https://models.example:8443/v1"])
    controller = ChatController(
        UiServices(model_factory=factory, redis_url=None, open_memory=False, model_hosts=hosts)
    )
    ids = await controller.new_thread("user-ann")
    allowed = config_for("https://models.example:8443/v1")
    await last(controller.send("s", ids, allowed, "hi", [], []))
    assert len(factory.asked) == 1
    for other in (
        "http://models.example:8443/v1",
        "https://models.example/v1",
        "https://evil.example:8443/v1",
    ):
        refused = await last(controller.send("s", ids, config_for(other), "hi", [], []))
        assert "not an allowed model host" in chat_text(refused)
    assert len(factory.asked) == 1
    assert hosts.allows("http://localhost:8000/v1") and hosts.allows("http://[::1]:8000/v1")


def test_the_cli_names_a_bad_allowed_model_url() -> None:
    result = CliRunner().invoke(
        app, ["ui", "--port", str(free_port()), "--allow-model-url", "not a url"]
    )
    assert result.exit_code == 2
    assert "--allow-model-url" in result.output and "not a url" in result.output


class LeakyHandler(BaseHTTPRequestHandler):
    """An internal service on loopback that puts a secret in every reply."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        kind = self.path.split("/")[1]
        status, content_type, body = {
            "forbidden": (403, "application/json", f'{{"internal_secret": "{LEAK}"}}'),
            "broken": (500, "text/plain", f"Traceback: {LEAK}"),
            "payload": (200, "application/json", f'{{"error": {{"message": "{LEAK}"}}}}'),
            "html": (200, "text/html", f"<html><body>{LEAK}</body></html>"),
        }[kind]
        data = body.encode()
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def leaky_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), LeakyHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("forbidden", "HTTP 403 (Forbidden)"),
        ("broken", "HTTP 500 (Internal Server Error)"),
        ("payload", "reported an error"),
        ("html", "not an OpenAI chat completion"),
    ],
)
async def test_model_server_error_bodies_stay_out_of_the_chat(
    leaky_server: str, path: str, expected: str
) -> None:
    controller = ChatController(UiServices(redis_url=None, open_memory=False))
    ids = await controller.new_thread("user-ann")
    turn = await last(
        controller.send("s", ids, config_for(f"{leaky_server}/{path}/v1"), "hello?", [], [])
    )
    shown = chat_text(turn)
    assert LEAK not in shown, shown
    assert expected in shown and "⚠️" in shown, shown


class RecordingHandler(BaseHTTPRequestHandler):
    """A model server that answers "hi" and notes the Authorization header of each request."""

    seen: list[str | None]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.seen.append(self.headers.get("authorization"))
        data = (
            b'{"choices": [{"index": 0, "finish_reason": "stop", '
            b'"message": {"role": "assistant", "content": "hi"}}]}'
        )
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def recording_server() -> tuple[ThreadingHTTPServer, list[str | None]]:
    seen: list[str | None] = []
    handler = type("Recording", (RecordingHandler,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


async def test_the_api_key_goes_only_to_the_configured_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configured, configured_seen = recording_server()
    other, other_seen = recording_server()
    try:
        monkeypatch.setenv(
            "HANLIN_MODEL__BASE_URL", f"http://127.0.0.1:{configured.server_address[1]}/v1"
        )
        monkeypatch.setenv("HANLIN_MODEL__API_KEY", "sk-configured-key")
        controller = ChatController(UiServices(redis_url=None, open_memory=False))
        ids = await controller.new_thread("user-ann")
        for server in (configured, other):
            url = f"http://127.0.0.1:{server.server_address[1]}/v1"
            turn = await last(controller.send("s", ids, config_for(url), "hello?", [], []))
            assert chat_text(turn).rstrip().endswith("done"), chat_text(turn)
        assert configured_seen == ["Bearer sk-configured-key"]
        assert other_seen == [None]
    finally:
        for server in (configured, other):
            server.shutdown()
            server.server_close()
