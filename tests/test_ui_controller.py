"""The chat app's behaviour on real Redis with scripted models: approvals, stop and resume,
restart, errors, isolation and the memory panel."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from chat_support import SlowSecondTurn, last, texts
from memory_support import HashedBagOfWords
from pydantic import ValidationError
from tests_support import free_port

from hanlin.chat_teams.config import TeamConfig
from hanlin.llm.scripted import ScriptedModel, call
from hanlin.memory import MemoryStore, MemoryStoreConfig
from hanlin.ui.controller import ChatController, SessionIds, Turn
from hanlin.ui.services import UiServices

APPROVING = TeamConfig(
    kind="react",
    tools=["calculator"],
    approve_tools=True,
    model_url="http://127.0.0.1:9/v1",
    long_term_memory=False,
)


def services_for(model: Any, redis_url: str | None = None, **kwargs: Any) -> UiServices:
    return UiServices(
        model_factory=lambda config: model, redis_url=redis_url, open_memory=False, **kwargs
    )


@pytest.mark.redis
async def test_approve_edit_and_reject_a_tool_call(redis_url: str) -> None:
    model = ScriptedModel(
        [
            call("calculator", expression="6*7"),
            "It is 42.",
            call("calculator", expression="6*7"),
            "It is 48.",
            call("calculator", expression="6*7"),
            "I will not compute it.",
        ]
    )
    controller = ChatController(services_for(model, redis_url))
    ids = await controller.new_thread("user-ann")
    history: list[Any] = []
    for action, arguments, expected_result, answer in [
        ("approve", "", "42", "It is 42."),
        ("edit", '{"expression": "6*8"}', "48", "It is 48."),
        ("reject", "", "rejected", "I will not compute it."),
    ]:
        waiting = await last(controller.send("s", ids, APPROVING, "what is 6*7?", [], history))
        assert waiting.pending is not None and waiting.pending["call"]["name"] == "calculator"
        assert waiting.status == "waiting for your approval"
        done = await last(
            controller.decide("s", ids, APPROVING, action, arguments, "", waiting.messages)
        )
        assert done.pending is None and done.status == "done"
        assert any(expected_result in t for t in texts(done)[-3:]), texts(done)[-3:]
        assert texts(done)[-1].endswith(answer)
        history = done.messages
    assert all((m.get("metadata") or {}).get("status") != "pending" for m in history)


@pytest.mark.redis
async def test_a_bad_edit_keeps_the_call_waiting(redis_url: str) -> None:
    controller = ChatController(
        services_for(ScriptedModel([call("calculator", expression="1+1"), "2"]), redis_url)
    )
    ids = await controller.new_thread("user-ann")
    waiting = await last(controller.send("s", ids, APPROVING, "1+1?", [], []))
    bad = await last(controller.decide("s", ids, APPROVING, "edit", "[1, 2", "", waiting.messages))
    assert bad.pending is not None and bad.status.startswith("cannot edit the call")
    blocked = await last(controller.send("s", ids, APPROVING, "and 2+2?", [], bad.messages))
    assert "approve, edit or reject the pending tool call first" in blocked.status
    done = await last(controller.decide("s", ids, APPROVING, "approve", "", "", bad.messages))
    assert texts(done)[-1].endswith("2")


@pytest.mark.redis
async def test_a_thread_survives_an_app_restart(redis_url: str) -> None:
    first = ChatController(
        services_for(ScriptedModel([call("calculator", expression="2**10")]), redis_url)
    )
    ids = await first.new_thread("user-ann")
    waiting = await last(first.send("browser-1", ids, APPROVING, "2**10?", [], []))
    assert waiting.pending is not None
    # A new process: new services, same Redis; the browser kept its ids.
    second = ChatController(services_for(ScriptedModel(["It is 1024."]), redis_url))
    restored = await second.restore("browser-2", ids, APPROVING)
    assert restored.pending is not None and restored.pending["call"]["arguments"] == {
        "expression": "2**10"
    }
    assert texts(restored)[0] == "2**10?"
    done = await last(
        second.decide("browser-2", ids, APPROVING, "approve", "", "", restored.messages)
    )
    assert "1024" in texts(done)[-2] and texts(done)[-1].endswith("It is 1024.")


@pytest.mark.redis
async def test_a_stopped_run_resumes_from_its_checkpoint(redis_url: str) -> None:
    model = SlowSecondTurn([call("calculator", expression="3*3"), "It is 9."])
    config = APPROVING.model_copy(update={"approve_tools": False})
    controller = ChatController(services_for(model, redis_url))
    ids = await controller.new_thread("user-ann")
    seen: list[Turn] = []

    async def run() -> None:
        async for turn in controller.send("s", ids, config, "3*3?", [], []):
            seen.append(turn)

    task = asyncio.create_task(run())
    assert await asyncio.to_thread(model.entered_second.wait, 10)
    task.cancel()  # what the Stop button does
    with pytest.raises(asyncio.CancelledError):
        await task
    assert any("9" in t for t in texts(seen[-1]))
    done = await last(controller.resume("s", ids, config, seen[-1].messages))
    assert texts(done)[-1].endswith("It is 9.")
    assert model.served == 2  # the calculator step was not repeated: one call, one answer
    again = await last(controller.resume("s", ids, config, done.messages))
    assert again.status == "nothing to resume: the last run finished"


async def test_a_dead_model_server_is_a_chat_message_and_other_sessions_go_on() -> None:
    port = free_port()
    dead = TeamConfig(
        kind="react", tools=[], model_url=f"http://127.0.0.1:{port}/v1", long_term_memory=False
    )
    services = UiServices(redis_url=None, open_memory=False)
    controller = ChatController(services)
    failed = await last(
        controller.send("a", await controller.new_thread("user-a"), dead, "hello?", [], [])
    )
    assert "127.0.0.1" in texts(failed)[-1] and texts(failed)[-1].startswith("⚠️")
    working = ChatController(services_for(ScriptedModel(["Hello there."])))
    ok = await last(working.send("b", await working.new_thread("user-b"), dead, "hello?", [], []))
    assert texts(ok)[-1].endswith("Hello there.")


async def test_sessions_never_see_each_other() -> None:
    def echo(messages: Sequence[Any]) -> str:
        users = [m.content for m in messages if m.role == "user"]
        return f"you said {users[-1]} (turn {len(users)})"

    model = ScriptedModel([echo] * 4)
    services = services_for(model)
    controller = ChatController(services)
    config = TeamConfig(tools=[], long_term_memory=False, model_url="http://127.0.0.1:9/v1")
    ann, bob = await controller.new_thread("user-ann"), await controller.new_thread("user-bob")
    await last(controller.send("s-ann", ann, config, "apples", [], []))
    await last(controller.send("s-bob", bob, config, "bananas", [], []))
    ann_turn = await last(controller.send("s-ann", ann, config, "cherries", [], []))
    assert texts(ann_turn)[-1].endswith("you said cherries (turn 2)")
    bob_runner = await services.runner("s-bob", config, bob.user_id)
    bob_messages = [m.content for m in await bob_runner.messages(bob.thread_id)]
    assert "apples" not in " ".join(map(str, bob_messages))


@pytest.mark.redis
async def test_only_the_owner_reaches_a_thread(redis_url: str) -> None:
    model = ScriptedModel([call("calculator", expression="6*7"), "It is 42."])
    controller = ChatController(services_for(model, redis_url))
    ann = await controller.new_thread("user-ann")
    waiting = await last(controller.send("s", ann, APPROVING, "6*7?", [], []))
    assert waiting.pending is not None
    borrowed = SessionIds(thread_id=ann.thread_id, user_id="user-bob")
    refusals = [
        await last(controller.send("s", borrowed, APPROVING, "hi", [], [])),
        await last(controller.decide("s", borrowed, APPROVING, "approve", "", "", [])),
        await last(controller.resume("s", borrowed, APPROVING, [])),
        await controller.restore("s", borrowed, APPROVING),
    ]
    assert all(
        t.status.startswith(f"thread `{ann.thread_id}` is not one of yours") and t.messages == []
        for t in refusals
    )
    opened = await controller.open("user-bob", {"thread_id": ann.thread_id}, None)
    assert opened.refused == ann.thread_id and opened.ids.thread_id != ann.thread_id
    assert (await controller.open("user-bob", {"thread_id": "made-up"})).refused == "made-up"
    again = await controller.open("user-ann", None, {"thread_id": ann.thread_id})
    assert again.ids == ann and again.refused is None
    assert model.served == 1  # nothing ran for bob
    assert (await controller.restore("s", ann, APPROVING)).pending is not None


@pytest.mark.redis
async def test_memory_panel_lists_strength_retention_and_curves(redis_url: str) -> None:
    config = MemoryStoreConfig(prefix=f"uimem-{uuid.uuid4().hex[:8]}")
    async with await MemoryStore.open(redis_url, HashedBagOfWords(), config=config) as store:
        ids = SessionIds(thread_id="unused", user_id="user-ann")
        await store.add(ids.user_id, "assistant", "User: my cat is Miso\nAI: Nice.")
        await store.add(
            ids.user_id, "assistant", "Talked about cats.", kind="daily_summary", day="2026-11-24"
        )
        await store.add(ids.user_id, "assistant", "Likes cats; calm.", kind="portrait")
        await store.add("someone-else", "assistant", "User: secret\nAI: ok")
        controller = ChatController(services_for(ScriptedModel([]), memory_store=store))
        panel, figure, status = await controller.memory(ids.user_id)
    assert panel is not None and status == f"3 memories of {ids.user_id}"
    kinds = sorted(row[0] for row in panel.rows)
    assert kinds == ["daily_summary", "portrait", "turn"]
    turn = next(row for row in panel.rows if row[0] == "turn")
    assert turn[3] == 1 and 0.99 < turn[4] <= 1.0 and turn[6] != "—"
    assert "**2026-11-24**: Talked about cats." in panel.summaries
    assert panel.portrait == "Likes cats; calm."
    assert len(figure.axes[0].lines) == 1  # one fading memory, one curve
    assert all("secret" not in str(row) for row in panel.rows)


async def test_memory_panel_without_redis_says_why() -> None:
    panel, figure, status = await ChatController(UiServices(redis_url=None)).memory("user-ann")
    assert panel is None and figure is None and "--memory-only" in status


def test_team_settings_are_validated() -> None:
    with pytest.raises(ValidationError, match="must differ"):
        TeamConfig(kind="role_play", assistant_role="Chef", user_role="chef")
    with pytest.raises(ValidationError):
        TeamConfig(tools=["rm_rf"])
    with pytest.raises(ValidationError):
        TeamConfig(debaters=40)


@pytest.mark.parametrize("kind", ["react", "debate"])
async def test_uploaded_documents_reach_the_model_as_text(kind: str, tmp_path: Any) -> None:
    table = tmp_path / "prices.csv"
    table.write_text("fruit,price\napple,3\npear,5\n")

    def answer(messages: Sequence[Any]) -> str:
        seen = " ".join(str(m.content) for m in messages if m.role == "user")
        return "\\boxed{5}" if "pear" in seen and "5" in seen else "I saw no table."

    model = ScriptedModel([answer] * 8)
    config = TeamConfig(
        kind=kind,
        tools=[],
        long_term_memory=False,
        debaters=2,
        rounds=1,
        model_url="http://127.0.0.1:9/v1",
    )
    controller = ChatController(services_for(model))
    done = await last(
        controller.send(
            "s",
            await controller.new_thread("user-ann"),
            config,
            "What does a pear cost?",
            [str(table)],
            [],
        )
    )
    assert done.messages[0] == {"role": "user", "content": {"path": str(table)}}
    assert texts(done)[-1].rstrip("}").endswith("5"), texts(done)
    assert "I saw no table." not in " ".join(texts(done))


async def test_a_corrupt_upload_fails_only_that_turn(tmp_path: Any) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not really a pdf")
    model = ScriptedModel(["Hello."])
    controller = ChatController(services_for(model))
    ids = await controller.new_thread("user-ann")
    config = TeamConfig(tools=[], long_term_memory=False, model_url="http://127.0.0.1:9/v1")
    failed = await last(controller.send("s", ids, config, "read this", [str(broken)], []))
    assert "broken.pdf" in texts(failed)[-1] and model.served == 0
    ok = await last(controller.send("s", ids, config, "hi", [], failed.messages))
    assert texts(ok)[-1].endswith("Hello.")
