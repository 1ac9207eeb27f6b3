"""A scripted model for tests: replays given turns and records what it was sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence

from hanlin.llm.chat_model import (
    BaseChatModel,
    ChatOptions,
    ChatResult,
    Completed,
    ModelError,
    StreamItem,
    TextDelta,
    ToolSpec,
    Usage,
)
from hanlin.llm.messages import AssistantMessage, Message, ToolCall

Script = AssistantMessage | str | Callable[[Sequence[Message]], AssistantMessage | str]


class ScriptedModel(BaseChatModel):
    """Returns the scripted turns in order; raises when the script runs out.

    A turn is an ``AssistantMessage``, a plain string (an answer), or a function of the
    messages it was sent (for replies that depend on the conversation).
    ``delay`` simulates model latency.
    """

    def __init__(self, turns: Sequence[Script], *, name: str = "scripted", delay: float = 0.0):
        self.turns = list(turns)
        self.name = name
        self.delay = delay
        self.calls: list[list[Message]] = []
        self.tools_seen: list[list[ToolSpec]] = []
        self.served = 0  # turns consumed; a call that fails consumes none

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions | None = None,
    ) -> AsyncIterator[StreamItem]:
        self.calls.append(list(messages))
        self.tools_seen.append(list(tools))
        if self.served >= len(self.turns):
            raise ModelError(f"{self.name}: script exhausted after {len(self.turns)} turns")
        turn = self.turns[self.served]
        self.served += 1
        if callable(turn):
            turn = turn(messages)
        message = AssistantMessage(content=turn) if isinstance(turn, str) else turn
        if self.delay:
            await asyncio.sleep(self.delay)
        for word in message.content.split(" "):
            if word:
                yield TextDelta(text=word + " ")
        usage = Usage(
            prompt_tokens=sum(len(str(m)) for m in messages) // 4,
            completion_tokens=max(1, len(message.content) // 4),
        )
        yield Completed(result=ChatResult(message=message, usage=usage, raw_text=message.content))


def call(name: str, call_id: str | None = None, **arguments: object) -> AssistantMessage:
    """Shorthand for a scripted turn that calls one tool."""
    return AssistantMessage(
        tool_calls=[ToolCall(id=call_id or f"call_{name}", name=name, arguments=dict(arguments))]
    )
