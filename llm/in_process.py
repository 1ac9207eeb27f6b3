"""The bridge shared by in-process backends: generate on a worker thread, stream on the loop.

Inference libraries block; running them on a thread keeps the event loop serving other
users, and a per-model lock serializes requests on one set of weights. Abandoning the stream
sets ``cancelled`` so generation stops at the next token.
"""

from __future__ import annotations

import asyncio
import threading
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Protocol

from hanlin.llm.chat_model import (
    BaseChatModel,
    ChatOptions,
    Completed,
    ModelError,
    StreamItem,
    ToolSpec,
)
from hanlin.llm.local_prompt import template_dicts, to_template_messages, tools_in_use
from hanlin.llm.messages import Message

Emit = Callable[[StreamItem | BaseException], None]


class Loaded(Protocol):
    lock: threading.Lock


class InProcessChatModel(BaseChatModel):
    @abstractmethod
    def load(self) -> Loaded: ...

    @abstractmethod
    def _run_locked(
        self,
        loaded: Any,
        turns: Any,
        tools: list[ToolSpec],
        options: ChatOptions,
        emit: Emit,
        cancelled: threading.Event,
    ) -> Completed: ...

    def _prepare(
        self, loaded: Any, turns: list[dict[str, str]], tools: list[ToolSpec], options: ChatOptions
    ) -> Any:
        """Work done before taking the lock (rendering, tokenizing), so a long prompt does
        not hold up requests already generating. Its result reaches ``_run_locked`` as
        ``turns``; by default the turns themselves."""
        return turns

    def _check_options(self, options: ChatOptions) -> None:
        """Raise ``ModelError`` for options this backend cannot honour."""

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions | None = None,
    ) -> AsyncIterator[StreamItem]:
        options = options or ChatOptions()
        self._check_options(options)
        offered = tools_in_use(tools, options)
        turns = template_dicts(to_template_messages(messages, offered, options))
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[StreamItem | BaseException] = asyncio.Queue()
        cancelled = threading.Event()

        def emit(item: StreamItem | BaseException) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the event loop closed: nobody is listening any more
                cancelled.set()

        worker = threading.Thread(
            target=self._generate,
            args=(turns, offered, options, emit, cancelled),
            name=f"hanlin-{self.name}",
            daemon=True,
        )
        worker.start()
        try:
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if isinstance(item, Completed):
                    return
        finally:
            cancelled.set()

    def _generate(
        self,
        turns: list[dict[str, str]],
        tools: list[ToolSpec],
        options: ChatOptions,
        emit: Emit,
        cancelled: threading.Event,
    ) -> None:
        """Worker thread: load, generate, report. Errors travel to the caller via ``emit``."""
        try:
            loaded = self.load()
            prepared = self._prepare(loaded, turns, tools, options)
            if cancelled.is_set():
                return
            with loaded.lock:
                if cancelled.is_set():
                    return
                emit(self._run_locked(loaded, prepared, tools, options, emit, cancelled))
        except ModelError as exc:
            emit(exc)
        except Exception as exc:  # noqa: BLE001 - whatever the library raises reaches the caller
            emit(ModelError(f"{self.name}: generation failed: {type(exc).__name__}: {exc}"))
