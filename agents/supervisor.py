"""``Supervisor``: a model that routes work to member agents through hand-off tools.

The supervisor sees one tool per member, ``transfer_to_<member>(task)``, and ``finish(answer)``.
Routing is a tool call, so it works with native tool calling and with hanlin's text tool-call
parsing alike, and a bad route is just a failed call: an unknown member, a missing task or a
hand-off past the limit comes back as a categorized error observation the supervisor can act on.

A member is an ``Agent`` or any team (``Debate``, ``RolePlay``, ``GroupChat``, another
``Supervisor``): anything with a ``name`` and a ``graph()``, so teams nest inside teams.
Each delegation runs the member's own graph (``member.graph()``), compiled and invoked
inside the ``handoff`` node, with the task as the member's only user message. Running it as a
nested graph, rather than merging every member's nodes into the team graph, keeps each member's
conversation private and unchanged, and lets LangGraph do the hard parts: the nested graph
inherits the runner's checkpointer, a tool approval inside a member raises its interrupt
through the team graph (the runner reports it as usual), and on resume the node re-runs and
the member continues from its own checkpoint. One call is handled per node run, so each
member run has its own checkpoint namespace. The member's events are forwarded with the
member's name; its result returns to the supervisor as the tool's observation.
"""

from __future__ import annotations

import re
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from pydantic import Field, model_validator

from hanlin.agents.agent import Agent
from hanlin.agents.spec import AgentName, AgentSpec, ChatModelField
from hanlin.contract.events import (
    ErrorEvent,
    FinalAnswerEvent,
    MessageEvent,
    ToolCallEvent,
    ToolResultEvent,
    emit,
    event_adapter,
)
from hanlin.contract.journal import MemoryToolJournal, ToolJournal
from hanlin.contract.state import AgentState, dump, initial_state, state_messages
from hanlin.contract.target import RunTarget, require_run_target
from hanlin.llm.chat_model import ChatOptions, ChatResult, ToolSpec
from hanlin.llm.messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from hanlin.llm.tool_errors import ToolCallError, ToolErrorKind
from hanlin.planner.react import settle_reply
from hanlin.planner.streaming import stream_reply

FINISH = "finish"
TRANSFER_PREFIX = "transfer_to_"
_EMPTY_REPLY = "Your reply was empty. Hand the work to a member or call finish with the answer."
DEFAULT_INSTRUCTIONS = (
    "You are {name}, a supervisor who coordinates a team. Hand work to a member with its "
    "transfer_to_<member> tool, giving a complete, self-contained task; the member's result "
    "comes back as that tool's result. When you can answer the user, call finish with the "
    "complete answer.\n\nTeam members:\n{members}"
)


class ScopedJournal:
    """A journal view whose thread id carries a scope: tool-call ids repeat across member
    runs (models number their calls from 1), so each member run gets its own key space."""

    def __init__(self, inner: ToolJournal, scope: str) -> None:
        self.inner = inner
        self.scope = scope

    async def get(self, thread_id: str, call_id: str) -> ToolMessage | None:
        return await self.inner.get(f"{thread_id}/{self.scope}", call_id)

    async def put(self, thread_id: str, call_id: str, result: ToolMessage) -> None:
        await self.inner.put(f"{thread_id}/{self.scope}", call_id, result)


def member_description(member: Any) -> str:
    """What the supervisor is told a member is for (an Agent's instructions, or its kind)."""
    if isinstance(member, Agent):
        return member.instructions
    return f"a {type(member).__name__} team; give it the whole task"


async def run_member(
    member: RunTarget,
    messages: list[Message],
    config: RunnableConfig,
    journal: ToolJournal,
    *,
    context: str | None = None,
) -> str | None:
    """Run ``member``'s graph on ``messages`` inside the current node; its answer.

    Events are forwarded (the member's own final answer is not: it is the team's
    intermediate result, not the run's). Interrupts propagate to the enclosing graph.
    """
    scope = str((config.get("configurable") or {}).get("checkpoint_ns") or member.name)
    graph = member.graph(journal=ScopedJournal(journal, scope)).compile()
    start = initial_state(messages, context=context)
    values: dict[str, Any] = {}
    async for mode, chunk in graph.astream(start, config, stream_mode=["custom", "values"]):
        if mode == "values":
            values = cast(dict[str, Any], chunk)
        elif not isinstance(chunk, FinalAnswerEvent):
            emit(event_adapter.validate_python(chunk))
    return values.get("final_answer")


def transfer_tool_name(member_name: str) -> str:
    return TRANSFER_PREFIX + re.sub(r"[^A-Za-z0-9_-]", "_", member_name)


class SupervisorState(AgentState, total=False):
    handoffs: int  # hand-offs made in the current turn


class Supervisor(AgentSpec):
    """A supervisor model routing a user's request among ``members`` (agents or teams).

    ``max_handoffs`` bounds delegations per turn (further ones are refused with an error
    observation asking to finish); ``max_steps`` bounds supervisor model calls per turn.
    A plain text reply (no tool call) is taken as the final answer, like ``finish``.
    """

    name: AgentName = "supervisor"
    model: ChatModelField
    members: list[Any] = Field(
        min_length=1,
        description="Agents or teams (anything with a name and a graph()), so teams nest.",
    )
    max_handoffs: int = Field(default=6, ge=1, le=100)
    max_steps: int = Field(default=12, ge=1, le=200)
    instructions: str = Field(
        default=DEFAULT_INSTRUCTIONS, description="May use {name} and {members}."
    )
    descriptions: dict[str, str] = Field(
        default_factory=dict,
        description="What each member is for, by name (default: its instructions).",
    )
    options: ChatOptions = Field(default_factory=ChatOptions)

    @model_validator(mode="after")
    def _check(self) -> Supervisor:
        for member in self.members:
            require_run_target(member, role=f"Supervisor {self.name!r}: a member")
        names = [m.name for m in self.members]
        tools = [transfer_tool_name(n) for n in names]
        if len(set(tools)) != len(tools):
            raise ValueError(
                f"member names must be unique (after mapping to tool names), got {names}"
            )
        if self.name in names:
            raise ValueError(f"the supervisor's name {self.name!r} is also a member's")
        unknown = sorted(set(self.descriptions) - set(names))
        if unknown:
            raise ValueError(f"descriptions name unknown members {unknown}; members are {names}")
        return self

    # --- tools the supervisor sees ---------------------------------------------------------

    def description_of(self, member: RunTarget) -> str:
        return self.descriptions.get(member.name) or member_description(member)

    def tool_specs(self) -> list[ToolSpec]:
        specs = [
            ToolSpec(
                name=transfer_tool_name(m.name),
                description=f"Hand a task to {m.name}: {self.description_of(m)}",
                parameters={
                    "type": "object",
                    "required": ["task"],
                    "properties": {
                        "task": {
                            "type": "string",
                            "description": f"The complete task for {m.name}.",
                        }
                    },
                },
            )
            for m in self.members
        ]
        specs.append(
            ToolSpec(
                name=FINISH,
                description="End the work and give the user the final answer.",
                parameters={
                    "type": "object",
                    "required": ["answer"],
                    "properties": {
                        "answer": {
                            "type": "string",
                            "description": "The complete answer for the user.",
                        }
                    },
                },
            )
        )
        return specs

    def system_prompt(self) -> str:
        roster = "\n".join(
            f"- {m.name} ({transfer_tool_name(m.name)}): {self.description_of(m)}"
            for m in self.members
        )
        return self.instructions.format(name=self.name, members=roster)

    # --- graph -----------------------------------------------------------------------------

    def graph(self, *, journal: ToolJournal | None = None) -> StateGraph:
        """open -> supervisor -> (handoff -> ... -> supervisor)* -> END."""
        journal = journal or MemoryToolJournal()

        async def handoff(state: SupervisorState, config: RunnableConfig) -> dict[str, Any]:
            return await self.handoff_step(state, config, journal)

        graph = StateGraph(SupervisorState)
        graph.add_node("open", self.open_step)
        graph.add_node("supervisor", self.supervisor_step)
        graph.add_node("handoff", handoff)
        graph.add_edge(START, "open")
        graph.add_edge("open", "supervisor")
        graph.add_conditional_edges("supervisor", self.route, ["handoff", "supervisor", END])
        graph.add_conditional_edges("handoff", self.route, ["handoff", "supervisor", END])
        return graph

    def route(self, state: SupervisorState) -> str:
        if state.get("final_answer") is not None:
            return END
        if _pending_calls(state_messages(state)):
            return "handoff"
        if state.get("steps", 0) >= self.max_steps:
            emit(
                ErrorEvent(
                    agent=self.name,
                    category="step_limit",
                    message=f"{self.name} stopped after {self.max_steps} steps without finishing.",
                )
            )
            return END
        return "supervisor"

    # --- nodes -----------------------------------------------------------------------------

    async def open_step(self, state: SupervisorState) -> dict[str, Any]:
        if not any(isinstance(m, UserMessage) for m in state_messages(state)):
            raise ValueError(f"Supervisor {self.name!r}: the thread has no user message")
        return {"handoffs": 0, "steps": 0, "final_answer": None}

    async def supervisor_step(self, state: SupervisorState) -> dict[str, Any]:
        history = [SystemMessage(content=self.system_prompt()), *state_messages(state)]
        result = await self._generate(history)
        reply = result.message.model_copy(update={"name": self.name})
        emit(MessageEvent(agent=self.name, content=reply.content, tool_calls=reply.tool_calls))
        update: dict[str, Any] = {"messages": [dump(reply)], "steps": state.get("steps", 0) + 1}
        return settle_reply(self.name, result, reply, update, empty_reply=_EMPTY_REPLY)

    async def handoff_step(
        self, state: SupervisorState, config: RunnableConfig, journal: ToolJournal
    ) -> dict[str, Any]:
        """Handle the first unanswered call of the supervisor's last reply."""
        call, *rest = _pending_calls(state_messages(state))
        emit(ToolCallEvent(agent=self.name, call=call))
        handoffs = state.get("handoffs", 0)
        update: dict[str, Any] = {}
        if call.name == FINISH:
            answer = call.arguments.get("answer")
            if isinstance(answer, str) and answer.strip():
                observation = self._observe(call, "Finished.")
                skipped = [self._observe(c, "Skipped: the work was finished.") for c in rest]
                emit(FinalAnswerEvent(agent=self.name, content=answer.strip()))
                final = AssistantMessage(content=answer.strip(), name=self.name)
                return {
                    "messages": [dump(observation), *[dump(s) for s in skipped], dump(final)],
                    "final_answer": answer.strip(),
                }
            result = self._error(
                call, ToolErrorKind.MISSING_PARAMETER, "finish needs a non-empty 'answer' string."
            )
            return {"messages": [dump(result)]}
        member = self._member_for(call.name)
        task = call.arguments.get("task")
        if member is None:
            result = self._error(
                call,
                ToolErrorKind.UNKNOWN_TOOL,
                f"there is no member or tool named {call.name!r}.",
                options=[s.name for s in self.tool_specs()],
            )
        elif not isinstance(task, str) or not task.strip():
            result = self._error(
                call,
                ToolErrorKind.MISSING_PARAMETER,
                f"{call.name} needs a non-empty 'task' string.",
            )
        elif handoffs >= self.max_handoffs:
            result = self._error(
                call,
                ToolErrorKind.REJECTED,
                f"the hand-off limit ({self.max_handoffs}) is reached; call "
                f"{FINISH} with the best answer you have.",
                category="handoff_limit",
            )
        else:
            answer = await run_member(member, [UserMessage(content=task)], config, journal)
            update["handoffs"] = handoffs + 1
            if answer is None:
                result = self._error(
                    call,
                    ToolErrorKind.TOOL_RAISED,
                    f"{member.name} stopped without an answer.",
                    category="member_failed",
                )
            else:
                result = self._observe(call, answer)
        update["messages"] = [dump(result)]
        return update

    # --- helpers ---------------------------------------------------------------------------

    async def _generate(self, messages: list[Message]) -> ChatResult:
        return await stream_reply(
            self.model, self.name, messages, tools=self.tool_specs(), options=self.options
        )

    def _member_for(self, tool_name: str) -> RunTarget | None:
        return next((m for m in self.members if transfer_tool_name(m.name) == tool_name), None)

    def _observe(self, call: ToolCall, content: str) -> ToolMessage:
        message = ToolMessage(tool_call_id=call.id, name=call.name, content=content)
        emit(ToolResultEvent(agent=self.name, call_id=call.id, name=call.name, content=content))
        return message

    def _error(
        self,
        call: ToolCall,
        kind: ToolErrorKind,
        text: str,
        *,
        options: list[str] | None = None,
        category: str | None = None,
    ) -> ToolMessage:
        error = ToolCallError(
            kind=kind, message=text, tool_name=call.name, call_id=call.id, options=options or []
        )
        content = error.for_model()
        emit(ErrorEvent(agent=self.name, message=content, category=category or kind.value))
        emit(
            ToolResultEvent(
                agent=self.name,
                call_id=call.id,
                name=call.name,
                content=content,
                is_error=True,
                error_kind=kind.value,
            )
        )
        return ToolMessage(
            tool_call_id=call.id,
            name=call.name,
            content=content,
            is_error=True,
            error_kind=kind.value,
        )


def _pending_calls(messages: list[Message]) -> list[ToolCall]:
    """The calls of the last assistant message that have no tool result yet."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, AssistantMessage):
            answered = {m.tool_call_id for m in messages[index + 1 :] if isinstance(m, ToolMessage)}
            return [c for c in message.tool_calls if c.id not in answered]
    return []
