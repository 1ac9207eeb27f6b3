"""Bounded retries with exponential backoff for the store's calls to Redis and the embedder.

A transient failure (connection refused, timeout, a model server restarting) is retried a
few times; after that, or at once for an error that retrying cannot fix, the caller gets a
``MemoryStoreError`` that says what was being done and why it failed, never a silent loss.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel, Field
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

T = TypeVar("T")
REDIS_TRANSIENT: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
)


class MemoryStoreError(RuntimeError):
    """A memory operation failed (Redis unreachable, embedding failed, ...); the message names
    the operation and the cause."""


class MemoryUnavailable(MemoryStoreError):
    """This process has no memory store (it could not be opened): long-term memory is off.

    Agents treat it as "nothing to recall, nothing to keep" and finish their turn."""


class RetryPolicy(BaseModel):
    retries: int = Field(default=4, ge=0)  # after the first attempt
    backoff_s: float = Field(default=0.05, ge=0)
    max_backoff_s: float = Field(default=1.0, ge=0)


async def with_retries(
    what: str,
    operation: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    transient: tuple[type[BaseException], ...],
    cause: str,
) -> T:
    """Run ``operation``, retrying ``transient`` errors with backoff, then fail loudly."""
    delay, started = policy.backoff_s, time.monotonic()
    for attempt in range(policy.retries + 1):
        try:
            return await operation()
        except MemoryStoreError:
            raise
        except transient as error:
            if attempt == policy.retries:
                raise MemoryStoreError(
                    f"{what} failed: {cause} after {attempt + 1} attempts over "
                    f"{time.monotonic() - started:.1f}s ({type(error).__name__}: {error})"
                ) from error
            await asyncio.sleep(delay)
            delay = min(delay * 2, policy.max_backoff_s)
    raise AssertionError("unreachable")


async def redis_call(what: str, operation: Callable[[], Awaitable[T]], policy: RetryPolicy) -> T:
    """A Redis operation: connection trouble is retried, a refused command is reported."""
    try:
        return await with_retries(what, operation, policy, REDIS_TRANSIENT, "Redis did not answer")
    except ResponseError as error:
        raise MemoryStoreError(f"{what}: Redis refused the command ({error})") from error
    except RedisError as error:
        raise MemoryStoreError(f"{what}: Redis error ({error})") from error


# What an embedder raises for input it cannot take: the same input fails the same way again.
EMBEDDER_REFUSALS: tuple[type[BaseException], ...] = (
    TypeError,
    ValueError,
    LookupError,
    AttributeError,
    NotImplementedError,
    ImportError,
)


async def embedder_call(what: str, call: Callable[[], T], policy: RetryPolicy) -> T:
    """A blocking embedder call, run in a worker thread.

    A refusal of the input (``EMBEDDER_REFUSALS``) is reported at once; anything else (a model
    server restarting, a timeout) counts as transient and is retried.
    """

    async def attempt() -> T:
        try:
            return await asyncio.to_thread(call)
        except EMBEDDER_REFUSALS as error:
            raise MemoryStoreError(
                f"{what}: the embedder refused the input, which retrying cannot change "
                f"({type(error).__name__}: {error})"
            ) from error

    return await with_retries(what, attempt, policy, (Exception,), "the embedder failed")
