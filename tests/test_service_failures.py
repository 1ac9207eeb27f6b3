"""Failures with real processes: a worker killed with SIGKILL mid-run, a worker paused past
its lease, an API restarted mid-stream, and a run that crashes every worker it meets."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import StreamPart
from service_support import Service, kill9, lines, wait_for
from tests_support import free_port

LEASE_S = 2.0


@pytest.fixture
def service(redis_url: str, tmp_path: Path) -> Iterator[Service]:
    (tmp_path / "work").mkdir()
    (tmp_path / "logs").mkdir()
    svc = Service(
        redis_url,
        f"f{uuid.uuid4().hex[:8]}",
        tmp_path / "work",
        tmp_path / "logs",
        lease_s=LEASE_S,
    )
    port = free_port()
    svc.start_api(port)
    svc.api_url = f"http://127.0.0.1:{port}"
    yield svc
    svc.stop()


@pytest.fixture
async def client(service: Service) -> AsyncIterator[LangGraphClient]:
    sdk = get_client(url=service.api_url, api_key=None)
    yield sdk
    await sdk.aclose()


def ask(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


async def until(predicate: Any, what: str, timeout: float = 90) -> None:
    await asyncio.to_thread(wait_for, predicate, what, timeout)


async def collect(parts: AsyncIterator[StreamPart], into: list[StreamPart]) -> None:
    async for part in parts:
        into.append(part)


def entry_key(part: StreamPart) -> tuple[int, int]:
    millis, seq = (part.id or "0-0").split("-")
    return int(millis), int(seq)


def raw_events(service: Service, run_id: str) -> list[tuple[str, dict[str, str]]]:
    client = redis.Redis.from_url(service.redis_url, decode_responses=True)
    return client.xrange(f"{service.prefix}:svc:run:{run_id}:events")


async def start_held_run(
    service: Service, client: LangGraphClient, name: str
) -> tuple[str, str, list[StreamPart], asyncio.Task[None]]:
    """A streamed run whose ``hold`` call waits (after ``count`` finished) until released."""
    (service.workdir / "hold.block").touch()
    thread = await client.threads.create()
    parts: list[StreamPart] = []
    stream = client.runs.stream(
        thread["thread_id"], "react", input=ask(f"hold {name}"), stream_mode=["custom", "values"]
    )
    task = asyncio.create_task(collect(stream, parts))
    await until(lambda: f"start {name}" in lines(service.workdir / "hold.log"), "the hold")
    await until(lambda: bool(parts), "the first event")
    return thread["thread_id"], parts[0].data["run_id"], parts, task


async def test_a_worker_killed_mid_run_is_replaced_and_no_finished_tool_runs_twice(
    service: Service, client: LangGraphClient
) -> None:
    for worker in [service.start_worker(), service.start_worker()]:
        service.wait_ready(worker)
    _tid, run_id, parts, task = await start_held_run(service, client, "k")
    holder = service.holder(run_id)
    kill9(holder)
    killed_at = time.monotonic()
    (service.workdir / "hold.block").unlink()

    await until(
        lambda: [p.data.get("attempt") for p in parts if p.event == "metadata"] == [1, 2],
        "the take-over",
    )
    took_over_s = time.monotonic() - killed_at
    await asyncio.wait_for(task, 90)

    assert parts[-1].event == "end" and parts[-1].data["status"] == "success"
    assert took_over_s < 4 * LEASE_S + 6, f"take-over took {took_over_s:.1f}s"
    print(f"take-over after kill -9: {took_over_s:.2f}s (lease {LEASE_S}s)")
    assert lines(service.workdir / "count.log") == ["k"], "the finished call ran once"
    assert lines(service.workdir / "hold.log") == ["start k", "start k"], "the cut call reran"
    second = [p.event for p in parts].index("metadata", 1)
    replayed = [
        p.data["call_id"]
        for p in parts[second:]
        if p.event == "custom" and p.data["kind"] == "tool_result" and p.data["replayed"]
    ]
    assert replayed == ["c1"]
    final = [p.data for p in parts if p.event == "values"][-1]
    assert final["final_answer"] == "done: counted k; held k"
    assert sorted(parts, key=entry_key) == parts and len({p.id for p in parts}) == len(parts)
    assert service.run_field(run_id, "attempts") == "2"


async def test_a_paused_worker_loses_its_lease_and_writes_nothing_after_its_successor(
    service: Service, client: LangGraphClient
) -> None:
    for worker in [service.start_worker(), service.start_worker()]:
        service.wait_ready(worker)
    tid, run_id, parts, task = await start_held_run(service, client, "p")
    paused = service.holder(run_id)
    paused_id = service.run_field(run_id, "worker")
    os.kill(paused.pid, signal.SIGSTOP)
    try:
        await until(lambda: service.run_field(run_id, "worker") != paused_id, "a successor")
        await until(
            lambda: lines(service.workdir / "hold.log") == ["start p", "start p"],
            "the successor to reach the held call",
        )
        (service.workdir / "hold.block").unlink()
        await asyncio.wait_for(task, 90)
        assert parts[-1].data["status"] == "success"
        written = raw_events(service, run_id)
        state = await client.threads.get_state(tid)
    finally:
        os.kill(paused.pid, signal.SIGCONT)
    await until(
        lambda: f"lost the lease of run {run_id}" in service.log(paused),
        "the paused worker to notice",
    )
    await asyncio.sleep(1)

    assert raw_events(service, run_id) == written, "the stale worker wrote no event"
    second = next(i for i, (_id, f) in enumerate(written) if '"attempt": 2' in f["data"])
    assert {f["fence"] for _id, f in written[second:]} == {"2"}
    assert await client.threads.get_state(tid) == state, "nor a checkpoint"
    assert lines(service.workdir / "count.log") == ["p"]
    assert paused.poll() is None, "it keeps serving"
    again = await client.runs.wait(None, "echo", input=ask("after the pause"))
    assert again["final_answer"] == "echo: after the pause"


async def test_an_api_restart_loses_no_run_and_the_client_stream_goes_on(
    service: Service, client: LangGraphClient
) -> None:
    service.wait_ready(service.start_worker())
    tid, run_id, parts, task = await start_held_run(service, client, "r")
    queued = await client.runs.create(
        tid, "react", input=ask("count after-r"), multitask_strategy="enqueue"
    )
    api = next(p for p in service.processes if service.log_of[p.pid].name.startswith("api"))
    kill9(api)
    port = int(service.api_url.rsplit(":", 1)[1])
    service.start_api(port)
    (service.workdir / "hold.block").unlink()

    await asyncio.wait_for(task, 120)
    assert parts[-1].event == "end" and parts[-1].data["status"] == "success"
    everything = [p async for p in client.runs.join_stream(tid, run_id)]
    assert [p.id for p in parts] == [p.id for p in everything], "no event lost or repeated"
    result = await client.runs.join(tid, queued["run_id"])
    assert result["final_answer"] == "done: counted after-r"
    assert lines(service.workdir / "count.log") == ["r", "after-r"]


async def test_a_run_that_keeps_crashing_workers_fails_after_max_attempts(
    service: Service, client: LangGraphClient
) -> None:
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "react", input=ask("crash"))

    def keep_a_worker_alive() -> bool:
        if service.run_field(run["run_id"], "status") in ("error", "success"):
            return True
        if all(p.poll() is not None for p in service.processes[1:]):
            service.start_worker()
        return False

    await until(keep_a_worker_alive, "the run to give up", timeout=240)
    failed = await client.runs.get(thread["thread_id"], run["run_id"])
    assert failed["status"] == "error"
    assert "started 3 times" in failed["error"], failed["error"]
    assert len(set(lines(service.workdir / "crash.log"))) == 3, "three workers, no fourth"
    joined = await client.runs.join(thread["thread_id"], run["run_id"])
    assert joined["__error__"]["error"] == "WorkerLost"
    assert (await client.threads.get(thread["thread_id"]))["status"] == "error"
    events = [p.event async for p in client.runs.join_stream(thread["thread_id"], run["run_id"])]
    assert events.count("metadata") == 3 and events[-2:] == ["error", "end"]
