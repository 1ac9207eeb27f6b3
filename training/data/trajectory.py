"""The trajectory: one query, the tools offered, and the turns that followed.

Trajectories are stored as JSON lines and reuse hanlin's own message types, so a recorded
run, a synthetic example and a file from elsewhere all render through the same prompt code
the local backends use at inference time: what the model is trained on is what it will see.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from hanlin.llm.chat_model import ToolSpec
from hanlin.llm.messages import AssistantMessage, Message, SystemMessage, ToolMessage, UserMessage

Source = Literal["synthetic", "recorded", "file"]


class TrajectoryError(ValueError):
    """A trajectory file or record that cannot be used, with the line that failed."""


class Trajectory(BaseModel):
    """``messages`` start with an optional system message and the user's query.

    Every ``ToolMessage`` answers a call made by an earlier assistant turn, so the tool
    feedback that marks an erroneous step (MAE) can be found by call id. An assistant may
    call a tool that is not offered: that is a hallucination the data should be able to show.
    """

    id: str
    tools: list[ToolSpec] = Field(default_factory=list)
    messages: list[Message]
    source: Source = "file"

    @model_validator(mode="after")
    def _check_turns(self) -> Trajectory:
        if len({tool.name for tool in self.tools}) != len(self.tools):
            raise ValueError(f"trajectory {self.id}: two tools share a name")
        body = [m for m in self.messages if not isinstance(m, SystemMessage)]
        if not body or not isinstance(body[0], UserMessage):
            raise ValueError(
                f"trajectory {self.id}: the first non-system message must be the query"
            )
        if not any(isinstance(m, AssistantMessage) for m in body):
            raise ValueError(f"trajectory {self.id}: it has no assistant turn to learn from")
        open_calls: set[str] = set()
        for message in body:
            if isinstance(message, AssistantMessage):
                open_calls |= {call.id for call in message.tool_calls}
            elif isinstance(message, ToolMessage) and message.tool_call_id not in open_calls:
                raise ValueError(
                    f"trajectory {self.id}: tool result {message.tool_call_id!r} answers "
                    "no earlier call"
                )
        return self

    @property
    def query(self) -> str:
        first = next(m for m in self.messages if isinstance(m, UserMessage))
        return first.content if isinstance(first.content, str) else ""


def read_trajectories(path: Path) -> Iterator[Trajectory]:
    """Trajectories from a JSON-lines file; a bad line names its number and the problem."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield Trajectory.model_validate_json(line)
            except ValidationError as exc:
                raise TrajectoryError(f"{path}:{number}: not a valid trajectory: {exc}") from exc


def write_trajectories(path: Path, trajectories: Iterable[Trajectory]) -> int:
    """Write JSON lines (parent folders created); returns how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for trajectory in trajectories:
            handle.write(trajectory.model_dump_json(exclude_defaults=False) + "\n")
            count += 1
    return count
