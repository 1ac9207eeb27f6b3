"""Planning strategies as graph fragments: ReAct, plan-and-execute, least-to-most,
chain-of-thought and Reflexion, plus the journaled tool step they share.

Agents in ``hanlin.agents`` wrap these; use them directly to compose your own graphs.
Names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hanlin._lazy import lazy_exports

if TYPE_CHECKING:
    from hanlin.planner.chain_of_thought import ChainOfThought, CoTExemplar
    from hanlin.planner.least_to_most import DecompositionExemplar, LeastToMost, SolvedExemplar
    from hanlin.planner.plan_execute import PlanExecute
    from hanlin.planner.react import DEFAULT_INSTRUCTIONS, ReActLoop, ToolPolicy
    from hanlin.planner.reflexion import InMemoryReflections, Reflexion
    from hanlin.planner.streaming import stream_reply
    from hanlin.planner.tool_step import run_tool_step

_EXPORTS: dict[str, str] = {
    "ChainOfThought": "hanlin.planner.chain_of_thought",
    "CoTExemplar": "hanlin.planner.chain_of_thought",
    "DecompositionExemplar": "hanlin.planner.least_to_most",
    "LeastToMost": "hanlin.planner.least_to_most",
    "SolvedExemplar": "hanlin.planner.least_to_most",
    "PlanExecute": "hanlin.planner.plan_execute",
    "DEFAULT_INSTRUCTIONS": "hanlin.planner.react",
    "ReActLoop": "hanlin.planner.react",
    "ToolPolicy": "hanlin.planner.react",
    "InMemoryReflections": "hanlin.planner.reflexion",
    "Reflexion": "hanlin.planner.reflexion",
    "stream_reply": "hanlin.planner.streaming",
    "run_tool_step": "hanlin.planner.tool_step",
}
__all__ = [
    "ChainOfThought",
    "CoTExemplar",
    "DEFAULT_INSTRUCTIONS",
    "DecompositionExemplar",
    "InMemoryReflections",
    "LeastToMost",
    "PlanExecute",
    "ReActLoop",
    "Reflexion",
    "SolvedExemplar",
    "ToolPolicy",
    "run_tool_step",
    "stream_reply",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
