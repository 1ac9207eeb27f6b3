"""A ReAct agent with a calculator on the embedded model, end to end: the call is parsed and
executed, the observation reaches the model, and an answer comes back. The model's skill is
not asserted (benchmarks/react_arithmetic.py measures it)."""

from __future__ import annotations

import pytest

from hanlin.agents.agent import Agent
from hanlin.contract.events import FinalAnswerEvent, ToolCallEvent, ToolResultEvent
from hanlin.llm.chat_model import ChatOptions
from hanlin.llm.local_model import LocalModel
from hanlin.llm.messages import AssistantMessage, ToolMessage
from hanlin.runtime.runner import Runner
from hanlin.tools.builtin.calculator import calculator

pytestmark = pytest.mark.local_model


async def test_react_agent_calls_the_calculator_and_answers() -> None:
    agent = Agent(
        name="solver",
        model=LocalModel(n_threads=2),
        tools=[calculator],
        max_steps=3,
        instructions="Use the calculator for arithmetic, then answer in one sentence.",
        options=ChatOptions(max_tokens=96),
        tool_policy="call_once",
    )
    runner = Runner(agent)
    result = await runner.run("e2e", "What is 12*7?")

    calls = [e for e in result.events if isinstance(e, ToolCallEvent)]
    results = [e for e in result.events if isinstance(e, ToolResultEvent)]
    assert calls and calls[0].call.name == "calculator"
    assert results and not results[0].is_error and results[0].content == "84"

    history = await runner.messages("e2e")
    observation_at = next(i for i, m in enumerate(history) if isinstance(m, ToolMessage))
    assert history[observation_at].content == "84"
    assert isinstance(history[observation_at + 1], AssistantMessage), "the model saw the result"
    assert result.error is None or "steps" in result.error
    finals = [e for e in result.events if isinstance(e, FinalAnswerEvent)]
    assert finals and finals[0].content.strip()
