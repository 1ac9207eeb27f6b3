"""Threads and memories belong to the person the server knows, whatever ids a client sends.

Two people use one real app through ``gradio_client``: ann tries every endpoint with bob's
thread and user ids (and with bob's session hash) and gets nothing of bob's.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest
from memory_support import HashedBagOfWords
from tests_support import free_port

pytest.importorskip("gradio")
from gradio_client import Client

from hanlin.chat_teams.assistants import ChatTeams, chat_app
from hanlin.llm.messages import AssistantMessage, Message
from hanlin.llm.scripted import ScriptedModel, call
from hanlin.memory import MemoryStore, MemoryStoreConfig
from hanlin.service.embedded import EmbeddedService, EmbeddedSettings
from hanlin.ui.app import build_app
from hanlin.ui.launch import UiLaunch, launch_app, quiet_gradio
from hanlin.ui.service_client import ServiceChat
from hanlin.ui.services import UiServices

TEAM = {
    "kind": "react",
    "tools": ["calculator"],
    "long_term_memory": False,
    "model_url": "http://127.0.0.1:9/v1",
    "approve_tools": True,
}
SECRET = "s" * 64

pytestmark = pytest.mark.redis


def reply(messages: Sequence[Message]) -> AssistantMessage | str:
    """Computes when asked to (a tool call that waits for approval), else repeats the message."""
    last = messages[-1]
    if last.role == "tool":
        return f"the result is {last.content}"
    text = str(last.content)
    if text.startswith("compute "):
        return call("calculator", expression=text.removeprefix("compute "))
    return f"you said {text}"


def text_of(history: list[Any]) -> str:
    parts = []
    for message in history:
        content = message.get("content")
        for part in content if isinstance(content, list) else [content]:
            parts.append(str(part.get("text", "")) if isinstance(part, dict) else str(part))
    return "\n".join(parts)


def shown(outputs: Sequence[Any]) -> str:
    """The status and thread lines an endpoint returned."""
    return "\n".join(o for o in outputs[1:] if isinstance(o, str))


def thread_of(outputs: Sequence[Any]) -> str:
    found = re.search(r"thread `([^`]+)` · user", shown(outputs))
    assert found is not None, outputs
    return found.group(1)


class Person:
    """One logged-in person's client; ``ids`` is what their browser keeps."""

    def __init__(self, url: str, name: str, password: str) -> None:
        self.client = Client(url, auth=(name, password), verbose=False)
        self.ids: Any = None

    def load(self, ids: Any = None) -> tuple[Any, ...]:
        out = self.client.predict(ids if ids is not None else self.ids, TEAM, api_name="/on_load")
        return tuple(out)

    def send(self, text: str, ids: Any = None) -> tuple[Any, ...]:
        out = self.client.predict(
            {"text": text, "files": []},
            [],
            ids if ids is not None else self.ids,
            TEAM,
            api_name="/send",
        )
        return tuple(out)


@pytest.fixture(params=["in_process", "service"])
def two_people(
    redis_url: str, request: pytest.FixtureRequest
) -> Iterator[tuple[str, ScriptedModel]]:
    """The app with its teams in-process, or in an embedded service (the default start)."""
    quiet_gradio()
    model = ScriptedModel([reply] * 200)
    service = None
    if request.param == "service":
        teams = ChatTeams(model_factory=lambda config: model)
        settings = EmbeddedSettings(redis_url=redis_url, prefix=f"t{uuid.uuid4().hex[:8]}")
        service = EmbeddedService(chat_app(teams), settings).start()
        services = UiServices(service=ServiceChat(service.url, service.api_key), open_memory=False)
    else:
        services = UiServices(
            model_factory=lambda config: model, redis_url=redis_url, open_memory=False
        )
    demo = build_app(services, browser_secret=SECRET)
    auth = [("ann", "ann-pw"), ("bob", "bob-pw")]
    _, url, _ = launch_app(demo, UiLaunch(port=free_port(), auth=auth), block=False)
    yield url, model
    demo.close()
    if service is not None:
        service.stop()


def test_a_person_cannot_reach_another_persons_thread(two_people: tuple[str, Any]) -> None:
    url, _ = two_people
    bob = Person(url, "bob", "bob-pw")
    bob.ids = bob.load()[1]
    out = bob.send("bob-secret-apple")
    assert "you said bob-secret-apple" in text_of(out[0])
    out = bob.send("compute 6*7")
    assert "waiting for your approval" in shown(out)
    bob_ids, bob_thread = out[1], thread_of(out)

    ann = Person(url, "ann", "ann-pw")
    loaded = ann.load(bob_ids)
    assert "bob-secret-apple" not in text_of(loaded[0])
    assert thread_of(loaded) != bob_thread
    for action, arguments in (("approve", ""), ("edit", '{"expression": "1+1"}'), ("reject", "")):
        out = ann.client.predict(arguments, "", [], bob_ids, TEAM, api_name=f"/{action}")
        assert "bob-secret-apple" not in text_of(out[0]) and thread_of(out) != bob_thread
    out = ann.client.predict([], bob_ids, TEAM, api_name="/resume")
    assert "bob-secret-apple" not in text_of(out[0]) and thread_of(out) != bob_thread
    out = ann.send("ann-was-here", bob_ids)
    assert "not one of yours" in shown(out), shown(out)
    assert "bob-secret-apple" not in text_of(out[0])

    # Bob's thread is as he left it: his call still waits, and ann's message is not in it.
    restored = bob.load(bob_ids)
    assert thread_of(restored) == bob_thread and "waiting for your approval" in shown(restored)
    assert "ann-was-here" not in text_of(restored[0])
    done = bob.client.predict("", "", restored[0], bob_ids, TEAM, api_name="/approve")
    assert "the result is 42" in text_of(done[0])


def test_a_borrowed_session_hash_gives_nothing(two_people: tuple[str, Any]) -> None:
    url, _ = two_people
    bob = Person(url, "bob", "bob-pw")
    bob.ids = bob.load()[1]
    bob_thread = thread_of(bob.send("bob-secret-pear"))
    ann = Person(url, "ann", "ann-pw")
    ann.client.session_hash = bob.client.session_hash  # bob's server-side session state
    loaded = ann.client.predict(None, TEAM, api_name="/on_load")
    assert "bob-secret-pear" not in text_of(loaded[0]) and thread_of(loaded) != bob_thread


def test_thread_ids_are_issued_by_the_server(two_people: tuple[str, Any]) -> None:
    url, _ = two_people
    ann = Person(url, "ann", "ann-pw")
    chosen = {"thread_id": "chosen-by-the-client", "user_id": "user-ann"}
    out = ann.send("hello", chosen)
    assert thread_of(out) != "chosen-by-the-client"
    assert out[1]["thread_id"] != "chosen-by-the-client"


def test_the_server_secret_never_reaches_a_browser(two_people: tuple[str, Any]) -> None:
    url, _ = two_people
    with httpx.Client() as client:
        client.post(f"{url}login", data={"username": "ann", "password": "ann-pw"})
        page = client.get(url).text + client.get(f"{url}config").text
    assert SECRET not in page


class BagOfWordsMemory(UiServices):
    """The app's services with a real MemoryStore on a small deterministic embedder."""

    def __init__(self, redis_url: str, config: MemoryStoreConfig, **kwargs: Any) -> None:
        super().__init__(redis_url=redis_url, open_memory=False, **kwargs)
        self._url, self._config = redis_url, config
        self._store: MemoryStore | None = None

    async def memory_store(self) -> Any:
        if self._store is None:  # opened on the app's own event loop
            self._store = await MemoryStore.open(self._url, HashedBagOfWords(), config=self._config)
        return self._store


async def remember(redis_url: str, config: MemoryStoreConfig, user_id: str, text: str) -> None:
    async with await MemoryStore.open(redis_url, HashedBagOfWords(), config=config) as store:
        await store.add(user_id, "assistant", text)


def test_memories_without_auth_belong_to_the_browser(redis_url: str) -> None:
    quiet_gradio()
    config = MemoryStoreConfig(prefix=f"uiown-{uuid.uuid4().hex[:8]}")
    model = ScriptedModel([reply] * 20)
    demo = build_app(
        BagOfWordsMemory(redis_url, config, model_factory=lambda c: model), browser_secret=SECRET
    )
    _, url, _ = launch_app(demo, UiLaunch(port=free_port()), block=False)
    try:
        bob = Client(url, verbose=False)
        bob_ids = bob.predict(None, TEAM, api_name="/on_load")[1]
        memory = "User: bob-secret-plum\nAI: ok"
        asyncio.run(remember(redis_url, config, bob_ids["user_id"], memory))
        rows, *_, status = bob.predict(bob_ids, api_name="/memory")
        assert "bob-secret-plum" in str(rows), status  # bob sees his own memory

        ann = Client(url, verbose=False)  # asks for bob's memories before anything else
        rows, *_, status = ann.predict({**bob_ids}, api_name="/memory")
        assert "bob-secret-plum" not in str(rows) and bob_ids["user_id"] not in status
        assert ann.predict(None, TEAM, api_name="/on_load")[1]["user_id"] != bob_ids["user_id"]
    finally:
        demo.close()


def file_worker(messages: Sequence[Message]) -> AssistantMessage | str:
    """Writes or lists scratch files when asked, then reports what the tool said."""
    last = messages[-1]
    if last.role == "tool":
        return f"the tool said: {last.content}"
    text = str(last.content)
    if text.startswith("write "):
        return call("write_file", path="note.txt", content=text.removeprefix("write "))
    return call("list_files")


def test_a_borrowed_session_hash_reaches_no_sandbox(tmp_path: Any) -> None:
    """Scratch files belong to a page of one person, not to whoever sends that page's hash."""
    quiet_gradio()
    model = ScriptedModel([file_worker] * 20)
    demo = build_app(
        UiServices(model_factory=lambda config: model, redis_url=None, open_memory=False),
        browser_secret=SECRET,
    )
    auth = [("ann", "ann-pw"), ("bob", "bob-pw")]
    _, url, _ = launch_app(demo, UiLaunch(port=free_port(), auth=auth), block=False)
    team = {**TEAM, "tools": ["scratch_files"], "approve_tools": False}
    try:
        bob = Client(url, auth=("bob", "bob-pw"), verbose=False)
        out = bob.predict(
            {"text": "write bob-secret-fig", "files": []}, [], None, team, api_name="/send"
        )
        listed = bob.predict({"text": "list", "files": []}, out[0], out[1], team, api_name="/send")
        assert "note.txt" in text_of(listed[0])  # bob's own page sees his file
        ann = Client(url, auth=("ann", "ann-pw"), verbose=False)
        ann.session_hash = bob.session_hash
        own = ann.predict(api_name="/new_thread")  # her own thread, in bob's page session
        out = ann.predict({"text": "list", "files": []}, [], own[1], team, api_name="/send")
        assert "the tool said" in text_of(out[0]) and "note.txt" not in text_of(out[0])
    finally:
        demo.close()
