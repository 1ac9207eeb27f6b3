"""The LangGraph SDK client against a real ``hanlin api`` process, two real ``hanlin worker``
processes and a real Redis: assistants, threads, streamed runs, approvals, joins after a
dropped connection, owners, busy threads, cancel and the error shape."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import ConflictError, NotFoundError, UnprocessableEntityError
from service_support import Service, lines, wait_for
from tests_support import free_port

ALICE, BOB = "alice-key", "bob-key"


@pytest.fixture(scope="module")
def service(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    base = tmp_path_factory.mktemp("service-api")
    (base / "work").mkdir()
    (base / "logs").mkdir()
    svc = Service(redis_url, f"a{uuid.uuid4().hex[:8]}", base / "work", base / "logs")
    try:
        port = free_port()
        svc.start_api(port, "--api-key", f"{ALICE}=alice", env={"HANLIN_API_KEYS": f"{BOB}=bob"})
        svc.api_url = f"http://127.0.0.1:{port}"
        workers = [svc.start_worker(), svc.start_worker()]
        for worker in workers:
            svc.wait_ready(worker)
        yield svc
    finally:
        svc.stop()


@pytest.fixture
async def alice(service: Service) -> AsyncIterator[LangGraphClient]:
    client = get_client(url=service.api_url, api_key=ALICE)
    yield client
    await client.aclose()


@pytest.fixture
async def bob(service: Service) -> AsyncIterator[LangGraphClient]:
    client = get_client(url=service.api_url, api_key=BOB)
    yield client
    await client.aclose()


@pytest.fixture
def held(service: Service) -> Iterator[Path]:
    """While this file exists, the ``hold`` tool waits."""
    block = service.workdir / "hold.block"
    block.touch()
    yield block
    block.unlink(missing_ok=True)


def ask(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def tag() -> str:
    return uuid.uuid4().hex[:8]


async def until(predicate: Any, what: str, timeout: float = 60) -> None:
    await asyncio.to_thread(wait_for, predicate, what, timeout)


async def test_assistants_are_the_registered_targets(alice: LangGraphClient) -> None:
    found = await alice.assistants.search()
    assert sorted(a["graph_id"] for a in found) == ["echo", "react"]
    react = await alice.assistants.get("react")
    assert react["name"] == "react" and react["description"].startswith("A scripted ReAct")
    assert await alice.assistants.get(react["assistant_id"]) == react, "the id works too"
    assert [a["name"] for a in await alice.assistants.search(metadata={"kind": "test"})] == ["echo"]
    graph = await alice.assistants.get_graph("react")
    assert {"model", "tools"} <= {node["id"] for node in graph["nodes"]}
    schemas = await alice.assistants.get_schemas("react")
    assert schemas["graph_id"] == "react" and "messages" in schemas["input_schema"]["properties"]
    with pytest.raises(NotFoundError) as missing:
        await alice.assistants.get("nobody")
    assert missing.value.body == {
        "detail": "assistant 'nobody' not found",
        "code": "assistant_not_found",
    }


async def test_a_react_run_streams_every_mode_and_runs_its_tool_once(
    service: Service, alice: LangGraphClient
) -> None:
    name = tag()
    thread = await alice.threads.create(metadata={"topic": name})
    parts = [
        part
        async for part in alice.runs.stream(
            thread["thread_id"],
            "react",
            input=ask(f"count {name}"),
            stream_mode=["values", "updates", "messages-tuple", "custom"],
        )
    ]
    events = [p.event for p in parts]
    assert events[0] == "metadata" and events[-1] == "end"
    assert parts[-1].data["status"] == "success"
    assert {"values", "updates", "messages", "custom"} <= set(events)
    ids = [p.id for p in parts]
    assert all(ids) and ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))
    assert len(set(ids)) == len(ids)

    kinds = [p.data["kind"] for p in parts if p.event == "custom"]
    assert kinds[:3] == ["message", "tool_call", "tool_result"] and kinds[-1] == "final"
    updates = [next(iter(p.data)) for p in parts if p.event == "updates"]
    assert updates == ["model", "tools", "model"]
    chunks = [p.data[0] for p in parts if p.event == "messages"]
    assert chunks[0]["tool_calls"] == [
        {"id": "c1", "name": "count", "args": {"tag": name}, "type": "tool_call"}
    ]
    assert chunks[1]["type"] == "tool" and chunks[1]["content"] == f"counted {name}"
    answer = "".join(c["content"] for c in chunks[2:] if c["type"] == "AIMessageChunk")
    assert answer.strip() == f"done: counted {name}"
    final = [p.data for p in parts if p.event == "values"][-1]
    assert final["final_answer"] == f"done: counted {name}"
    assert lines(service.workdir / "count.log").count(name) == 1

    state = await alice.threads.get_state(thread["thread_id"])
    roles = [m["role"] for m in state["values"]["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert state["next"] == [] and state["interrupts"] == []
    history = await alice.threads.get_history(thread["thread_id"], limit=2)
    assert len(history) == 2 and history[0]["checkpoint"] == state["checkpoint"]
    earlier = await alice.threads.get_state(
        thread["thread_id"], checkpoint_id=history[1]["checkpoint"]["checkpoint_id"]
    )
    assert earlier == history[1] and earlier["next"] == ["model"]
    got = await alice.threads.get(thread["thread_id"])
    assert got["status"] == "idle" and got["metadata"]["topic"] == name
    assert got["metadata"]["graph_id"] == "react"
    assert got["values"]["final_answer"] == f"done: counted {name}"
    runs = await alice.runs.list(thread["thread_id"])
    assert [r["status"] for r in runs] == ["success"]
    assert await alice.runs.get(thread["thread_id"], runs[0]["run_id"]) == runs[0]
    found = await alice.threads.search(metadata={"topic": name})
    assert [t["thread_id"] for t in found] == [thread["thread_id"]]


async def test_messages_mode_streams_partial_and_complete_messages(
    alice: LangGraphClient,
) -> None:
    thread = await alice.threads.create()
    parts = [
        p
        async for p in alice.runs.stream(
            thread["thread_id"], "echo", input=ask("hello there"), stream_mode="messages"
        )
    ]
    partial = [p.data[0]["content"] for p in parts if p.event == "messages/partial"]
    assert partial == ["echo: ", "echo: hello ", "echo: hello there "]
    complete = [p.data[0] for p in parts if p.event == "messages/complete"]
    assert [(m["type"], m["content"]) for m in complete] == [("ai", "echo: hello there")]
    assert [p.event for p in parts].count("messages/metadata") == 1


@pytest.mark.parametrize(
    ("decision", "sent", "answer"),
    [
        ({"action": "approve"}, "{to}", "done: sent to {to}"),
        (
            {"action": "edit", "arguments": {"to": "carol-{to}"}},
            "carol-{to}",
            "done: sent to carol-{to}",
        ),
        ({"action": "reject", "reason": "not now"}, None, "done: Error (rejected): not now"),
    ],
)
async def test_an_approval_interrupts_the_run_and_a_resume_command_answers_it(
    service: Service, alice: LangGraphClient, decision: dict, sent: str | None, answer: str
) -> None:
    to = tag()
    decision = json.loads(json.dumps(decision).replace("{to}", to))
    thread = await alice.threads.create()
    paused = await alice.runs.wait(thread["thread_id"], "react", input=ask(f"send {to}"))
    (interrupt,) = paused["__interrupt__"]
    assert interrupt["value"]["call"] == {"id": "s1", "name": "send", "arguments": {"to": to}}
    got = await alice.threads.get(thread["thread_id"])
    assert got["status"] == "interrupted"
    assert list(got["interrupts"].values()) == [[interrupt]]
    state = await alice.threads.get_state(thread["thread_id"])
    assert state["interrupts"] == [interrupt] and state["next"] == ["tools"]
    assert [t["interrupts"] for t in state["tasks"]] == [[interrupt]]
    assert to not in "".join(lines(service.workdir / "sent.log"))

    done = await alice.runs.wait(thread["thread_id"], "react", command={"resume": decision})
    assert done["final_answer"] == answer.replace("{to}", to)
    delivered = [line for line in lines(service.workdir / "sent.log") if to in line]
    assert delivered == ([] if sent is None else [sent.replace("{to}", to)])
    assert (await alice.threads.get(thread["thread_id"]))["status"] == "idle"


async def test_join_stream_after_a_dropped_connection_resumes_at_last_event_id(
    service: Service, alice: LangGraphClient, held: Path
) -> None:
    name = tag()
    thread = await alice.threads.create()
    first: list[Any] = []
    async for part in alice.runs.stream(
        thread["thread_id"], "react", input=ask(f"hold {name}"), stream_mode=["custom", "values"]
    ):
        first.append(part)
        if part.event == "custom" and part.data["kind"] == "tool_call":
            break  # the connection drops mid-run
    run_id = first[0].data["run_id"]
    held.unlink()
    rest = [
        p
        async for p in alice.runs.join_stream(
            thread["thread_id"], run_id, last_event_id=first[-1].id
        )
    ]
    assert rest[-1].event == "end" and rest[-1].data["status"] == "success"
    everything = [p async for p in alice.runs.join_stream(thread["thread_id"], run_id)]
    assert [p.id for p in first + rest] == [p.id for p in everything], "none lost or repeated"
    assert [p.data for p in first + rest] == [p.data for p in everything]
    only_values = [
        p.event
        async for p in alice.runs.join_stream(thread["thread_id"], run_id, stream_mode="values")
    ]
    assert set(only_values) == {"metadata", "values", "end"}


async def test_one_user_cannot_see_or_touch_another_users_thread(
    service: Service, alice: LangGraphClient, bob: LangGraphClient
) -> None:
    thread = await alice.threads.create(metadata={"owner": "alice"})
    run = await alice.runs.wait(thread["thread_id"], "echo", input=ask("mine"))
    assert run["final_answer"] == "echo: mine"
    tid = thread["thread_id"]
    for attempt in (
        lambda: bob.threads.get(tid),
        lambda: bob.threads.get_state(tid),
        lambda: bob.threads.get_history(tid),
        lambda: bob.threads.delete(tid),
        lambda: bob.runs.list(tid),
        lambda: bob.runs.create(tid, "echo", input=ask("theirs")),
    ):
        with pytest.raises(NotFoundError) as refused:
            await attempt()
        assert refused.value.body == {
            "detail": f"thread {tid!r} not found",
            "code": "thread_not_found",
        }
    assert await bob.threads.search(metadata={"owner": "alice"}) == []
    with pytest.raises(ConflictError):
        await bob.threads.create(thread_id=tid)
    assert (await alice.threads.get(tid))["thread_id"] == tid

    async with httpx.AsyncClient(base_url=service.api_url) as raw:
        unauthenticated = await raw.post("/threads/search", json={})
        assert unauthenticated.status_code == 401
        assert unauthenticated.json()["code"] == "unauthorized"
        bearer = await raw.get(f"/threads/{tid}", headers={"Authorization": f"Bearer {ALICE}"})
        assert bearer.status_code == 200 and bearer.json()["thread_id"] == tid
        wrong = await raw.get(f"/threads/{tid}", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401


async def test_a_busy_thread_rejects_or_enqueues_a_second_run(
    service: Service, alice: LangGraphClient, held: Path
) -> None:
    name = tag()
    thread = await alice.threads.create()
    tid = thread["thread_id"]
    first = await alice.runs.create(tid, "react", input=ask(f"hold {name}"))
    await until(lambda: f"start {name}" in lines(service.workdir / "hold.log"), "the hold")
    assert (await alice.threads.get(tid))["status"] == "busy"
    with pytest.raises(ConflictError) as busy:
        await alice.runs.create(tid, "react", input=ask("count no"), multitask_strategy="reject")
    assert busy.value.body["code"] == "thread_busy"
    second = await alice.runs.create(
        tid, "react", input=ask(f"count after-{name}"), multitask_strategy="enqueue"
    )
    assert second["status"] == "pending"
    await asyncio.sleep(1)
    assert (await alice.runs.get(tid, second["run_id"]))["status"] == "pending"
    assert f"after-{name}" not in lines(service.workdir / "count.log"), "it waits its turn"
    held.unlink()
    result = await alice.runs.join(tid, second["run_id"])
    assert result["final_answer"] == f"done: counted after-{name}"
    assert (await alice.runs.get(tid, first["run_id"]))["status"] == "success"
    user_turns = [m["content"] for m in result["messages"] if m["role"] == "user"]
    assert user_turns == [f"hold {name}", f"count after-{name}"]


async def test_cancel_stops_a_running_run_in_its_worker(
    service: Service, alice: LangGraphClient, held: Path
) -> None:
    name = tag()
    thread = await alice.threads.create()
    tid = thread["thread_id"]
    run = await alice.runs.create(tid, "react", input=ask(f"hold {name}"))
    await until(lambda: f"start {name}" in lines(service.workdir / "hold.log"), "the hold")
    await alice.runs.cancel(tid, run["run_id"], wait=True)
    cancelled = await alice.runs.get(tid, run["run_id"])
    assert cancelled["status"] == "interrupted"
    parts = [p async for p in alice.runs.join_stream(tid, run["run_id"])]
    assert parts[-1].event == "end" and parts[-1].data["status"] == "interrupted"
    assert (await alice.threads.get(tid))["status"] == "idle"
    held.unlink()
    await asyncio.sleep(0.5)
    assert f"held {name}" not in json.dumps(await alice.threads.get_state(tid))
    again = await alice.runs.wait(tid, "echo", input=ask("still usable"))
    assert again["final_answer"] == "echo: still usable"


async def test_errors_share_one_shape_and_status(service: Service, alice: LangGraphClient) -> None:
    thread = await alice.threads.create()
    tid = thread["thread_id"]
    bad_requests = [
        dict(input=ask("x"), stream_mode="debug"),
        dict(
            input={"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}
        ),
        dict(input=ask("x"), interrupt_before=["tools"]),
        dict(command={"resume": {"action": "maybe"}}),
        dict(input=ask("x"), command={"resume": {"action": "approve"}}),
    ]
    for kwargs in bad_requests:
        with pytest.raises(UnprocessableEntityError) as invalid:
            await alice.runs.create(tid, "react", **kwargs)
        body = invalid.value.body
        assert set(body) <= {"detail", "code", "errors"} and body["detail"] and body["code"]
    with pytest.raises(NotFoundError):
        await alice.runs.create(tid, "nobody", input=ask("x"))
    with pytest.raises(NotFoundError):
        await alice.runs.get(tid, "no-such-run")
    with pytest.raises(ConflictError) as taken:
        await alice.threads.create(thread_id=tid)
    assert taken.value.body["code"] == "thread_exists"
    same = await alice.threads.create(thread_id=tid, if_exists="do_nothing")
    assert same["thread_id"] == tid

    headers = {"x-api-key": ALICE}
    async with httpx.AsyncClient(base_url=service.api_url, headers=headers) as raw:
        huge = await raw.post("/threads", content=b"{" + b" " * (2 * 1024 * 1024) + b"}")
        assert huge.status_code == 413 and huge.json()["code"] == "payload_too_large"
        not_json = await raw.post("/threads", content=b"{nope")
        assert not_json.status_code == 422 and not_json.json()["code"] == "invalid_request"
        bad_id = await raw.post("/threads", json={"thread_id": "../../etc"})
        assert bad_id.status_code == 422
        assert bad_id.json()["errors"][0]["loc"] == ["body", "thread_id"]
        bad_resume = await raw.get(
            f"/threads/{tid}/runs/x/stream", headers={"Last-Event-ID": "nonsense"}
        )
        assert bad_resume.status_code == 404
        missing = await raw.get("/nowhere")
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    # the server keeps serving after all of that
    assert (await alice.runs.wait(tid, "echo", input=ask("ok")))["final_answer"] == "echo: ok"


async def test_a_deleted_thread_is_gone_with_its_state(alice: LangGraphClient) -> None:
    thread = await alice.threads.create()
    tid = thread["thread_id"]
    await alice.runs.wait(tid, "echo", input=ask("forget me"))
    await alice.threads.delete(tid)
    with pytest.raises(NotFoundError):
        await alice.threads.get(tid)
    again = await alice.threads.create(thread_id=tid)
    state = await alice.threads.get_state(again["thread_id"])
    assert state["values"] == {}, "the checkpoints went with the thread"
