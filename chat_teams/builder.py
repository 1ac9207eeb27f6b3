"""Turning a ``TeamConfig`` into a runnable agent or team.

Each chat session gets its own tools (a python session and scratch folder are per session, so
two people never share files), while the model and the memory store are shared services.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hanlin.agents.agent import Agent
from hanlin.agents.debate import Debate, DebateAgent
from hanlin.agents.memory import AgentMemory
from hanlin.agents.role_play import RolePlay
from hanlin.agents.supervisor import Supervisor
from hanlin.chat_teams.config import TeamConfig
from hanlin.llm.chat_model import ChatOptions
from hanlin.runtime import RunTarget
from hanlin.tools.builtin import PythonTool, ScratchFiles, calculator

REACT_INSTRUCTIONS = (
    "You are a careful assistant. Use a tool when it helps (for arithmetic, call the "
    "calculator), then give the final answer in one or two sentences."
)
RESEARCHER_INSTRUCTIONS = (
    "You find facts and compute numbers with your tools, then report them briefly."
)
WRITER_INSTRUCTIONS = "You turn notes into a short, clear answer for the user."


@dataclass
class SessionTools:
    """The tool instances of one chat session (sandbox state lives here)."""

    python: PythonTool | None = None

    def python_tool(self) -> PythonTool:
        if self.python is None:
            self.python = PythonTool()
        return self.python

    async def aclose(self) -> None:
        if self.python is not None:
            await self.python.aclose()
            self.python = None


def build_tools(
    config: TeamConfig, session: SessionTools, *, memory_store: Any, user_id: str, agent_id: str
) -> list[Any]:
    tools: list[Any] = []
    if "calculator" in config.tools:
        tools.append(calculator)
    if "python" in config.tools:
        tools.append(session.python_tool())
    if "scratch_files" in config.tools:
        tools.extend(ScratchFiles(session.python_tool()))
    if "memory" in config.tools and memory_store is not None:
        from hanlin.agents.memory_tools import memory_tools

        tools.extend(memory_tools(memory_store, user_id, agent_id))
    return tools


def build_team(
    config: TeamConfig,
    model: Any,
    session: SessionTools,
    *,
    memory_store: Any = None,
    user_id: str = "default",
) -> RunTarget:
    """The agent or team ``config`` describes, driven by ``model``."""
    memory = (
        AgentMemory(store=memory_store)
        if config.long_term_memory and memory_store is not None
        else None
    )
    approval = "always" if config.approve_tools else "per_tool"
    # Small embedded models never call tools unprompted: one forced tool step, then an answer.
    policy = "call_once" if config.uses_embedded_model else "auto"
    options = ChatOptions(max_tokens=config.max_tokens)
    if config.kind == "react":
        tools = build_tools(
            config, session, memory_store=memory_store, user_id=user_id, agent_id="assistant"
        )
        return Agent(
            name="assistant",
            model=model,
            instructions=REACT_INSTRUCTIONS,
            tools=tools,
            max_steps=6,
            approval=approval,
            memory=memory,
            options=options,
            tool_policy=policy if tools else "auto",
        )
    if config.kind == "debate":
        debaters = [
            DebateAgent(name=f"debater_{i + 1}", model=model, options=options)
            for i in range(config.debaters)
        ]
        return Debate(agents=debaters, rounds=config.rounds)
    if config.kind == "role_play":
        return RolePlay(
            assistant_role=config.assistant_role,
            user_role=config.user_role,
            model=model,
            max_turns=config.max_turns,
            options=options,
        )
    tools = build_tools(
        config, session, memory_store=memory_store, user_id=user_id, agent_id="researcher"
    )
    researcher = Agent(
        name="researcher",
        model=model,
        instructions=RESEARCHER_INSTRUCTIONS,
        tools=tools,
        max_steps=4,
        approval=approval,
        options=options,
        tool_policy=policy if tools else "auto",
    )
    writer = Agent(
        name="writer", model=model, instructions=WRITER_INSTRUCTIONS, max_steps=2, options=options
    )
    return Supervisor(model=model, members=[researcher, writer], options=options)
