"""The graph's own writes (checkpoints, journaled tool results) are fenced too: a worker
whose lease was taken over cannot add a checkpoint or serve a journal entry."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from hanlin.agents.agent import Agent
from hanlin.llm.messages import ToolMessage, UserMessage
from hanlin.llm.scripted import ScriptedModel
from hanlin.service.driver import StartPlan, drive
from hanlin.service.fenced import FencedRunners
from hanlin.service.keys import ServiceKeys
from hanlin.service.lease import LeaseLost, LeaseScripts, LeaseSettings, current_lease
from hanlin.service.records import RunKwargs
from hanlin.service.store import ServiceStore


async def test_a_stale_lease_stops_checkpoints_and_journal_writes(redis_url: str) -> None:
    keys = ServiceKeys(f"t{uuid.uuid4().hex[:10]}")
    client = Redis.from_url(redis_url, decode_responses=True)
    store = ServiceStore(client, keys)
    thread = await store.create_thread("alice")
    _, run = await store.submit_run(
        thread, assistant_id="echo", request=RunKwargs(), metadata={}, strategy="reject"
    )
    leases = LeaseScripts(client, keys, LeaseSettings(lease_ms=300))
    _, stale, _ = await leases.claim(run.run_id, "w1")
    assert stale is not None

    runners = FencedRunners(redis_url, prefix=keys.prefix)
    model = ScriptedModel(["one", "two"])
    runner = runners.runner(Agent(name="echo", model=model))
    current_lease.set(stale)
    first = await runner.run(thread.thread_id, "hi")
    assert first.final_answer == "one" and first.error is None
    before = await runner.graph.aget_state({"configurable": {"thread_id": thread.thread_id}})

    await asyncio.sleep(0.5)
    _, successor, _ = await leases.claim(run.run_id, "w2")
    assert successor is not None
    with pytest.raises(LeaseLost):
        again = StartPlan("input", message=UserMessage(content="again"))
        async for _item in drive(runner, again, thread.thread_id, "alice"):
            pass
    assert model.served == 1, "the next step did not run"
    after = await runner.graph.aget_state({"configurable": {"thread_id": thread.thread_id}})
    assert after.config == before.config, "no checkpoint was added"

    message = ToolMessage(tool_call_id="c1", name="count", content="x")
    with pytest.raises(LeaseLost):
        await runners.journal.put(thread.thread_id, "0:c1", message)
    with pytest.raises(LeaseLost):
        await runners.journal.get(thread.thread_id, "0:c1")
    current_lease.set(successor)
    await runners.journal.put(thread.thread_id, "0:c1", message)
    assert await runners.journal.get(thread.thread_id, "0:c1") == message
    await runners.checkpointer.aclose()
    await client.aclose()
