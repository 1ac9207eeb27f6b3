"""hanlin's own recorded runs as training trajectories.

A thread's checkpointed ``AgentState["messages"]`` already holds every turn in hanlin's
message types, including failed calls with their categorized feedback, so a run is a
trajectory as it stands: MAE finds its erroneous steps the same way as in any other data.
The system prompt is not stored in the state (the ReAct loop adds it on every model call),
so it is taken from the agent, or given.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from hanlin.llm.chat_model import ToolSpec
from hanlin.llm.messages import Message, SystemMessage, messages_from_dicts
from hanlin.runtime.runner import Runner
from hanlin.tools.registry import ToolRegistry
from hanlin.training.data.trajectory import Trajectory, write_trajectories

ToolSource = ToolRegistry | Sequence[ToolSpec]


def _specs(tools: ToolSource) -> list[ToolSpec]:
    if isinstance(tools, ToolRegistry):
        return tools.specs()
    specs = list(tools)
    wrong = [item for item in specs if not isinstance(item, ToolSpec)]
    if wrong:
        raise TypeError(f"tools must be a ToolRegistry or ToolSpecs, got {type(wrong[0]).__name__}")
    return specs


def trajectory_from_messages(
    messages: Sequence[Message | dict[str, Any]],
    tools: ToolSource,
    *,
    trajectory_id: str,
    system: str | None = None,
) -> Trajectory:
    """A trajectory from messages as stored in ``AgentState["messages"]`` (dicts) or typed.

    ``system`` is put first unless the messages already start with a system message.
    """
    if not messages:
        raise ValueError(f"run {trajectory_id!r} has no messages to learn from")
    typed = messages_from_dicts(
        [m if isinstance(m, dict) else m.model_dump(mode="json") for m in messages]
    )
    if system and not isinstance(typed[0], SystemMessage):
        typed.insert(0, SystemMessage(content=system))
    return Trajectory(id=trajectory_id, tools=_specs(tools), messages=typed, source="recorded")


def _target_tools(runner: Runner) -> ToolSource:
    registry = getattr(runner.target, "registry", None)
    if not callable(registry):
        raise TypeError(
            f"{type(runner.target).__name__} does not say which tools it offers; "
            "pass tools= (a ToolRegistry or ToolSpecs)"
        )
    return registry()


async def trajectory_from_runner(
    runner: Runner,
    thread_id: str,
    *,
    tools: ToolSource | None = None,
    system: str | None = None,
    trajectory_id: str | None = None,
) -> Trajectory:
    """The checkpointed thread ``thread_id`` as a trajectory.

    By default the tools and system prompt are the runner's agent's (``Agent.registry()``,
    ``Agent.instructions``): what its model was shown during the run.
    """
    messages = await runner.messages(thread_id)
    if not messages:
        raise ValueError(f"thread {thread_id!r} has no checkpointed messages")
    if system is None:
        system = getattr(runner.target, "instructions", None)
    return trajectory_from_messages(
        messages,
        tools if tools is not None else _target_tools(runner),
        trajectory_id=trajectory_id or f"run-{thread_id}",
        system=system,
    )


async def export_threads(
    runner: Runner,
    thread_ids: Iterable[str],
    path: Path,
    *,
    tools: ToolSource | None = None,
    system: str | None = None,
) -> int:
    """Write the given threads as JSON-lines trajectories; returns how many were written."""
    trajectories = [
        await trajectory_from_runner(runner, thread_id, tools=tools, system=system)
        for thread_id in thread_ids
    ]
    return write_trajectories(path, trajectories)
