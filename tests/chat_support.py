"""What the chat's controller tests share, in-process and through the service."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Sequence
from typing import Any

from hanlin.llm.scripted import ScriptedModel
from hanlin.ui.controller import Turn


async def last(turns: AsyncIterator[Turn]) -> Turn:
    final = None
    async for turn in turns:
        final = turn
    assert final is not None
    return final


def texts(turn: Turn) -> list[str]:
    return [m["content"] if isinstance(m["content"], str) else "" for m in turn.messages]


class SlowSecondTurn(ScriptedModel):
    """The answer after the tool result takes long enough to be stopped. A thread event: a
    service's worker runs the model on another thread."""

    def __init__(self, turns: Sequence[Any]) -> None:
        super().__init__(turns)
        self.entered_second = threading.Event()

    async def stream(self, messages: Any, **kwargs: Any) -> Any:
        if self.served == 1 and not self.entered_second.is_set():
            self.entered_second.set()
            await asyncio.sleep(30)
        async for item in super().stream(messages, **kwargs):
            yield item
