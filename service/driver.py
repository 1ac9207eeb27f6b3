"""Drives a runner's compiled graph for one run, in LangGraph's own stream modes.

``Runner.stream`` and ``Runner.resume_stream`` yield hanlin's typed events only; the Agent
Protocol also streams the graph's state (``values``) and each node's update (``updates``).
This uses the runner's own perception step and graph stream, with the same start (the
perceived message as the initial state), resume (``Command(resume=decision)``) and continue
(``None``, from the last checkpoint) payloads, adding those two modes.

Checkpoints are written synchronously (``durability="sync"``): a step starts only after the
previous one is saved, so a worker whose lease was taken over (its checkpoint write is
refused) cannot go on to the next step.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from langgraph.types import Command

from hanlin.llm.messages import UserMessage
from hanlin.runtime import (
    ApprovalDecision,
    ErrorEvent,
    Event,
    Runner,
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


async def drive(
    runner: Runner, plan: StartPlan, thread_id: str, user_id: str
) -> AsyncIterator[DriveItem]:
    """The run's stream: graph ``values`` and ``updates``, hanlin events as ``custom``."""
    payload: Any = None
    if plan.kind == "input" and plan.message is not None:
        try:
            message = await runner.perceive(plan.message)
        except Exception as exc:  # a bad attachment fails this run only
            yield "custom", _error(exc, "perception")
            return
        payload = initial_state([message])
    elif plan.kind == "decision" and plan.decision is not None:
        payload = Command(resume=plan.decision.model_dump())
    try:
        async for item in runner.graph_stream(
            payload, thread_id, user_id, values=True, durability="sync"
        ):
            yield item
    except LeaseLost:
        raise
    except Exception as exc:  # the thread stays at its last checkpoint
        yield "custom", _error(exc, "run_failed")


def _error(exc: Exception, category: str) -> Event:
    return ErrorEvent(message=f"{type(exc).__name__}: {exc}", category=category)
