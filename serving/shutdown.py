"""Ending the requests in flight at once when ``hanlin serve`` stops, each with a proper answer."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from hanlin.serving.completion_shapes import ChunkWriter, error_response


class Stoppable:
    """ASGI wrapper that ends the requests in flight itself when the server stops.

    Otherwise uvicorn waits out its grace period, then cancels them and logs a traceback
    for each. Here each request's task is cancelled at once (which stops its generation and
    frees its slot) and still gets a proper ending: 503 if nothing was sent yet, an in-band
    error event if it was streaming.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.stopping = False
        self._running: set[asyncio.Task[Any]] = set()

    def stop(self) -> None:
        self.stopping = True
        for task in self._running:
            task.cancel()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        if scope["type"] != "http" or task is None:
            await self.app(scope, receive, send)
            return
        if self.stopping:
            await error_response(
                503, "the server is shutting down", type_="server_error", code="shutting_down"
            )(scope, receive, send)
            return
        sent = {"started": False, "complete": False, "stream": False}

        async def tracking_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                sent["started"] = True
                sent["stream"] = any(
                    name.lower() == b"content-type" and value.startswith(b"text/event-stream")
                    for name, value in message.get("headers", [])
                )
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                sent["complete"] = True
            await send(message)

        self._running.add(task)
        try:
            await self.app(scope, receive, tracking_send)
        except asyncio.CancelledError:
            if not self.stopping:
                raise
            task.uncancel()
            await self._end(scope, receive, send, sent)
        finally:
            self._running.discard(task)

    @staticmethod
    async def _end(scope: Scope, receive: Receive, send: Send, sent: dict[str, bool]) -> None:
        if not sent["started"]:
            await error_response(
                503, "the server is shutting down", type_="server_error", code="shutting_down"
            )(scope, receive, send)
        elif not sent["complete"]:
            tail = (
                ChunkWriter.error("the server is shutting down", "server_error").encode()
                if sent["stream"]
                else b""
            )
            await send({"type": "http.response.body", "body": tail, "more_body": False})
