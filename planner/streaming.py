"""One model call whose tokens stream to the caller as they arrive."""

from __future__ import annotations

from collections.abc import Sequence

from hanlin.contract.events import TokenEvent, emit
from hanlin.llm.chat_model import ChatModel, ChatOptions, ChatResult, Completed, TextDelta, ToolSpec
from hanlin.llm.messages import Message


async def stream_reply(
    model: ChatModel,
    agent: str,
    messages: Sequence[Message],
    *,
    tools: Sequence[ToolSpec] = (),
    options: ChatOptions | None = None,
) -> ChatResult:
    """Ask ``model`` once, emitting a ``token`` event per text delta; the finished result.

    Every backend ends its stream with a ``Completed`` item; one that does not is a backend
    bug, reported as such rather than as a missing answer further down.
    """
    result: ChatResult | None = None
    async for item in model.stream(list(messages), tools=tools, options=options or ChatOptions()):
        if isinstance(item, TextDelta):
            emit(TokenEvent(agent=agent, text=item.text))
        elif isinstance(item, Completed):
            result = item.result
    if result is None:
        raise RuntimeError(f"{type(model).__name__}.stream ended without a Completed result")
    return result
