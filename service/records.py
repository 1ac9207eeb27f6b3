"""Threads and runs as the service stores them: pydantic models that round-trip through
Redis hashes (every field a string; dicts as JSON)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

RunStatus = Literal["pending", "running", "error", "success", "timeout", "interrupted"]
ThreadStatus = Literal["idle", "busy", "interrupted", "error"]
MultitaskStrategy = Literal["reject", "interrupt", "rollback", "enqueue"]
StreamMode = Literal["values", "updates", "messages", "messages-tuple", "custom"]

FINAL_STATUSES: frozenset[str] = frozenset({"error", "success", "timeout", "interrupted"})
_JSON_FIELDS = ("metadata", "request", "config")


def default_modes() -> list[StreamMode]:
    return ["values"]


def utc_now() -> datetime:
    return datetime.now(UTC)


class RunKwargs(BaseModel):
    """What the worker needs to execute a run: its input, or its answer to an approval."""

    input: dict[str, Any] | None = None
    command: dict[str, Any] | None = None
    stream_mode: list[StreamMode] = Field(default_factory=default_modes)
    config: dict[str, Any] | None = None


class _Record(BaseModel):
    def to_hash(self) -> dict[Any, Any]:
        """Every field as a string, ready for HSET."""
        out: dict[Any, Any] = {}
        for name, value in self.model_dump(mode="json").items():
            if name in _JSON_FIELDS:
                out[name] = json.dumps(value)
            elif value is None:
                out[name] = ""
            elif isinstance(value, bool):
                out[name] = "1" if value else "0"
            else:
                out[name] = str(value)
        return out

    @classmethod
    def from_hash(cls, raw: Mapping[Any, Any]) -> Any:
        data: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            if name not in raw:
                continue
            value = raw[name]
            if name in _JSON_FIELDS:
                if value:
                    data[name] = json.loads(value)
            elif value == "" and not field.is_required() and field.default is None:
                data[name] = None
            else:
                data[name] = value
        return cls.model_validate(data)


class ThreadRecord(_Record):
    thread_id: str
    owner: str
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, Any] = Field(default_factory=dict)
    status: ThreadStatus = "idle"
    assistant_id: str | None = None
    active_run: str | None = None
    # The latest run's ``config`` (for an assistant built from its configuration).
    config: dict[str, Any] = Field(default_factory=dict)


class RunRecord(_Record):
    run_id: str
    thread_id: str
    assistant_id: str
    owner: str
    created_at: datetime
    updated_at: datetime
    status: RunStatus = "pending"
    metadata: dict[str, Any] = Field(default_factory=dict)
    multitask_strategy: MultitaskStrategy = "reject"
    request: RunKwargs = Field(default_factory=RunKwargs)
    attempts: int = 0
    fence: int = 0
    error: str | None = None
    error_kind: str | None = None
    cancel: bool = False
    start_checkpoint: str | None = None
    worker: str | None = None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES
