"""A thread's checkpointed state in the Agent Protocol's ``ThreadState`` shape.

``values`` is hanlin's graph state as it is (``messages`` are hanlin's message dicts);
pending approvals appear in ``interrupts`` and in the waiting task's ``interrupts``.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import StateSnapshot
from pydantic_core import to_jsonable_python

from hanlin.runtime import Runner
from hanlin.service.wire import interrupts_json


def _checkpoint(thread_id: str, config: Any) -> dict[str, Any] | None:
    if not config:
        return None
    configurable = config.get("configurable", {})
    return {
        "thread_id": thread_id,
        "checkpoint_ns": configurable.get("checkpoint_ns", ""),
        "checkpoint_id": configurable.get("checkpoint_id"),
        "checkpoint_map": configurable.get("checkpoint_map"),
    }


def empty_state(thread_id: str) -> dict[str, Any]:
    return {
        "values": {},
        "next": [],
        "tasks": [],
        "checkpoint": _checkpoint(thread_id, {"configurable": {"checkpoint_ns": ""}}),
        "metadata": {},
        "created_at": None,
        "parent_checkpoint": None,
        "interrupts": [],
    }


def state_json(thread_id: str, snapshot: StateSnapshot) -> dict[str, Any]:
    tasks = [
        {
            "id": task.id,
            "name": task.name,
            "error": None if task.error is None else repr(task.error),
            "interrupts": interrupts_json(task.interrupts),
            "checkpoint": None,
            "state": None,
            "result": to_jsonable_python(task.result, fallback=repr),
        }
        for task in snapshot.tasks
    ]
    return {
        "values": to_jsonable_python(snapshot.values or {}, fallback=repr),
        "next": list(snapshot.next),
        "tasks": tasks,
        "checkpoint": _checkpoint(thread_id, snapshot.config),
        "metadata": to_jsonable_python(snapshot.metadata or {}, fallback=repr),
        "created_at": snapshot.created_at,
        "parent_checkpoint": _checkpoint(thread_id, snapshot.parent_config),
        "interrupts": interrupts_json(snapshot.interrupts),
    }


async def thread_state(
    runner: Runner, thread_id: str, owner: str, *, checkpoint_id: str | None = None
) -> dict[str, Any] | None:
    """The latest state, or the one at ``checkpoint_id`` (None when there is no such one)."""
    config = runner.config(thread_id, owner)
    if checkpoint_id is not None:
        config["configurable"] = {**config["configurable"], "checkpoint_id": checkpoint_id}
    snapshot = await runner.graph.aget_state(config)
    if not snapshot.config or not snapshot.values:
        return None if checkpoint_id is not None else empty_state(thread_id)
    return state_json(thread_id, snapshot)


async def thread_history(
    runner: Runner, thread_id: str, owner: str, *, limit: int, before: str | None
) -> list[dict[str, Any]]:
    config = runner.config(thread_id, owner)
    before_config: RunnableConfig | None = None
    if before:
        before_config = {
            "configurable": {"thread_id": thread_id, "checkpoint_ns": "", "checkpoint_id": before}
        }
    return [
        state_json(thread_id, snapshot)
        async for snapshot in runner.graph.aget_state_history(
            config, limit=limit, before=before_config
        )
    ]


def interrupts_by_task(state: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The ``Thread.interrupts`` shape: task id -> its pending interrupts."""
    return {task["id"]: task["interrupts"] for task in state["tasks"] if task["interrupts"]}
