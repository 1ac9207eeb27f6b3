"""``hanlin.serving.server.serve`` in its own process, around a slow model that keeps a log.

Usage: serve_ticker.py PORT LOG_FILE LIMITS_JSON [PAUSE_S]

The model says ``max_tokens`` words, PAUSE_S seconds apart, on a worker thread (as real
backends generate), and appends ``start TAG``, ``word TAG``, ``done TAG`` or ``stopped TAG``
lines to LOG_FILE, where TAG is the last message's text; so a test can see whether generation
went on after a client left or the server was stopped. A ``seed`` is read as seconds to wait
before the first word, as a long prompt makes a real model wait. API keys come from
HANLIN_SERVE_API_KEYS, as for ``hanlin serve``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from hanlin.llm.chat_model import (
    BaseChatModel,
    ChatOptions,
    ChatResult,
    Completed,
    StreamItem,
    TextDelta,
    ToolSpec,
)
from hanlin.llm.messages import AssistantMessage, Message
from hanlin.serving.access import API_KEYS_ENV, parse_api_keys
from hanlin.serving.limits import ServerLimits
from hanlin.serving.server import serve


class Ticker(BaseChatModel):
    """Generates on a thread that stops at the next word once the stream is abandoned."""

    name = "ticker"

    def __init__(self, log: Path, pause: float) -> None:
        self.log, self.pause = log, pause
        self._lock = threading.Lock()

    def note(self, line: str) -> None:
        with self._lock, self.log.open("a") as handle:
            handle.write(line + "\n")

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions | None = None,
    ) -> AsyncIterator[StreamItem]:
        tag = str(messages[-1].content)[:40].replace("\n", " ")
        options = options or ChatOptions()
        words, first_delay = options.max_tokens, float(options.seed or 0)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        cancelled = threading.Event()

        def generate() -> None:
            self.note(f"start {tag}")
            for index in range(words):
                if cancelled.wait(first_delay if index == 0 else self.pause):
                    self.note(f"stopped {tag}")
                    return
                self.note(f"word {tag}")
                loop.call_soon_threadsafe(queue.put_nowait, f"w{index} ")
            self.note(f"done {tag}")
            loop.call_soon_threadsafe(queue.put_nowait, None)

        threading.Thread(target=generate, daemon=True).start()
        try:
            pieces: list[str] = []
            while (piece := await queue.get()) is not None:
                pieces.append(piece)
                yield TextDelta(text=piece)
            answer = AssistantMessage(content="".join(pieces).strip())
            yield Completed(result=ChatResult(message=answer))
        finally:
            cancelled.set()


def main() -> None:
    port, log = int(sys.argv[1]), Path(sys.argv[2])
    limits = ServerLimits.model_validate(json.loads(sys.argv[3]))
    pause = float(sys.argv[4]) if len(sys.argv) > 4 else 0.1
    keys = parse_api_keys([os.environ.get(API_KEYS_ENV, "")])
    serve(
        {"ticker": Ticker(log, pause)}, port=port, log_level="warning", limits=limits, api_keys=keys
    )


if __name__ == "__main__":
    main()
