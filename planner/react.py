"""ReAct, planning with feedback: think, act through tools, observe, repeat (Yao et al., 2023).

Built as a two-node LangGraph fragment, ``model`` and ``tools``. Unreadable or invalid tool
calls go back to the model as observations it can correct; the loop ends on an answer or at
the step limit.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from hanlin.contract.approval import ApprovalPolicy
from hanlin.contract.events import ErrorEvent, FinalAnswerEvent, MessageEvent, emit
from hanlin.contract.journal import MemoryToolJournal, ToolJournal
from hanlin.contract.state import AgentState, dump, state_messages
from hanlin.llm.chat_model import ChatModel, ChatOptions, ChatResult
from hanlin.llm.messages import AssistantMessage, Message, SystemMessage, UserMessage
from hanlin.planner.streaming import stream_reply
from hanlin.planner.tool_step import run_tool_step, step_of, thread_of
from hanlin.tools.registry import ToolRegistry

Node = Callable[..., Any]
# Chooses what the model sees of the conversation (e.g. a token-budget window with a summary
# of older turns) and returns state updates to keep; the full history stays in the state.
WindowFn = Callable[[AgentState, list[Message]], Awaitable[tuple[list[Message], dict[str, Any]]]]

# How a turn uses tools. ``auto``: the model decides at every step. ``call_first``: the first
# step of a turn must call a tool (constrained decoding on local models), then the model
# decides. ``call_once``: one forced tool step, then the model must answer. Small models
# rarely call tools unprompted and tend to imitate tool output instead of answering; the
# last two policies are for them. Under ``auto`` a ``LocalModel`` does not leave the choice
# to the model's first token: it decides whether a tool fits a fresh question before writing
# (``ChatOptions.tool_decision``, see ``hanlin.llm.local_decision``), then writes a
# schema-exact call or an answer, so ``auto`` also suits it when some questions need no tool.
ToolPolicy = Literal["auto", "call_first", "call_once"]
_EMPTY_REPLY = "Your reply was empty. Answer the question now, using the results above."
_FINAL_PREFIX = re.compile(r"^\s*(final answer|answer)\s*:\s*", re.IGNORECASE)

DEFAULT_INSTRUCTIONS = "You are a helpful assistant. Use a tool when it helps; then answer."


def settle_reply(
    agent: str,
    result: ChatResult,
    reply: AssistantMessage,
    update: dict[str, Any],
    *,
    empty_reply: str,
) -> dict[str, Any]:
    """Finish a model step's ``update``: tool calls go on to the tools; unreadable calls or an
    empty reply go back to the model as an observation; anything else is the final answer."""
    if reply.tool_calls:
        return update
    answer = _FINAL_PREFIX.sub("", reply.content).strip()
    if result.tool_errors or not answer:
        feedback = "\n".join(e.for_model() for e in result.tool_errors) or empty_reply
        emit(ErrorEvent(agent=agent, message=feedback, category="invalid_action"))
        update["messages"].append(
            dump(UserMessage(content=f"Observation: {feedback}", name="tool_feedback"))
        )
        return update
    emit(FinalAnswerEvent(agent=agent, content=answer))
    update["final_answer"] = answer
    return update


@dataclass
class ReActLoop:
    """Everything one ReAct agent needs; ``build()`` returns its uncompiled graph."""

    name: str
    model: ChatModel
    registry: ToolRegistry
    instructions: str = DEFAULT_INSTRUCTIONS
    max_steps: int = 8
    options: ChatOptions = field(default_factory=ChatOptions)
    approval: ApprovalPolicy = "per_tool"
    journal: ToolJournal = field(default_factory=MemoryToolJournal)
    tool_policy: ToolPolicy = "auto"
    window: WindowFn | None = None

    def build(self, *, before: Node | None = None, after: Node | None = None) -> StateGraph:
        """The loop's graph; ``before`` runs once at the start of a turn (e.g. recalling
        memories into ``context``), ``after`` once at its end (e.g. storing the turn)."""
        graph = StateGraph(AgentState)
        graph.add_node("model", self.model_step)
        graph.add_node("tools", self.tools_step)
        if before is not None:
            graph.add_node("before", before)
            graph.add_edge(START, "before")
            graph.add_edge("before", "model")
        else:
            graph.add_edge(START, "model")
        finish = END
        if after is not None:
            graph.add_node("after", after)
            graph.add_edge("after", END)
            finish = "after"
        graph.add_conditional_edges(
            "model", self.route, {"tools": "tools", "model": "model", END: finish}
        )
        graph.add_edge("tools", "model")
        return graph

    def _options(self, state: AgentState) -> ChatOptions:
        """The tool choice for this step under ``tool_policy`` (see ``ToolPolicy``)."""
        if self.tool_policy == "auto" or not self.registry.specs():
            return self.options
        if state.get("steps", 0) == 0:
            return self.options.model_copy(update={"tool_choice": "required"})
        if self.tool_policy == "call_once":
            return self.options.model_copy(update={"tool_choice": "none"})
        return self.options

    async def _generate(self, state: AgentState, history: list[Message]) -> ChatResult:
        system = self.instructions
        if state.get("context"):
            system += "\n\n" + str(state["context"])
        messages = [SystemMessage(content=system), *history]
        return await stream_reply(
            self.model,
            self.name,
            messages,
            tools=self.registry.specs(),
            options=self._options(state),
        )

    async def model_step(self, state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        steps = state.get("steps", 0) + 1
        history: list[Message] = state_messages(state)
        kept: dict[str, Any] = {}
        if self.window is not None:
            history, kept = await self.window(state, history)
        result = await self._generate(state, history)
        reply = result.message.model_copy(update={"name": self.name})
        emit(MessageEvent(agent=self.name, content=reply.content, tool_calls=reply.tool_calls))
        update: dict[str, Any] = {"messages": [dump(reply)], "steps": steps, **kept}
        return settle_reply(self.name, result, reply, update, empty_reply=_EMPTY_REPLY)

    async def tools_step(self, state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        last = state_messages(state)[-1]
        assert isinstance(last, AssistantMessage)
        results = await run_tool_step(
            last,
            agent=self.name,
            thread_id=thread_of(config),
            step=step_of(config),
            registry=self.registry,
            journal=self.journal,
            policy=self.approval,
        )
        return {"messages": [dump(r) for r in results]}

    def route(self, state: AgentState) -> str:
        if state.get("final_answer") is not None and state_messages(state)[-1].role == "assistant":
            return END
        if state.get("steps", 0) >= self.max_steps:
            message = f"{self.name} stopped after {self.max_steps} steps without a final answer."
            emit(ErrorEvent(agent=self.name, message=message, category="step_limit"))
            return END
        last = state_messages(state)[-1]
        if isinstance(last, AssistantMessage) and last.tool_calls:
            return "tools"
        return "model"
