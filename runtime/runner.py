"""Runs agents by thread id: streams typed events, pauses for people, resumes after crashes.

The graph state lives in the checkpointer (Redis in production), so any process holding a
``Runner`` for the same agent can continue any thread: after a restart, after ``kill -9``,
or when a person answers an approval hours later.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command, StateSnapshot, StreamMode
from pydantic import BaseModel, Field

from hanlin.contract.approval import ApprovalDecision
from hanlin.contract.events import (
    ErrorEvent,
    Event,
    FinalAnswerEvent,
    InterruptEvent,
    event_adapter,
)
from hanlin.contract.journal import MemoryToolJournal, ToolJournal
from hanlin.contract.state import AgentState, initial_state, state_messages
from hanlin.contract.target import Perceiving, RunTarget, require_run_target
from hanlin.llm.messages import Message, UserMessage


class RunResult(BaseModel):
    thread_id: str
    final_answer: str | None = None
    events: list[Event] = Field(default_factory=list)
    pending: list[InterruptEvent] = Field(default_factory=list)
    error: str | None = None


class Runner:
    def __init__(
        self,
        target: RunTarget,
        *,
        checkpointer: BaseCheckpointSaver | None = None,
        journal: ToolJournal | None = None,
        recursion_limit: int = 200,
        user_id: str = "default",
    ) -> None:
        self.journal = journal or MemoryToolJournal()
        self.target = require_run_target(target, role="Runner target")
        self.graph = target.graph(journal=self.journal).compile(
            checkpointer=checkpointer or InMemorySaver()
        )
        self.recursion_limit = recursion_limit
        self.user_id = user_id

    def config(self, thread_id: str, user_id: str | None = None) -> RunnableConfig:
        """The LangGraph config of a thread: its id, whose memory, the recursion limit."""
        return {
            "configurable": {"thread_id": thread_id, "user_id": user_id or self.user_id},
            "recursion_limit": self.recursion_limit,
        }

    def stream(
        self, thread_id: str, message: str | UserMessage, *, user_id: str | None = None
    ) -> AsyncIterator[Event]:
        """Start a new turn on ``thread_id`` and stream its events. ``user_id`` selects whose
        long-term memory the agents use (default: the runner's)."""
        user = UserMessage(content=message) if isinstance(message, str) else message
        return self._start(user, thread_id, user_id)

    async def _start(
        self, user: UserMessage, thread_id: str, user_id: str | None
    ) -> AsyncIterator[Event]:
        try:
            user = await self.perceive(user)
        except Exception as exc:  # a bad attachment fails this turn only; nothing is stored
            yield ErrorEvent(message=f"{type(exc).__name__}: {exc}", category="perception")
            return
        start = initial_state([user])
        async for event in self._drive(start, thread_id, user_id):
            yield event

    async def resume_stream(
        self,
        thread_id: str,
        decision: ApprovalDecision | None = None,
        *,
        user_id: str | None = None,
    ) -> AsyncIterator[Event]:
        """Continue a paused or interrupted thread; ``decision`` answers a pending approval."""
        pending = await self.pending(thread_id)
        if pending and decision is None:
            yield ErrorEvent(
                message=f"thread {thread_id!r} waits for an approval decision",
                category="approval_required",
            )
            return
        payload: Command[Any] | None = (
            Command(resume=decision.model_dump()) if decision is not None else None
        )
        async for event in self._drive(payload, thread_id, user_id):
            yield event

    async def perceive(self, message: UserMessage) -> UserMessage:
        """The turn's one perception step: the target's ``prepare`` turns attachments into what
        its models can read. Raises what perception raises (a corrupt file, say)."""
        if isinstance(self.target, Perceiving):
            return await self.target.prepare(message)
        return message

    async def graph_stream(
        self,
        payload: Any,
        thread_id: str,
        user_id: str | None = None,
        *,
        values: bool = False,
        durability: Literal["sync", "async", "exit"] | None = None,
    ) -> AsyncIterator[tuple[Literal["custom", "updates", "values"], Any]]:
        """The compiled graph's own stream for ``payload`` (an initial state, a
        ``Command(resume=...)``, or None to continue): hanlin events and interrupts as
        ``("custom", event)``, each node's ``("updates", dict)``, and with ``values`` the whole
        state after each step. Errors propagate; the thread stays at its last checkpoint."""
        modes: list[StreamMode] = ["custom", "updates"]
        if values:
            modes.append("values")
        async for mode, chunk in self.graph.astream(
            payload, self.config(thread_id, user_id), stream_mode=modes, durability=durability
        ):
            if mode == "custom":
                yield "custom", event_adapter.validate_python(chunk)
            elif mode == "updates":
                yield "updates", chunk
                for item in cast(dict[str, Any], chunk).get("__interrupt__", ()):
                    yield "custom", interrupt_event(item)
            else:
                yield "values", chunk

    async def _drive(
        self, payload: Any, thread_id: str, user_id: str | None
    ) -> AsyncIterator[Event]:
        try:
            async for mode, item in self.graph_stream(payload, thread_id, user_id):
                if mode == "custom":
                    yield item
        except Exception as exc:  # the thread stays at its last checkpoint and can be resumed
            yield ErrorEvent(message=f"{type(exc).__name__}: {exc}", category="run_failed")

    async def run(
        self, thread_id: str, message: str | UserMessage, *, user_id: str | None = None
    ) -> RunResult:
        return await _collect(thread_id, self.stream(thread_id, message, user_id=user_id))

    async def resume(
        self,
        thread_id: str,
        decision: ApprovalDecision | None = None,
        *,
        user_id: str | None = None,
    ) -> RunResult:
        return await _collect(thread_id, self.resume_stream(thread_id, decision, user_id=user_id))

    async def pending(self, thread_id: str) -> list[InterruptEvent]:
        snapshot = await self.graph.aget_state(self.config(thread_id))
        return [interrupt_event(i) for i in snapshot.interrupts]

    async def messages(self, thread_id: str) -> list[Message]:
        snapshot = await self.graph.aget_state(self.config(thread_id))
        return state_messages(cast(AgentState, snapshot.values)) if snapshot.values else []

    async def state(self, thread_id: str) -> dict[str, Any]:
        """The thread's current graph state (plain data), e.g. a team's stop reason."""
        snapshot = await self.graph.aget_state(self.config(thread_id))
        return dict(snapshot.values or {})

    async def is_unfinished(self, thread_id: str) -> bool:
        """True when the thread stopped mid-run (crash, error) or waits for a person."""
        return has_work_left(await self.graph.aget_state(self.config(thread_id)))


def has_work_left(snapshot: StateSnapshot) -> bool:
    """Whether a thread's state still has steps to run. ``next`` alone misses a process that
    died after a step's writes were saved but before the next checkpoint: LangGraph then
    names no next node, while the saved step still shows among the pending ``tasks``."""
    return bool(snapshot.next or snapshot.tasks)


def interrupt_event(item: Any) -> InterruptEvent:
    """A LangGraph interrupt as hanlin's event: who asks, and what."""
    value = item.value if isinstance(item.value, dict) else {"value": item.value}
    return InterruptEvent(agent=value.get("agent"), interrupt_id=str(item.id), request=value)


async def _collect(thread_id: str, events: AsyncIterator[Event]) -> RunResult:
    result = RunResult(thread_id=thread_id)
    async for event in events:
        result.events.append(event)
        if isinstance(event, FinalAnswerEvent):
            result.final_answer = event.content
        elif isinstance(event, InterruptEvent):
            result.pending.append(event)
        elif isinstance(event, ErrorEvent) and event.category in {
            "run_failed",
            "step_limit",
            "approval_required",
            "perception",
        }:
            result.error = event.message
    return result
