"""Agents and teams: each a pydantic spec that builds its own LangGraph graph.

``Agent`` (ReAct), the planning agents, ``Debate``, ``RolePlay``, ``Supervisor`` and
``GroupChat`` share ``AgentSpec``: a checked name and model, perception of attachments, and
``run`` / ``run_sync``. Names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hanlin._lazy import lazy_exports

if TYPE_CHECKING:
    from hanlin.agents.agent import Agent
    from hanlin.agents.debate import (
        ARITHMETIC_PROMPTS,
        CHOICE_PROMPTS,
        MATH_PROMPTS,
        Debate,
        DebateAgent,
        DebateOutcome,
        DebatePrompts,
    )
    from hanlin.agents.debate_baselines import (
        debate_baselines,
        independent_majority,
        self_reflection,
        single_agent,
    )
    from hanlin.agents.group_chat import GroupChat
    from hanlin.agents.memory import AgentMemory
    from hanlin.agents.memory_tools import memory_tools
    from hanlin.agents.perception import Perception, PerceptionConfig, PerceptionError
    from hanlin.agents.planners import (
        ChainOfThoughtAgent,
        LeastToMostAgent,
        PlanExecuteAgent,
        ReflexionAgent,
    )
    from hanlin.agents.role_play import RoleCritic, RolePlay
    from hanlin.agents.spec import DEFAULT_INSTRUCTIONS, AgentSpec
    from hanlin.agents.supervisor import Supervisor

_EXPORTS: dict[str, str] = {
    "Agent": "hanlin.agents.agent",
    "AgentSpec": "hanlin.agents.spec",
    "DEFAULT_INSTRUCTIONS": "hanlin.agents.spec",
    "Debate": "hanlin.agents.debate",
    "DebateAgent": "hanlin.agents.debate",
    "DebateOutcome": "hanlin.agents.debate",
    "DebatePrompts": "hanlin.agents.debate",
    "MATH_PROMPTS": "hanlin.agents.debate",
    "ARITHMETIC_PROMPTS": "hanlin.agents.debate",
    "CHOICE_PROMPTS": "hanlin.agents.debate",
    "RolePlay": "hanlin.agents.role_play",
    "RoleCritic": "hanlin.agents.role_play",
    "Supervisor": "hanlin.agents.supervisor",
    "GroupChat": "hanlin.agents.group_chat",
    "PlanExecuteAgent": "hanlin.agents.planners",
    "LeastToMostAgent": "hanlin.agents.planners",
    "ChainOfThoughtAgent": "hanlin.agents.planners",
    "ReflexionAgent": "hanlin.agents.planners",
    "debate_baselines": "hanlin.agents.debate_baselines",
    "independent_majority": "hanlin.agents.debate_baselines",
    "self_reflection": "hanlin.agents.debate_baselines",
    "single_agent": "hanlin.agents.debate_baselines",
    "AgentMemory": "hanlin.agents.memory",
    "memory_tools": "hanlin.agents.memory_tools",
    "Perception": "hanlin.agents.perception",
    "PerceptionConfig": "hanlin.agents.perception",
    "PerceptionError": "hanlin.agents.perception",
}
__all__ = [
    "ARITHMETIC_PROMPTS",
    "Agent",
    "AgentMemory",
    "AgentSpec",
    "CHOICE_PROMPTS",
    "ChainOfThoughtAgent",
    "DEFAULT_INSTRUCTIONS",
    "Debate",
    "DebateAgent",
    "DebateOutcome",
    "DebatePrompts",
    "GroupChat",
    "LeastToMostAgent",
    "MATH_PROMPTS",
    "Perception",
    "PerceptionConfig",
    "PerceptionError",
    "PlanExecuteAgent",
    "ReflexionAgent",
    "RoleCritic",
    "RolePlay",
    "Supervisor",
    "debate_baselines",
    "independent_majority",
    "memory_tools",
    "self_reflection",
    "single_agent",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
