"""The ``ChatModel`` protocol every backend implements, and the types around it.

Backends implement ``stream``; ``chat`` is derived from it by ``BaseChatModel`` so every
backend streams, and the last stream item always carries the complete, parsed result.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from hanlin.llm.messages import AssistantMessage, Message
from hanlin.llm.tool_errors import ToolCallError


class ToolSpec(BaseModel):
    """A tool as a model sees it: OpenAI function format."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})

    def openai_format(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


# How an in-process model decides whether to call a tool when ``tool_choice="auto"``:
# ``free`` lets it write whatever it likes (small models then almost never call); the others
# are the decision policies in ``hanlin.llm.local_decision`` and ``hanlin.llm.tool_similarity``.
ToolDecision = Literal[
    "free", "grammar", "yes_no", "likelihood", "few_shot", "relevance", "similarity"
]


class ChatOptions(BaseModel):
    temperature: float = 0.0
    max_tokens: int = 512
    stop: list[str] = Field(default_factory=list)
    seed: int | None = None
    tool_choice: Literal["auto", "none", "required"] = "auto"
    json_schema: dict[str, Any] | None = Field(
        default=None, description="Constrain the output to this JSON schema where supported."
    )
    tool_decision: ToolDecision | None = Field(
        default=None,
        description="How a local model decides whether to call under tool_choice='auto' "
        "(None: the backend's default; backends that decide natively ignore it).",
    )


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class ChatResult(BaseModel):
    """A finished model turn. ``tool_errors`` holds calls that could not be read."""

    message: AssistantMessage
    usage: Usage = Field(default_factory=Usage)
    finish_reason: str = "stop"
    tool_errors: list[ToolCallError] = Field(default_factory=list)
    raw_text: str = Field(default="", description="The model's text before tool-call extraction.")


class TextDelta(BaseModel):
    kind: Literal["text"] = "text"
    text: str


class Completed(BaseModel):
    kind: Literal["completed"] = "completed"
    result: ChatResult


StreamItem = TextDelta | Completed


class ModelError(RuntimeError):
    """A backend failed (server unreachable, bad response, model missing). Says what to check."""


class ModelInputError(ModelError):
    """The request cannot be served as sent (a prompt longer than the context window, a
    schema the backend cannot use): the caller has to change it, retrying will not help.
    ``code`` follows OpenAI's error codes (``context_length_exceeded``, ...)."""

    def __init__(
        self, message: str, *, code: str = "invalid_request", param: str | None = None
    ) -> None:
        super().__init__(message)
        self.code, self.param = code, param


@runtime_checkable
class ChatModel(Protocol):
    name: str

    async def chat(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions | None = None,
    ) -> ChatResult: ...

    def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions | None = None,
    ) -> AsyncIterator[StreamItem]: ...


class BaseChatModel(ABC):
    """Implements ``chat`` on top of a backend's ``stream``."""

    name: str = "model"

    @abstractmethod
    def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions | None = None,
    ) -> AsyncIterator[StreamItem]: ...

    async def chat(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions | None = None,
    ) -> ChatResult:
        result: ChatResult | None = None
        async for item in self.stream(messages, tools=tools, options=options):
            if isinstance(item, Completed):
                result = item.result
        if result is None:
            raise ModelError(f"{self.name}: the stream ended without a result")
        return result
