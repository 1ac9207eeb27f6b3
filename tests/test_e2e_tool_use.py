"""Tool use end to end: a ReAct agent calls a live REST service, then runs Python in the real
sandbox on what the service returned, then answers.

(a) A scripted model, so every message the model was sent can be asserted exactly.
(b) The embedded local model with the python tool: only the structure is asserted (a call
    was parsed, run in the sandbox, and its observation reached the model), not its skill.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import pytest

from hanlin.agents.agent import Agent
from hanlin.contract.events import FinalAnswerEvent, ToolCallEvent, ToolResultEvent
from hanlin.llm.chat_model import ChatOptions
from hanlin.llm.messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from hanlin.llm.scripted import ScriptedModel, call
from hanlin.runtime.runner import Runner
from hanlin.sandbox import Limits
from hanlin.serving.server import BackgroundServer
from hanlin.tools.builtin import PythonTool
from hanlin.tools.rest_plugin import RestPlugin

SERVICE = Path(__file__).parent / "data" / "rest" / "service_app.py"
INSTRUCTIONS = "Use the tools, then answer in one sentence."
QUESTION = "What is the temperature in Oslo in Fahrenheit? Convert it with python."


def _create_app():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("rest_service_app_e2e", SERVICE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.create_app()


@pytest.fixture(scope="module")
def service() -> Iterator[BackgroundServer]:
    with BackgroundServer(_create_app()) as running:
        yield running


@pytest.fixture
async def python() -> AsyncIterator[PythonTool]:
    tool = PythonTool(limits=Limits(timeout_s=10))
    yield tool
    await tool.aclose()


def convert_with_python(messages: Sequence[Message]) -> AssistantMessage:
    """The model's second turn: Python code built from the REST result it just read."""
    observation = messages[-1]
    assert isinstance(observation, ToolMessage) and observation.name == "get_weather"
    code = (
        f"weather = {json.loads(observation.content)!r}\n"
        "fahrenheit = weather['temperature'] * 9 / 5 + 32\n"
        "print(f\"{weather['city']}: {fahrenheit:.1f} F\")"
    )
    return AssistantMessage(
        tool_calls=[ToolCall(id="call_py", name="python", arguments={"code": code})]
    )


async def test_scripted_agent_uses_a_rest_service_then_python(
    service: BackgroundServer, python: PythonTool
) -> None:
    weather = RestPlugin.from_openapi(
        f"{service.url}/openapi.json", include=["get_weather"], timeout=5
    )
    model = ScriptedModel(
        [
            call("get_weather", call_id="call_rest", city="Oslo"),
            convert_with_python,
            "It is 69.8 °F in Oslo.",
        ]
    )
    agent = Agent(
        name="e2e", model=model, tools=[*weather.tools, python], instructions=INSTRUCTIONS
    )
    result = await Runner(agent).run("t", QUESTION)

    assert result.error is None and result.final_answer == "It is 69.8 °F in Oslo."
    rest_json = json.dumps(
        {
            "city": "Oslo",
            "units": "metric",
            "days": 1,
            "temperature": 21,
            "sky": "sunny",
            "request_id": None,
        },
        separators=(",", ":"),
    )
    system, user = SystemMessage(content=INSTRUCTIONS), UserMessage(content=QUESTION)
    first = AssistantMessage(
        name="e2e",
        tool_calls=[ToolCall(id="call_rest", name="get_weather", arguments={"city": "Oslo"})],
    )
    rest_result = ToolMessage(tool_call_id="call_rest", name="get_weather", content=rest_json)
    second = convert_with_python([system, user, first, rest_result]).model_copy(
        update={"name": "e2e"}
    )
    python_result = ToolMessage(tool_call_id="call_py", name="python", content="Oslo: 69.8 F")

    assert len(model.calls) == 3
    assert model.calls[0] == [system, user]
    assert model.calls[1] == [system, user, first, rest_result]
    assert model.calls[2] == [system, user, first, rest_result, second, python_result]
    assert [spec.name for spec in model.tools_seen[0]] == ["get_weather", "python"]
    # The code really ran in the sandbox: its namespace still holds the REST data.
    session = await python.workspace.session()
    still_there = await session.execute("weather['sky'], fahrenheit")
    assert still_there.stdout == "('sunny', 69.8)\n"


@pytest.mark.local_model
async def test_local_model_runs_python_in_the_sandbox(python: PythonTool) -> None:
    from hanlin.llm.local_model import LocalModel

    agent = Agent(
        name="coder",
        model=LocalModel(n_threads=2),
        tools=[python],
        max_steps=3,
        instructions="Use the python tool to compute, then answer in one sentence.",
        options=ChatOptions(max_tokens=96),
        tool_policy="call_once",
    )
    runner = Runner(agent)
    result = await runner.run(
        "local", "Use python to compute the sum of the numbers from 1 to 100."
    )

    calls = [e for e in result.events if isinstance(e, ToolCallEvent)]
    results = [e for e in result.events if isinstance(e, ToolResultEvent)]
    assert calls and calls[0].call.name == "python", result.events
    assert isinstance(calls[0].call.arguments.get("code"), str)
    assert results and results[0].call_id == calls[0].call.id
    assert python.workspace.started, "the call was executed in the sandbox"
    # Whatever the code did, the observation is the sandbox's text, never an empty string.
    assert results[0].content.strip()

    history = await runner.messages("local")
    observation_at = next(i for i, m in enumerate(history) if isinstance(m, ToolMessage))
    assert history[observation_at].content == results[0].content
    # The step may hold several calls: the model speaks again once all their results are in.
    after = next(m for m in history[observation_at:] if not isinstance(m, ToolMessage))
    assert isinstance(after, AssistantMessage), "the model saw the result"
    step_results = history[observation_at : history.index(after)]
    assert [m.tool_call_id for m in step_results] == [
        e.call_id for e in results[: len(step_results)]
    ]
    assert result.error is None or "steps" in result.error
    finals = [e for e in result.events if isinstance(e, FinalAnswerEvent)]
    print("\nlocal model code:", calls[0].call.arguments.get("code"))
    print("observation:", results[0].content)
    print("answer:", finals[0].content if finals else result.error)
