"""Training samples: one per assistant turn, with everything before it as context.

This is the reference's split: sample k is the conversation up to the k-th assistant turn,
and only that turn is learned. Under MAE (eq. 8.1) an erroneous turn is never a target, but
it stays in the context of later turns, since the model must still learn to recover from
the feedback it got.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from hanlin.llm.chat_model import ToolSpec
from hanlin.llm.messages import AssistantMessage, Message, ToolMessage
from hanlin.training.data.error_steps import erroneous_steps
from hanlin.training.data.trajectory import Trajectory


class TrainingSample(BaseModel):
    """``step`` is the target's index in the trajectory's messages (as in ``erroneous_steps``)."""

    trajectory_id: str
    tools: list[ToolSpec]
    context: list[Message]
    target: AssistantMessage
    erroneous: bool
    step: int


def split_into_samples(trajectory: Trajectory, *, mask_erroneous: bool) -> list[TrainingSample]:
    """One sample per assistant turn. ``mask_erroneous=True`` (MAE) leaves out the turns the
    tool feedback marks as erroneous; ``False`` (plain SFT) keeps every turn as a target."""
    bad = erroneous_steps(trajectory)
    samples = []
    for index, message in enumerate(trajectory.messages):
        if not isinstance(message, AssistantMessage) or (mask_erroneous and index in bad):
            continue
        samples.append(
            TrainingSample(
                trajectory_id=trajectory.id,
                tools=trajectory.tools,
                context=list(trajectory.messages[:index]),
                target=message,
                erroneous=index in bad,
                step=index,
            )
        )
    return samples


def samples_of(trajectories: Iterable[Trajectory], *, mask_erroneous: bool) -> list[TrainingSample]:
    """``split_into_samples`` over many trajectories, in order."""
    return [s for t in trajectories for s in split_into_samples(t, mask_erroneous=mask_erroneous)]


def gold_call_samples(trajectories: Iterable[Trajectory]) -> list[TrainingSample]:
    """The first assistant turn of each trajectory without erroneous steps: the single next
    call (or the direct answer) a model should produce for the query. For evaluation and
    the per-call reward of RL."""
    golds = []
    for trajectory in trajectories:
        if erroneous_steps(trajectory):
            continue
        golds.extend(split_into_samples(trajectory, mask_erroneous=True)[:1])
    return golds


def _successful_calls(trajectory: Trajectory) -> int:
    return sum(1 for m in trajectory.messages if isinstance(m, ToolMessage) and not m.is_error)


def describe(trajectories: Iterable[Trajectory]) -> dict[str, Any]:
    """Dataset counts: how much is learned, how much MAE masks, and the mix of cases.

    ``no_tool``: no call at all; ``single_tool`` / ``multi_tool``: one / several successful
    calls; ``parallel_turns``: turns making more than one call.
    """
    counts: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    offered: set[str] = set()
    for trajectory in trajectories:
        bad = erroneous_steps(trajectory)
        turns = [m for m in trajectory.messages if isinstance(m, AssistantMessage)]
        calls = sum(len(m.tool_calls) for m in turns)
        successes = _successful_calls(trajectory)
        counts.update(
            trajectories=1,
            samples=len(turns),
            mae_samples=len(turns) - len(bad),
            erroneous_steps=len(bad),
            with_errors=bool(bad),
            tool_calls=calls,
            no_tool=calls == 0,
            single_tool=successes == 1,
            multi_tool=successes > 1,
            parallel_turns=sum(1 for m in turns if len(m.tool_calls) > 1),
        )
        kinds.update(
            m.error_kind or "error"
            for m in trajectory.messages
            if isinstance(m, ToolMessage) and (m.is_error or m.error_kind)
        )
        offered.update(tool.name for tool in trajectory.tools)
    names = (
        "trajectories",
        "samples",
        "mae_samples",
        "erroneous_steps",
        "with_errors",
        "tool_calls",
        "no_tool",
        "single_tool",
        "multi_tool",
        "parallel_turns",
    )
    return {
        **{name: counts[name] for name in names},
        "tools_offered": len(offered),
        "error_kinds": dict(sorted(kinds.items())),
    }
