"""Chat message types shared by every backend, the runtime and the training data.

Messages are plain pydantic models with a ``role`` discriminator so they serialize to JSON
(checkpoints, trajectories, the HTTP wire format) without pickling anything.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextPart(_Part):
    type: Literal["text"] = "text"
    text: str


class ImagePart(_Part):
    """An image given by URL (``http(s)://`` or ``data:``) or by a local path."""

    type: Literal["image"] = "image"
    url: str | None = None
    path: str | None = None
    media_type: str | None = None


class AudioPart(_Part):
    type: Literal["audio"] = "audio"
    path: str | None = None
    data_base64: str | None = None
    media_type: str | None = None


class FilePart(_Part):
    """A document (PDF, DOCX, HTML, CSV, ...) for perception to turn into text, given by a
    local path or inline (``data_base64``), as a message sent over HTTP carries it."""

    type: Literal["file"] = "file"
    path: str | None = None
    data_base64: str | None = None
    name: str | None = None
    media_type: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> FilePart:
        if (self.path is None) == (self.data_base64 is None):
            raise ValueError("a file part needs exactly one of path and data_base64")
        return self


ContentPart = Annotated[TextPart | ImagePart | AudioPart | FilePart, Field(discriminator="type")]


class ToolCall(BaseModel):
    """One requested tool invocation. ``id`` is stable: results are recorded under it."""

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


def new_call_id() -> str:
    """An id for a tool call the model or server left unnamed; results are recorded under it."""
    return f"call_{uuid.uuid4().hex[:12]}"


class SystemMessage(BaseModel):
    role: Literal["system"] = "system"
    content: str


class UserMessage(BaseModel):
    role: Literal["user"] = "user"
    content: str | list[ContentPart]
    name: str | None = None

    def text(self) -> str:
        """The text of the message, ignoring non-text parts."""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text for p in self.content if isinstance(p, TextPart))


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    name: str | None = Field(default=None, description="The agent that spoke, in teams.")


class ToolMessage(BaseModel):
    role: Literal["tool"] = "tool"
    tool_call_id: str
    name: str
    content: str
    is_error: bool = False
    error_kind: str | None = None


Message = Annotated[
    SystemMessage | UserMessage | AssistantMessage | ToolMessage,
    Field(discriminator="role"),
]


class _MessageList(BaseModel):
    messages: list[Message]


def messages_from_dicts(items: list[dict[str, Any]]) -> list[Message]:
    """Validate plain dicts (from JSON or a checkpoint) into typed messages."""
    return _MessageList.model_validate({"messages": items}).messages


def messages_to_dicts(messages: list[Message]) -> list[dict[str, Any]]:
    return [m.model_dump(mode="json", exclude_none=True) for m in messages]
