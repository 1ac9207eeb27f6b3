"""Supervisor and group chat end to end on the embedded model: structure only, not skill."""

from __future__ import annotations

import pytest

from hanlin.agents.agent import Agent
from hanlin.agents.group_chat import GroupChat
from hanlin.agents.supervisor import Supervisor
from hanlin.contract.events import ErrorEvent, MessageEvent
from hanlin.llm.chat_model import ChatOptions
from hanlin.llm.local_model import LocalModel
from hanlin.runtime.runner import Runner

pytestmark = pytest.mark.local_model
SHORT = ChatOptions(max_tokens=40)


def member(name: str, model: LocalModel) -> Agent:
    return Agent(
        name=name,
        model=model,
        instructions=f"You are {name}. Reply in one sentence.",
        options=SHORT,
        max_steps=2,
    )


async def test_group_chat_round_robin_on_the_embedded_model() -> None:
    model = LocalModel(n_threads=2)
    chat = GroupChat(members=[member("Ann", model), member("Bob", model)], max_rounds=2)
    result = await Runner(chat).run("gc", "Plan a picnic.")
    speakers = [
        e.agent for e in result.events if isinstance(e, MessageEvent) and e.agent in {"Ann", "Bob"}
    ]
    assert speakers[:2] == ["Ann", "Bob"]
    assert result.final_answer


async def test_supervisor_on_the_embedded_model_routes_or_answers() -> None:
    model = LocalModel(n_threads=2)
    team = Supervisor(model=model, members=[member("Writer", model)], max_steps=3, options=SHORT)
    result = await Runner(team).run("sv", "Write a one-line greeting.")
    handled = result.final_answer is not None or any(
        isinstance(e, ErrorEvent) for e in result.events
    )
    assert handled, "the run ends with an answer or a reported error, never silently"
    assert any(isinstance(e, MessageEvent) and e.agent == "supervisor" for e in result.events)
