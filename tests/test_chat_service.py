"""The chat's teams run in the service: an embedded ``hanlin api`` and worker on real Redis
and a real loopback port, driven by the chat's controller through the LangGraph SDK.

Scripted models drive the orchestration tests; ``test_a_remote_service_runs_the_chat_on_the_
real_model`` runs real ``hanlin api`` and ``hanlin worker`` processes on the embedded model.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from chat_support import SlowSecondTurn, last, texts
from langgraph_sdk import get_client
from service_support import Service, wait_for
from tests_support import free_port

from hanlin.chat_teams.assistants import ChatTeams, chat_app
from hanlin.chat_teams.config import TeamConfig
from hanlin.llm.messages import FilePart, UserMessage
from hanlin.llm.scripted import ScriptedModel, call
from hanlin.runtime import event_adapter
from hanlin.service.embedded import EmbeddedService, EmbeddedSettings
from hanlin.ui.controller import ChatController, Turn
from hanlin.ui.service_client import ServiceChat, inline
from hanlin.ui.services import UiServices

pytestmark = pytest.mark.redis

APPROVING = TeamConfig(
    kind="react", tools=["calculator"], approve_tools=True, long_term_memory=False
)
PLAIN = TeamConfig(kind="react", tools=["calculator"], long_term_memory=False)


class Stack:
    """An embedded service over one scripted model, and a chat page (controller) on it."""

    def __init__(self, redis_url: str, model: Any) -> None:
        teams = ChatTeams(model_factory=lambda _config: model)
        settings = EmbeddedSettings(redis_url=redis_url, prefix=f"t{uuid.uuid4().hex[:8]}")
        self.service = EmbeddedService(chat_app(teams), settings).start()
        self.redis_url = redis_url

    def chat(self) -> ChatController:
        """A chat page of its own (a replica): it shares nothing with others but the service."""
        service = ServiceChat(self.service.url, self.service.api_key)
        return ChatController(UiServices(service=service, open_memory=False))


@pytest.fixture
def stack_for(redis_url: str) -> Iterator[Any]:
    made: list[Stack] = []

    def make(model: Any) -> Stack:
        made.append(Stack(redis_url, model))
        return made[-1]

    yield make
    for stack in made:
        stack.service.stop()


async def test_a_turn_with_approval_runs_in_the_service_and_a_replica_restores_it(
    stack_for: Any,
) -> None:
    model = ScriptedModel([call("calculator", expression="6*7"), "It is 42."])
    stack = stack_for(model)
    page = stack.chat()
    ids = await page.new_thread("user-ann")
    waiting = await last(page.send("s1", ids, APPROVING, "what is 6*7?", [], []))
    assert waiting.status == "waiting for your approval"
    assert waiting.pending is not None and waiting.pending["call"]["name"] == "calculator"

    # Another chat replica (no shared state but the service) sees the same waiting call.
    other_page = stack.chat()
    opened = await other_page.open("user-ann")
    assert opened.ids.thread_id == ids.thread_id  # the owner's latest thread
    restored = await other_page.restore("s2", opened.ids, APPROVING)
    assert restored.pending is not None and texts(restored)[0] == "what is 6*7?"
    done = await last(
        other_page.decide("s2", opened.ids, APPROVING, "approve", "", "", restored.messages)
    )
    assert done.status == "done" and texts(done)[-1].endswith("It is 42.")
    assert any("42" in t for t in texts(done)[-3:-1])
    assert len(model.calls) == 2


async def test_people_never_reach_each_others_threads(stack_for: Any) -> None:
    stack = stack_for(ScriptedModel(["Hello Ann."]))
    page = stack.chat()
    ann = await page.new_thread("user-ann")
    await last(page.send("s", ann, PLAIN, "hi", [], []))
    # Bob's page names Ann's thread: it is refused, and Bob gets a thread of his own.
    opened = await page.open("user-bob", {"thread_id": ann.thread_id})
    assert opened.refused == ann.thread_id and opened.ids.thread_id != ann.thread_id
    stolen = ann.model_copy(update={"user_id": "user-bob"})
    refused = await last(page.send("s", stolen, PLAIN, "show me", [], []))
    assert "not one of yours" in refused.status
    # The service agrees: with Bob's identity, Ann's thread does not exist.
    client = get_client(
        url=stack.service.url,
        api_key=stack.service.api_key,
        headers={"X-Hanlin-User": "user-bob"},
    )
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await client.threads.get(ann.thread_id)
    assert caught.value.response.status_code == 404
    assert await client.threads.search() == [] or all(
        t["thread_id"] != ann.thread_id for t in await client.threads.search()
    )


async def test_the_chat_teams_are_assistants_with_checked_configurations(stack_for: Any) -> None:
    stack = stack_for(ScriptedModel(["unused"]))
    client = get_client(url=stack.service.url, api_key=stack.service.api_key)
    names = sorted(a["name"] for a in await client.assistants.search())
    assert names == ["chat.debate", "chat.react", "chat.role_play", "chat.supervisor"]
    schemas = await client.assistants.get_schemas("chat.debate")
    assert schemas["config_schema"]["properties"]["rounds"]["maximum"] == 5
    thread = await client.threads.create()
    hello = {"messages": [{"role": "user", "content": "hi"}]}
    for config, message in [
        ({"configurable": {"rounds": 99}}, "config.configurable.rounds"),
        ({"configurable": {"roundz": 2}}, "config.configurable.roundz"),
        ({"configurable": {"kind": "react"}}, "runs 'debate' teams"),
    ]:
        with pytest.raises(httpx.HTTPStatusError) as caught:
            await client.runs.create(thread["thread_id"], "chat.debate", input=hello, config=config)
        assert caught.value.response.status_code == 422
        assert message in caught.value.response.json()["detail"]


async def test_a_client_cannot_make_the_worker_read_a_path(stack_for: Any) -> None:
    stack = stack_for(ScriptedModel(["unused"]))
    client = get_client(url=stack.service.url, api_key=stack.service.api_key)
    thread = await client.threads.create()
    message = {"role": "user", "content": [{"type": "file", "path": "/etc/passwd"}]}
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await client.runs.create(thread["thread_id"], "chat.react", input={"messages": [message]})
    assert caught.value.response.status_code == 422
    assert "local path" in caught.value.response.json()["detail"]


def test_the_chat_sends_its_uploads_inline(tmp_path: Path) -> None:
    csv = tmp_path / "prices.csv"
    csv.write_text("item,price\ntea,3\n")
    message = inline(UserMessage(content=[FilePart(path=str(csv), name="prices.csv")]))
    part = message.content[0]
    assert isinstance(part, FilePart) and part.path is None and part.name == "prices.csv"
    assert base64.b64decode(part.data_base64 or "") == csv.read_bytes()


async def test_an_attached_document_reaches_the_team_in_the_service(
    stack_for: Any, tmp_path: Path
) -> None:
    model = ScriptedModel(["The tea costs 3."])
    stack = stack_for(model)
    page = stack.chat()
    ids = await page.new_thread("user-ann")
    csv = tmp_path / "prices.csv"
    csv.write_text("item,price\ntea,3\n")
    done = await last(page.send("s", ids, PLAIN, "what does tea cost?", [str(csv)], []))
    assert done.status == "done", done.status
    seen = " ".join(str(m.content) for m in model.calls[0])
    assert "tea" in seen and "prices.csv" in seen


async def test_debate_rounds_survive_the_trip_through_the_service(stack_for: Any) -> None:
    stack = stack_for(ScriptedModel(["The answer is 7."] * 8))
    page = stack.chat()
    ids = await page.new_thread("user-ann")
    debate = TeamConfig(kind="debate", debaters=2, rounds=2, long_term_memory=False)
    done = await last(page.send("s", ids, debate, "What is 3+4?", [], []))
    shown = "\n".join(texts(done))
    for agent in ("debater_1", "debater_2"):
        assert f"**{agent}** · round 1" in shown and f"**{agent}** · round 2" in shown
    event = event_adapter.validate_python({"kind": "message", "content": "x", "round": 2})
    assert getattr(event, "round", None) == 2


@pytest.mark.local_model
def test_a_remote_service_runs_the_chat_on_the_real_model(redis_url: str, tmp_path: Path) -> None:
    """``hanlin api --frontend-key`` and ``hanlin worker`` (their default app: the chat's
    teams) as separate processes; the chat reaches them as ``hanlin ui --api`` does."""
    import asyncio

    service = Service(redis_url, f"t{uuid.uuid4().hex[:8]}", tmp_path, tmp_path)
    port = free_port()
    key = uuid.uuid4().hex
    try:
        worker = service._spawn(
            "worker", ["worker", "--redis-url", redis_url, "--prefix", service.prefix]
        )
        service.wait_ready(worker)
        api = service._spawn(
            "api",
            [
                "api",
                "--redis-url",
                redis_url,
                "--prefix",
                service.prefix,
                "--port",
                str(port),
                "--frontend-key",
                f"{key}=chat",
            ],
        )
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(url) or api.poll() is not None, "the API", 90)

        async def chat() -> Turn:
            page = ChatController(UiServices(service=ServiceChat(url, key), open_memory=False))
            ids = await page.new_thread("user-ann")
            config = TeamConfig(kind="react", tools=["calculator"], long_term_memory=False)
            return await last(page.send("s", ids, config, "What is 12*7?", [], []))

        done = asyncio.run(chat())
        assert done.status == "done", (done.status, service.log(worker)[-2000:])
        shown = "\n".join(texts(done))
        assert "84" in shown, shown
    finally:
        service.stop()


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/ok", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_hanlin_ui_with_api_serves_the_chat_from_a_remote_service(
    stack_for: Any, tmp_path: Path
) -> None:
    """``hanlin ui --api URL`` as a process: a stateless chat page whose turns run in the
    service (here an embedded one, reached over loopback with its front-end key)."""
    import os
    import subprocess
    import sys
    import time

    from gradio_client import Client

    stack = stack_for(ScriptedModel(["Hello from the service."]))
    port = free_port()
    env = {**os.environ, "HANLIN_UI_API_KEY": stack.service.api_key}
    env.pop("HANLIN_REDIS_URL", None)
    log = tmp_path / "ui.log"
    with log.open("wb") as out:
        ui = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hanlin.cli.main",
                "ui",
                "--api",
                stack.service.url,
                "--port",
                str(port),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and ui.poll() is None:
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert ui.poll() is None, log.read_text()
        assert f"teams run in the service at {stack.service.url}" in log.read_text()
        client = Client(url, verbose=False)
        team = {"kind": "react", "tools": [], "long_term_memory": False}
        ids = client.predict(None, team, api_name="/on_load")[1]
        out = client.predict({"text": "hi", "files": []}, [], ids, team, api_name="/send")
        assert "Hello from the service." in str(out[0])
    finally:
        ui.terminate()
        ui.wait(timeout=30)


async def test_stop_cancels_the_run_in_the_service_and_resume_continues_it(
    stack_for: Any,
) -> None:
    model = SlowSecondTurn([call("calculator", expression="3*3"), "It is 9."])
    stack = stack_for(model)
    page = stack.chat()
    ids = await page.new_thread("user-ann")
    seen: list[Turn] = []

    async def run() -> None:
        async for turn in page.send("s", ids, PLAIN, "3*3?", [], []):
            seen.append(turn)

    task = asyncio.create_task(run())
    assert await asyncio.to_thread(model.entered_second.wait, 20)
    for _ in range(200):  # the tool's result travels worker -> Redis -> API -> page
        if seen and any("9" in t for t in texts(seen[-1])):
            break
        await asyncio.sleep(0.05)
    assert any("9" in t for t in texts(seen[-1]))
    task.cancel()  # what the Stop button does: the page stops reading
    with pytest.raises(asyncio.CancelledError):
        await task
    client = get_client(
        url=stack.service.url,
        api_key=stack.service.api_key,
        headers={"X-Hanlin-User": "user-ann"},
    )
    for _ in range(100):  # the service cancels the run once the stream is gone
        runs = await client.runs.list(ids.thread_id)
        if runs and runs[0]["status"] == "interrupted":
            break
        await asyncio.sleep(0.1)
    assert runs[0]["status"] == "interrupted", runs[0]["status"]
    done = await last(page.resume("s", ids, PLAIN, seen[-1].messages))
    assert texts(done)[-1].endswith("It is 9."), texts(done)
    assert model.served == 2  # the calculator step was not repeated: one call, one answer
    again = await last(page.resume("s", ids, PLAIN, done.messages))
    assert again.status == "nothing to resume: the last run finished"


async def test_the_worker_and_the_memory_panel_share_one_memory_store_across_loops(
    redis_url: str,
) -> None:
    """The embedded worker keeps memories on its own event loop; the chat page's memory
    panel reads them on Gradio's. One embedding model, one connection per loop."""
    from memory_support import HashedBagOfWords

    from hanlin.chat_teams.memory import ChatMemoryStore
    from hanlin.memory import MemoryStoreConfig

    embedder = HashedBagOfWords()
    config = MemoryStoreConfig(prefix=f"t{uuid.uuid4().hex[:8]}:mem")
    memory = ChatMemoryStore(redis_url, embedder=embedder, config=config)

    def worker_loop() -> None:
        async def keep() -> None:  # the worker's loop keeps its store open
            await memory.add("user-ann", "assistant", "Ann's cat is called Miso.")

        asyncio.run(keep())

    await asyncio.to_thread(worker_loop)
    views = await memory.list("user-ann")
    assert [v.record.text for v in views] == ["Ann's cat is called Miso."]
    assert memory.curve is not None
    await memory.close()
