"""Several calls in one ReAct step run at the same time, from the embedded model's own reply."""

from __future__ import annotations

import asyncio
import time

import pytest

from hanlin.agents.agent import Agent
from hanlin.contract.events import ToolCallEvent, ToolResultEvent
from hanlin.llm.chat_model import ChatOptions
from hanlin.llm.local_model import LocalModel
from hanlin.llm.messages import AssistantMessage, ToolCall
from hanlin.llm.scripted import ScriptedModel
from hanlin.runtime.runner import Runner
from hanlin.tools import tool

DELAY_S = 0.5
started: list[float] = []


@tool
async def slow_weather(city: str) -> str:
    """Current weather for a city (takes half a second)."""
    started.append(time.perf_counter())
    await asyncio.sleep(DELAY_S)
    return f"{city}: 18 C and clear"


async def test_the_calls_of_one_step_run_concurrently() -> None:
    started.clear()
    turn = AssistantMessage(
        tool_calls=[
            ToolCall(id=f"c{i}", name="slow_weather", arguments={"city": city})
            for i, city in enumerate(["Oslo", "Rome", "Lima"])
        ]
    )
    model = ScriptedModel([turn, "All three are clear."])
    begun = time.perf_counter()
    result = await Runner(Agent(name="a", model=model, tools=[slow_weather])).run("t", "go")
    elapsed = time.perf_counter() - begun
    assert result.final_answer == "All three are clear."
    assert elapsed < 2 * DELAY_S, f"three {DELAY_S} s calls took {elapsed:.2f} s"
    assert max(started) - min(started) < DELAY_S / 2
    observations = model.calls[1][-3:]
    assert [o.content for o in observations] == [
        "Oslo: 18 C and clear",
        "Rome: 18 C and clear",
        "Lima: 18 C and clear",
    ]


@pytest.mark.local_model
async def test_the_embedded_model_calls_twice_in_one_step() -> None:
    agent = Agent(
        name="weather",
        model=LocalModel(n_threads=1),
        tools=[slow_weather],
        max_steps=2,
        options=ChatOptions(max_tokens=120),
        tool_policy="call_once",
    )
    result = await Runner(agent).run("p", "What is the weather in Oslo and in Rome?")
    calls = [e.call for e in result.events if isinstance(e, ToolCallEvent)]
    assert [c.arguments["city"] for c in calls] == ["Oslo", "Rome"], result.events
    results = [e for e in result.events if isinstance(e, ToolResultEvent)]
    assert {r.content for r in results} == {"Oslo: 18 C and clear", "Rome: 18 C and clear"}
