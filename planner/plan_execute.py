"""Plan-and-execute: write the whole plan first, then carry out each subtask with ReAct.

Planning without feedback (chapter 8.2.2): the model splits the task into numbered subtasks
up front; each subtask then runs as its own ReAct loop (planning with feedback, at the step
level) whose system prompt holds the task, the plan and every earlier subtask's result; a
last call writes the answer from those results. The two are combined as the chapter
suggests: when a subtask fails (no answer within its step limit, or a result saying it
cannot be done) the model re-plans the remaining work, at most ``max_replans`` times.
``max_replans=0`` is pure planning without feedback.

Subtasks reuse ``ReActLoop``'s own ``model_step`` and ``tools_step`` as nodes of this graph,
run on a private conversation (``InnerReAct``), rather than a compiled subgraph: tool
approvals then interrupt and resume this graph directly, every step is checkpointed with the
thread, and events reach the caller's stream without subgraph streaming.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from hanlin.contract.events import ErrorEvent, PlanEvent, emit
from hanlin.contract.state import AgentState, dump
from hanlin.llm.chat_model import ChatModel, ChatOptions
from hanlin.llm.messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    UserMessage,
    messages_from_dicts,
)
from hanlin.planner.chain_of_thought import ask, finish, latest_question
from hanlin.planner.least_to_most import numbered_items
from hanlin.planner.react import ReActLoop

PLAN_INSTRUCTIONS = (
    "You plan work for an assistant that has tools. Split the task into at most {n} short, "
    "self-contained subtasks, in the order they must be done. Write them as a numbered list, "
    "one per line, and nothing else. Do not carry them out."
)
EXECUTE_INSTRUCTIONS = (
    "You carry out one subtask of a larger task. Use a tool when it helps; then reply with "
    "the subtask's result only. If the subtask cannot be done, say that it cannot and why."
)
SYNTHESIZE_INSTRUCTIONS = "Answer the task briefly, using the results of its subtasks."
_CANNOT = re.compile(
    r"\b(cannot|can ?not|can't|unable to|not possible|impossible|failed)\b", re.IGNORECASE
)


def step_failed(result: str | None) -> bool:
    """Default failure test: no result at all, or one that says the step could not be done."""
    return result is None or not result.strip() or bool(_CANNOT.search(result))


class InnerRunState(AgentState, total=False):
    inner_messages: list[dict[str, Any]]
    inner_steps: int
    inner_answer: str | None
    inner_context: str | None


@dataclass
class InnerReAct:
    """Runs a ``ReActLoop``'s steps on a private conversation kept in ``inner_*`` keys,
    so a strategy can run many short ReAct episodes inside one thread."""

    loop: ReActLoop

    @staticmethod
    def start(task: str, context: str | None) -> dict[str, Any]:
        return {
            "inner_messages": [dump(UserMessage(content=task))],
            "inner_steps": 0,
            "inner_answer": None,
            "inner_context": context,
        }

    @staticmethod
    def view(state: InnerRunState) -> AgentState:
        return {
            "messages": state.get("inner_messages") or [],
            "steps": state.get("inner_steps", 0),
            "final_answer": state.get("inner_answer"),
            "context": state.get("inner_context"),
        }

    @staticmethod
    def _lift(state: InnerRunState, update: dict[str, Any]) -> dict[str, Any]:
        lifted: dict[str, Any] = {}
        if "messages" in update:
            lifted["inner_messages"] = [*(state.get("inner_messages") or []), *update["messages"]]
        if "steps" in update:
            lifted["inner_steps"] = update["steps"]
        if "final_answer" in update:
            lifted["inner_answer"] = update["final_answer"]
        return lifted

    async def act(self, state: InnerRunState, config: RunnableConfig) -> dict[str, Any]:
        return self._lift(state, await self.loop.model_step(self.view(state), config))

    async def tools(self, state: InnerRunState, config: RunnableConfig) -> dict[str, Any]:
        return self._lift(state, await self.loop.tools_step(self.view(state), config))

    def route(self, state: InnerRunState) -> str:
        """``tools``, ``act`` again, or ``done`` (an answer, or the step limit reached)."""
        messages = messages_from_dicts(state.get("inner_messages") or [])
        last = messages[-1]
        if state.get("inner_answer") is not None and isinstance(last, AssistantMessage):
            return "done"
        if state.get("inner_steps", 0) >= self.loop.max_steps:
            return "done"
        return "tools" if isinstance(last, AssistantMessage) and last.tool_calls else "act"

    def add_to(self, graph: StateGraph, done: str) -> None:
        """Adds ``act`` and ``tools`` nodes; an episode starts at ``act`` and ends at ``done``."""
        graph.add_node("act", self.act)
        graph.add_node("tools", self.tools)
        graph.add_conditional_edges(
            "act", self.route, {"tools": "tools", "act": "act", "done": done}
        )
        graph.add_edge("tools", "act")


class PlanExecuteState(InnerRunState, total=False):
    question: str
    plan: list[str]
    results: list[str]
    replans: int
    failed: str | None


def _listing(plan: list[str], results: list[str]) -> str:
    return "\n".join(
        f"{i}. {step}\n   Result: {result}"
        for i, (step, result) in enumerate(zip(plan, results, strict=False), 1)
    )


@dataclass
class PlanExecute:
    """Graph: ``plan`` → (``start_step`` → ReAct episode → ``finish_step``)* → ``synthesize``."""

    loop: ReActLoop
    max_replans: int = 2
    max_plan_steps: int = 6
    failure: Callable[[str | None], bool] = step_failed
    options: ChatOptions = field(default_factory=ChatOptions)

    def __post_init__(self) -> None:
        if self.max_replans < 0 or self.max_plan_steps < 1:
            raise ValueError("max_replans must be >= 0 and max_plan_steps >= 1")
        self.inner = InnerReAct(self.loop)

    @property
    def name(self) -> str:
        return self.loop.name

    @property
    def model(self) -> ChatModel:
        return self.loop.model

    def build(self) -> StateGraph:
        graph = StateGraph(PlanExecuteState)
        graph.add_node("plan", self.plan)
        graph.add_node("start_step", self.start_step)
        graph.add_node("finish_step", self.finish_step)
        graph.add_node("replan", self.replan)
        graph.add_node("synthesize", self.synthesize)
        self.inner.add_to(graph, done="finish_step")
        graph.add_edge(START, "plan")
        graph.add_edge("plan", "start_step")
        graph.add_edge("start_step", "act")
        graph.add_conditional_edges(
            "finish_step",
            self.after_step,
            {"start_step": "start_step", "replan": "replan", "synthesize": "synthesize"},
        )
        graph.add_conditional_edges(
            "replan", self.after_replan, {"start_step": "start_step", "synthesize": "synthesize"}
        )
        graph.add_edge("synthesize", END)
        return graph

    def _plan_steps(self, reply: str, fallback: str) -> list[str]:
        return numbered_items(reply)[: self.max_plan_steps] or [fallback]

    async def plan(self, state: PlanExecuteState) -> dict[str, Any]:
        question = latest_question(state)
        prompt: list[Message] = [
            SystemMessage(content=PLAN_INSTRUCTIONS.format(n=self.max_plan_steps)),
            UserMessage(content=f"Task: {question}"),
        ]
        steps = self._plan_steps(await ask(self.model, self.name, prompt, self.options), question)
        emit(PlanEvent(agent=self.name, steps=steps))
        return {
            "question": question,
            "plan": steps,
            "results": [],
            "replans": 0,
            "failed": None,
            "final_answer": None,
            "steps": 0,
        }

    async def start_step(self, state: PlanExecuteState) -> dict[str, Any]:
        plan, results = state["plan"], state.get("results") or []
        index = len(results)
        context = f"Task: {state['question']}\n\nPlan:\n" + "\n".join(
            f"{i}. {s}" for i, s in enumerate(plan, 1)
        )
        if results:
            context += "\n\nResults of the earlier subtasks:\n" + _listing(plan, results)
        task = f"Subtask {index + 1} of {len(plan)}: {plan[index]}"
        return {**self.inner.start(task, context), "steps": state.get("steps", 0) + 1}

    async def finish_step(self, state: PlanExecuteState) -> dict[str, Any]:
        answer = state.get("inner_answer")
        results = state.get("results") or []
        if not self.failure(answer):
            return {"results": [*results, str(answer)], "failed": None}
        failed = answer or f"no result within {self.loop.max_steps} steps"
        step = state["plan"][len(results)]
        emit(
            ErrorEvent(
                agent=self.name, message=f"subtask failed: {step}: {failed}", category="step_failed"
            )
        )
        if state.get("replans", 0) >= self.max_replans:
            emit(
                ErrorEvent(
                    agent=self.name,
                    message=f"re-plan limit ({self.max_replans}) reached",
                    category="replan_limit",
                )
            )
            return {"results": [*results, f"FAILED: {failed}"], "failed": failed}
        return {"failed": failed}

    def after_step(self, state: PlanExecuteState) -> str:
        if state.get("failed") is not None:
            return "replan" if state.get("replans", 0) < self.max_replans else "synthesize"
        return (
            "start_step" if len(state.get("results") or []) < len(state["plan"]) else "synthesize"
        )

    async def replan(self, state: PlanExecuteState) -> dict[str, Any]:
        plan, results = state["plan"], state.get("results") or []
        done = _listing(plan, results) or "(none)"
        request = (
            f"Task: {state['question']}\n\nPlan so far:\n"
            + "\n".join(f"{i}. {s}" for i, s in enumerate(plan, 1))
            + f"\n\nCompleted subtasks:\n{done}\n\nThis subtask failed: {plan[len(results)]}\n"
            f"Its result: {state.get('failed')}\n\n"
            "Write a new numbered plan for the remaining work only, avoiding what failed."
        )
        prompt: list[Message] = [
            SystemMessage(content=PLAN_INSTRUCTIONS.format(n=self.max_plan_steps)),
            UserMessage(content=request),
        ]
        remaining = numbered_items(await ask(self.model, self.name, prompt, self.options))
        new_plan = [*plan[: len(results)], *remaining[: self.max_plan_steps]]
        emit(PlanEvent(agent=self.name, steps=new_plan))
        return {"plan": new_plan, "replans": state.get("replans", 0) + 1, "failed": None}

    def after_replan(self, state: PlanExecuteState) -> str:
        return (
            "start_step" if len(state.get("results") or []) < len(state["plan"]) else "synthesize"
        )

    async def synthesize(self, state: PlanExecuteState) -> dict[str, Any]:
        listing = _listing(state["plan"], state.get("results") or [])
        prompt: list[Message] = [
            SystemMessage(content=SYNTHESIZE_INSTRUCTIONS),
            UserMessage(
                content=f"Task: {state['question']}\n\nSubtasks and results:\n{listing}\n\nAnswer:"
            ),
        ]
        return finish(self.name, await ask(self.model, self.name, prompt, self.options))
