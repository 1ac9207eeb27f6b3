"""Ten people chatting at once through the real Gradio server and ``gradio_client``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from tests_support import free_port

pytest.importorskip("gradio")
from gradio_client import Client

from hanlin.llm.scripted import ScriptedModel
from hanlin.ui.app import build_app
from hanlin.ui.launch import UiLaunch, launch_app, quiet_gradio
from hanlin.ui.services import UiServices

SESSIONS = 10
TEAM = {
    "kind": "react",
    "tools": [],
    "long_term_memory": False,
    "model_url": "http://127.0.0.1:9/v1",
}


class EchoModel(ScriptedModel):
    """Repeats the latest user message after a delay, counting overlapping calls."""

    def __init__(self) -> None:
        super().__init__([self.echo] * 1000, delay=0.4)
        self.in_flight = 0
        self.most_in_flight = 0

    @staticmethod
    def echo(messages: Sequence[Any]) -> str:
        users = [m.content for m in messages if m.role == "user"]
        return f"echo: {users[-1]} (turns seen: {len(users)})"

    async def stream(self, messages: Any, **kwargs: Any) -> Any:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            async for item in super().stream(messages, **kwargs):
                yield item
                await asyncio.sleep(0)
        finally:
            self.in_flight -= 1


@pytest.fixture(scope="module")
def app_url() -> Iterator[tuple[str, EchoModel]]:
    quiet_gradio()
    model = EchoModel()
    demo = build_app(UiServices(model_factory=lambda config: model, redis_url=None))
    _, url, _ = launch_app(demo, UiLaunch(port=free_port()), block=False)
    yield url, model
    demo.close()


def chat_twice(url: str, person: int) -> list[str]:
    """Two turns in one thread: the browser sends back the ids the first turn returned."""
    client = Client(url, verbose=False)
    history: list[Any] = []
    ids = None
    answers = []
    for word in (f"apple-{person}", f"pear-{person}"):
        history, ids, *_ = client.predict(
            {"text": word, "files": []}, history, ids, TEAM, api_name="/send"
        )
        answers.append(history[-1]["content"][0]["text"])
    return answers


def test_ten_sessions_at_once_without_cross_talk(app_url: tuple[str, EchoModel]) -> None:
    url, model = app_url
    with ThreadPoolExecutor(SESSIONS) as pool:
        results = list(pool.map(lambda n: chat_twice(url, n), range(SESSIONS)))
    for person, answers in enumerate(results):
        assert answers[0].endswith(f"echo: apple-{person} (turns seen: 1)"), answers
        assert answers[1].endswith(f"echo: pear-{person} (turns seen: 2)"), answers
        for other in range(SESSIONS):
            if other != person:
                assert f"-{other} " not in " ".join(answers)
    assert model.most_in_flight > 1  # the sessions really overlapped on the server


def test_threads_continue_per_browser(app_url: tuple[str, EchoModel]) -> None:
    url, _ = app_url
    client = Client(url, verbose=False)
    first, ids, *_ = client.predict({"text": "one", "files": []}, [], None, TEAM, api_name="/send")
    second, ids2, *_ = client.predict(
        {"text": "two", "files": []}, first, ids, TEAM, api_name="/send"
    )
    assert ids2 == ids
    assert second[-1]["content"][0]["text"].endswith("echo: two (turns seen: 2)")
