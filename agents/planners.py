"""Agents that plan before or across their steps, each runnable with ``Runner(agent)``.

``PlanExecuteAgent`` plans first and runs each subtask with ReAct, re-planning on failure;
``LeastToMostAgent`` solves easier sub-questions first; ``ChainOfThoughtAgent`` reasons step by
step; ``ReflexionAgent`` retries with reflections on its failures.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import StateGraph
from pydantic import Field

from hanlin.agents.spec import DEFAULT_INSTRUCTIONS, AgentSpec, ChatModelField, ToolItem
from hanlin.contract.approval import ApprovalPolicy
from hanlin.contract.journal import MemoryToolJournal, ToolJournal
from hanlin.llm.chat_model import ChatOptions
from hanlin.planner.chain_of_thought import DEFAULT_MARKER, ChainOfThought, CoTExemplar
from hanlin.planner.least_to_most import DecompositionExemplar, LeastToMost, SolvedExemplar
from hanlin.planner.plan_execute import EXECUTE_INSTRUCTIONS, PlanExecute, step_failed
from hanlin.planner.react import ReActLoop, ToolPolicy
from hanlin.planner.reflexion import InMemoryReflections, Reflexion
from hanlin.tools.registry import ToolRegistry


class _PlannerAgent(AgentSpec):
    model: ChatModelField
    options: ChatOptions = Field(default_factory=ChatOptions)


class _ToolUsingAgent(_PlannerAgent):
    """The settings of the ReAct loop that carries out the work."""

    instructions: str = DEFAULT_INSTRUCTIONS
    tools: list[ToolItem] = Field(
        default_factory=list, description="Tools made with @tool or Tool."
    )
    max_steps: int = Field(default=8, ge=1, le=100, description="ReAct steps per subtask or trial.")
    approval: ApprovalPolicy = "per_tool"
    tool_policy: ToolPolicy = "auto"

    def react_loop(self, journal: ToolJournal | None) -> ReActLoop:
        return ReActLoop(
            name=self.name,
            model=self.model,
            registry=ToolRegistry(self.tools),
            instructions=self.instructions,
            max_steps=self.max_steps,
            options=self.options,
            approval=self.approval,
            journal=journal or MemoryToolJournal(),
            tool_policy=self.tool_policy,
        )


class PlanExecuteAgent(_ToolUsingAgent):
    """Writes a numbered plan, runs each subtask with ReAct, re-plans when one fails."""

    instructions: str = EXECUTE_INSTRUCTIONS
    max_replans: int = Field(default=2, ge=0, le=20, description="0: never re-plan.")
    max_plan_steps: int = Field(default=6, ge=1, le=50)
    failure: Any = Field(
        default=step_failed, description="(result or None) -> True when a subtask failed."
    )

    def graph(self, *, journal: ToolJournal | None = None) -> StateGraph:
        return PlanExecute(
            loop=self.react_loop(journal),
            max_replans=self.max_replans,
            max_plan_steps=self.max_plan_steps,
            failure=self.failure,
            options=self.options,
        ).build()


class ReflexionAgent(_ToolUsingAgent):
    """Retries a ReAct agent, reflecting on each failed trial; ``evaluator`` is
    ``async (question, answer) -> bool`` (None: the model judges its own answer)."""

    max_trials: int = Field(default=3, ge=1, le=20)
    evaluator: Any = None
    reflections: Any = Field(
        default_factory=InMemoryReflections,
        description="A ReflectionStore, e.g. MemoryStoreReflections(memory_store).",
    )

    def graph(self, *, journal: ToolJournal | None = None) -> StateGraph:
        return Reflexion(
            loop=self.react_loop(journal),
            evaluator=self.evaluator,
            store=self.reflections,
            max_trials=self.max_trials,
            options=self.options,
        ).build()


class LeastToMostAgent(_PlannerAgent):
    """Decomposes a question into easier sub-questions and answers them in order."""

    decomposition_exemplars: list[DecompositionExemplar] = Field(default_factory=list)
    solved_exemplars: list[SolvedExemplar] = Field(default_factory=list)
    max_subquestions: int = Field(default=6, ge=1, le=50)

    def graph(self, *, journal: ToolJournal | None = None) -> StateGraph:
        return LeastToMost(
            name=self.name,
            model=self.model,
            decomposition_exemplars=self.decomposition_exemplars,
            solved_exemplars=self.solved_exemplars,
            max_subquestions=self.max_subquestions,
            options=self.options,
        ).build()


class ChainOfThoughtAgent(_PlannerAgent):
    """Answers with step-by-step reasoning: few-shot with ``exemplars``, else zero-shot."""

    exemplars: list[CoTExemplar] = Field(default_factory=list)
    marker: str = Field(default=DEFAULT_MARKER, min_length=1)
    instructions: str | None = None

    def graph(self, *, journal: ToolJournal | None = None) -> StateGraph:
        return ChainOfThought(
            name=self.name,
            model=self.model,
            exemplars=self.exemplars,
            marker=self.marker,
            instructions=self.instructions,
            options=self.options,
        ).build()
