"""Request bodies of the Agent Protocol endpoints (as the LangGraph SDK sends them), and the
resources the API answers with. Fields the SDK always sends but hanlin does not act on are
accepted and ignored; fields that would change a run in ways hanlin cannot honour are
refused with 422 rather than silently dropped."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hanlin.service.records import MultitaskStrategy, StreamMode, ThreadStatus, default_modes

THREAD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
UNSUPPORTED_RUN_FIELDS = (
    "interrupt_before",
    "interrupt_after",
    "checkpoint",
    "checkpoint_id",
    "webhook",
    "after_seconds",
)


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ThreadCreate(_Body):
    thread_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    if_exists: Literal["raise", "do_nothing"] = "raise"

    @field_validator("thread_id")
    @classmethod
    def _safe_id(cls, value: str | None) -> str | None:
        if value is not None and not THREAD_ID.match(value):
            raise ValueError("a thread id is 1-128 letters, digits, '.', '_' or '-'")
        return value


class ThreadPatch(_Body):
    metadata: dict[str, Any] = Field(default_factory=dict)


class ThreadSearch(_Body):
    metadata: dict[str, Any] | None = None
    values: dict[str, Any] | None = None
    ids: list[str] | None = None
    status: ThreadStatus | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)
    sort_by: Literal["thread_id", "status", "created_at", "updated_at"] = "created_at"
    sort_order: Literal["asc", "desc"] = "desc"

    @field_validator("values")
    @classmethod
    def _no_values(cls, value: dict[str, Any] | None) -> None:
        if value:
            raise ValueError("searching threads by values is not supported; use metadata")
        return None


class HistoryRequest(_Body):
    limit: int = Field(default=10, ge=1, le=1000)
    before: str | dict[str, Any] | None = None


class AssistantSearch(_Body):
    metadata: dict[str, Any] | None = None
    graph_id: str | None = None
    name: str | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)


class RunCreate(_Body):
    assistant_id: str
    input: dict[str, Any] | None = None
    command: dict[str, Any] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] | None = None
    stream_mode: list[StreamMode] = Field(default_factory=default_modes)
    multitask_strategy: MultitaskStrategy = "reject"
    if_not_exists: Literal["create", "reject"] = "reject"
    on_disconnect: Literal["cancel", "continue"] = "continue"
    interrupt_before: Any = None
    interrupt_after: Any = None
    checkpoint: Any = None
    checkpoint_id: Any = None
    webhook: Any = None
    after_seconds: Any = None

    @field_validator("stream_mode", mode="before")
    @classmethod
    def _modes(cls, value: Any) -> Any:
        modes = [value] if isinstance(value, str) else value
        return list(dict.fromkeys(modes)) if isinstance(modes, list) else modes

    @field_validator("multitask_strategy")
    @classmethod
    def _strategy(cls, value: MultitaskStrategy) -> MultitaskStrategy:
        if value == "rollback":
            raise ValueError("multitask_strategy 'rollback' is not supported")
        return value

    @model_validator(mode="after")
    def _unsupported(self) -> RunCreate:
        given = [f for f in UNSUPPORTED_RUN_FIELDS if getattr(self, f) not in (None, [], "")]
        if given:
            raise ValueError(f"not supported by hanlin's service: {', '.join(given)}")
        return self


class ThreadOut(BaseModel):
    thread_id: str
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, Any]
    status: ThreadStatus
    values: dict[str, Any] | None = None
    interrupts: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)


class RunOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    run_id: str
    thread_id: str
    assistant_id: str
    created_at: datetime
    updated_at: datetime
    status: str
    metadata: dict[str, Any]
    multitask_strategy: MultitaskStrategy
    request: dict[str, Any] = Field(alias="kwargs")
    attempt: int = 0
    error: str | None = None


class AssistantOut(BaseModel):
    assistant_id: str
    graph_id: str
    name: str
    description: str | None
    config: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    version: int = 1
    created_at: datetime
    updated_at: datetime
