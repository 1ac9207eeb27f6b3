"""``hanlin worker`` processes against a real Redis: they execute what is queued (even runs
queued before any worker existed), stream the run's events, and hand unfinished runs back
when stopped."""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from service_support import Service, lines, wait_for

from hanlin.service.keys import ServiceKeys


@pytest.fixture
def service(redis_url: str, tmp_path: Path) -> Iterator[Service]:
    (tmp_path / "work").mkdir()
    (tmp_path / "logs").mkdir()
    svc = Service(redis_url, f"w{uuid.uuid4().hex[:8]}", tmp_path / "work", tmp_path / "logs")
    yield svc
    svc.stop()


def submit(service: Service, text: str) -> tuple[str, str]:
    """Queue a run the way the API does (through the store), from a fresh event loop."""
    import asyncio

    from redis.asyncio import Redis

    from hanlin.service.records import RunKwargs
    from hanlin.service.store import ServiceStore

    async def go() -> tuple[str, str]:
        client = Redis.from_url(service.redis_url, decode_responses=True)
        store = ServiceStore(client, ServiceKeys(service.prefix))
        thread = await store.create_thread("alice")
        kwargs = RunKwargs(
            input={"messages": [{"role": "user", "content": text}]},
            stream_mode=["values", "custom"],
        )
        _, run = await store.submit_run(
            thread, assistant_id="react", request=kwargs, metadata={}, strategy="reject"
        )
        await client.aclose()
        return thread.thread_id, run.run_id

    return asyncio.run(go())


def events(service: Service, run_id: str) -> list[tuple[str, dict]]:
    client = redis.Redis.from_url(service.redis_url, decode_responses=True)
    entries = client.xrange(ServiceKeys(service.prefix).run_events(run_id))
    return [(f["event"], json.loads(f["data"])) for _id, f in entries]


def ended(service: Service, run_id: str) -> bool:
    return any(event == "end" for event, _ in events(service, run_id))


def test_a_run_queued_before_any_worker_is_executed_and_streamed(service: Service) -> None:
    _thread, run_id = submit(service, "count a")
    service.wait_ready(service.start_worker())
    wait_for(lambda: ended(service, run_id), "the run to end")

    stream = events(service, run_id)
    assert stream[0] == ("metadata", {"run_id": run_id, "attempt": 1})
    assert stream[-1] == ("end", {"run_id": run_id, "status": "success"})
    kinds = [data["kind"] for event, data in stream if event == "custom"]
    assert kinds[:3] == ["message", "tool_call", "tool_result"] and kinds[-1] == "final"
    final_values = [data for event, data in stream if event == "values"][-1]
    assert final_values["final_answer"] == "done: counted a"
    assert lines(service.workdir / "count.log") == ["a"]
    assert service.run_field(run_id, "status") == "success"


def test_a_stopped_worker_hands_its_run_back_unspent(service: Service) -> None:
    (service.workdir / "hold.block").touch()
    first = service.start_worker()
    _thread, run_id = submit(service, "hold b")
    wait_for(lambda: lines(service.workdir / "hold.log") == ["start b"], "the run to hold")

    os.kill(first.pid, signal.SIGTERM)
    assert first.wait(timeout=30) == 0
    assert service.run_field(run_id, "status") == "pending"
    assert service.run_field(run_id, "attempts") == "0", "a shutdown is not a failed attempt"

    (service.workdir / "hold.block").unlink()
    service.start_worker()
    wait_for(lambda: ended(service, run_id), "the run to end on the next worker")
    assert service.run_field(run_id, "status") == "success"
    assert service.run_field(run_id, "attempts") == "1"
    assert lines(service.workdir / "count.log") == ["b"], "the finished call is not repeated"
    assert lines(service.workdir / "hold.log") == ["start b", "start b"]
    replayed = [
        data["call_id"]
        for event, data in events(service, run_id)
        if event == "custom" and data["kind"] == "tool_result" and data["replayed"]
    ]
    assert replayed == ["c1"]


def test_a_run_record_the_worker_cannot_read_fails_at_once_and_the_worker_goes_on(
    service: Service,
) -> None:
    _thread, broken = submit(service, "count never")
    client = redis.Redis.from_url(service.redis_url, decode_responses=True)
    client.hset(ServiceKeys(service.prefix).run(broken), "request", "{not json")
    service.wait_ready(service.start_worker())
    wait_for(lambda: ended(service, broken), "the broken run to end", timeout=30)
    assert service.run_field(broken, "status") == "error"
    assert service.run_field(broken, "error_kind") == "InvalidRun"
    assert service.run_field(broken, "attempts") == "1", "not retried: it cannot get better"
    _thread, fine = submit(service, "count next")
    wait_for(lambda: ended(service, fine), "the next run to end")
    assert service.run_field(fine, "status") == "success"
    assert lines(service.workdir / "count.log") == ["next"]
