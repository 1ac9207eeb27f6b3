"""Bounds on what one client can make ``hanlin serve`` do: body size, nesting, queueing.

A model serves one request at a time (or a few), so without bounds a single large or
deeply nested body, or a burst of requests, holds every other client up. Requests beyond
the queue are refused at once with 429 and ``Retry-After``, the way OpenAI clients expect to
back off; a request that waited too long in line gets 503 with the same hint.
"""

from __future__ import annotations

import asyncio
import collections
import math
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import Headers
from starlette.types import Receive

MIB = 2**20


class ServerLimits(BaseModel):
    """Per-server bounds; the defaults suit a model that answers in seconds."""

    model_config = ConfigDict(frozen=True)

    max_body_bytes: int = Field(
        default=8 * MIB, ge=1024, description="Larger request bodies get 413."
    )
    body_timeout_s: float = Field(
        default=30.0, gt=0, description="A body not fully sent by then gets 408."
    )
    max_json_depth: int = Field(
        default=64, ge=4, description="Deeper nesting of arrays and objects gets 400."
    )
    max_active: int = Field(default=16, ge=1, description="Requests at the models at once.")
    max_waiting: int = Field(
        default=64, ge=0, description="Requests waiting for a slot; beyond that 429."
    )
    queue_timeout_s: float = Field(
        default=60.0, gt=0, description="A request waiting longer gets 503."
    )
    stream_stall_s: float = Field(
        default=60.0,
        gt=0,
        description="A stream whose client reads nothing for this "
        "long is dropped and its slot freed.",
    )
    max_connections: int = Field(
        default=256, ge=1, description="Open connections beyond this get 503."
    )
    shutdown_grace_s: float = Field(
        default=3.0, ge=0, description="On SIGTERM, running requests are cancelled after this long."
    )
    drain_bytes: int = Field(
        default=64 * MIB,
        ge=0,
        description="How much of a refused body is read and dropped, "
        "so the client is listening when the refusal arrives.",
    )
    drain_timeout_s: float = Field(default=5.0, ge=0)


class BodyTooLarge(Exception):
    """The body is over ``max_body_bytes``; ``complete`` says whether it was read to the end."""

    def __init__(self, limit: int, *, complete: bool) -> None:
        super().__init__(f"the request body is larger than {limit} bytes")
        self.complete = complete


class BodyTimeout(Exception):
    """The client did not send the whole body in time."""


class ClientGone(Exception):
    """The client disconnected before sending the whole body."""


async def _drain(receive: Receive, limits: ServerLimits) -> bool:
    """Read and drop the rest of a body; True when it ended within the drain bounds.

    Closing a socket with unread data makes the kernel send RST, which can discard the
    response before the client reads it (what lingering close in web servers avoids).
    """
    left = limits.drain_bytes
    try:
        async with asyncio.timeout(limits.drain_timeout_s):
            while left >= 0:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return False
                left -= len(message.get("body", b""))
                if not message.get("more_body", False):
                    return left >= 0
    except TimeoutError:
        return False
    return False


async def refuse_body(receive: Receive, headers: Headers, limits: ServerLimits) -> bool:
    """Drop an unwanted body before answering; True when the connection can be reused."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.drain_bytes:
        return False
    return await _drain(receive, limits)


async def read_body(receive: Receive, headers: Headers, limits: ServerLimits) -> bytes:
    """The request body, refused once it passes ``max_body_bytes`` or ``body_timeout_s``."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise BodyTooLarge(
            limits.max_body_bytes, complete=await refuse_body(receive, headers, limits)
        )
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(limits.body_timeout_s):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientGone()
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limits.max_body_bytes:
                    more = message.get("more_body", False)
                    complete = not more or await _drain(receive, limits)
                    raise BodyTooLarge(limits.max_body_bytes, complete=complete)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
    except TimeoutError as exc:
        raise BodyTimeout(
            f"the request body did not arrive within {limits.body_timeout_s}s"
        ) from exc


def nesting_exceeds(value: Any, limit: int) -> bool:
    """Whether arrays and objects in ``value`` nest deeper than ``limit`` (without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


# --- admission ----------------------------------------------------------------------------


class Busy(Exception):
    """No slot for this request: 429 (queue full) or 503 (waited too long)."""

    def __init__(self, status: int, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after_s = status, message, retry_after_s


class Slot:
    """A place at the models; ``release`` (idempotent) hands it to the next in line."""

    def __init__(self, admission: Admission) -> None:
        self._admission = admission
        self._started = time.monotonic()
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._admission._release(time.monotonic() - self._started)


class Admission:
    """At most ``max_active`` requests at the models and ``max_waiting`` in line, first come
    first served. ``Retry-After`` is estimated from how long recent requests held a slot."""

    def __init__(self, limits: ServerLimits) -> None:
        self.limits = limits
        self.active = 0
        self._queue: collections.deque[asyncio.Future[None]] = collections.deque()
        self._mean_hold_s: float | None = None

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def retry_after_s(self) -> int:
        """Seconds until a slot is likely free for a newcomer, at least 1."""
        mean = self._mean_hold_s if self._mean_hold_s is not None else 1.0
        ahead = self.waiting + 1
        return max(1, min(600, math.ceil(mean * ahead / self.limits.max_active)))

    async def acquire(self) -> Slot:
        if self.active < self.limits.max_active and not self._queue:
            self.active += 1
            return Slot(self)
        if len(self._queue) >= self.limits.max_waiting:
            raise Busy(
                429,
                f"the server is busy: {self.active} requests running and "
                f"{len(self._queue)} waiting; retry later",
                self.retry_after_s(),
            )
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(granted)
        try:
            async with asyncio.timeout(self.limits.queue_timeout_s):
                await granted
        except BaseException as exc:
            if granted.done() and not granted.cancelled():
                self._release(None)  # handed over just as we gave up: pass it on
            if isinstance(exc, TimeoutError):
                raise Busy(
                    503,
                    f"the server is busy: no slot within "
                    f"{self.limits.queue_timeout_s:g}s; retry later",
                    self.retry_after_s(),
                ) from None
            raise
        finally:
            if granted in self._queue:
                self._queue.remove(granted)
        return Slot(self)

    def _release(self, held_s: float | None) -> None:
        if held_s is not None:
            self._mean_hold_s = (
                held_s if self._mean_hold_s is None else 0.7 * self._mean_hold_s + 0.3 * held_s
            )
        self.active -= 1
        while self._queue:
            granted = self._queue.popleft()
            if not granted.done():
                self.active += 1
                granted.set_result(None)
                return
