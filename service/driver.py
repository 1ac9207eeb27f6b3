"""Drives a runner's compiled graph for one run, in LangGraph's own stream modes.

``Runner.stream`` and ``Runner.resume_stream`` yield hanlin's typed events only; the Agent
Protocol also streams the graph's state (``values``) and each node's update (``updates``).
This drives the same compiled graph, checkpointer and config the runner uses, with the same
start (perception, then the initial state), resume (``Command(resume=decision)``) and
continue (``None``, from the last checkpoint) payloads, adding those two modes.

Checkpoints are written synchronously (``durability="sync"``): a step starts only after the
previous one is saved, so a worker whose lease was taken over (its checkpoint write is
refused) cannot go on to the next step.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal, cast

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from hanlin.llm.messages import UserMessage
from hanlin.runtime import (
    ApprovalDecision,
    ErrorEvent,
    Event,
    InterruptEvent,
    Perceiving,
    Runner,
    event_adapter,
    initial_state,
)
from hanlin.service.lease import LeaseLost

DriveItem = tuple[Literal["values", "updates", "custom"], Any]


@dataclass(frozen=True)
class StartPlan:
    """How a run enters its thread: a new message, an approval answer, or a continuation."""

    kind: Literal["input", "decision", "continue", "done"]
    message: UserMessage | None = None
    decision: ApprovalDecision | None = None


def run_config(runner: Runner, thread_id: str, user_id: str) -> RunnableConfig:
    return {
        "configurable": {"thread_id": thread_id, "user_id": user_id},
        "recursion_limit": runner.recursion_limit,
    }


def interrupt_event(item: Any) -> InterruptEvent:
    value = item.value if isinstance(item.value, dict) else {"value": item.value}
    return InterruptEvent(agent=value.get("agent"), interrupt_id=str(item.id), request=value)


async def drive(
    runner: Runner, plan: StartPlan, thread_id: str, user_id: str
) -> AsyncIterator[DriveItem]:
    """The run's stream: graph ``values`` and ``updates``, hanlin events as ``custom``."""
    payload: Any = None
    if plan.kind == "input" and plan.message is not None:
        message = plan.message
        if isinstance(runner.target, Perceiving):
            try:
                message = await runner.target.prepare(message)
            except Exception as exc:  # a bad attachment fails this run only
                yield "custom", _error(exc, "perception")
                return
        payload = initial_state([message])
    elif plan.kind == "decision" and plan.decision is not None:
        payload = Command(resume=plan.decision.model_dump())
    try:
        async for mode, chunk in runner.graph.astream(
            payload,
            run_config(runner, thread_id, user_id),
            stream_mode=["custom", "updates", "values"],
            durability="sync",
        ):
            if mode == "custom":
                yield "custom", event_adapter.validate_python(chunk)
            elif mode == "updates":
                yield "updates", chunk
                for item in cast(dict[str, Any], chunk).get("__interrupt__", ()):
                    yield "custom", interrupt_event(item)
            else:
                yield "values", chunk
    except LeaseLost:
        raise
    except Exception as exc:  # the thread stays at its last checkpoint
        yield "custom", _error(exc, "run_failed")


def _error(exc: Exception, category: str) -> Event:
    return ErrorEvent(message=f"{type(exc).__name__}: {exc}", category=category)
