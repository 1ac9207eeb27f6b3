"""A LangGraph checkpointer on plain Redis commands, with strict deserialization.

``langgraph-checkpoint-redis`` needs the Query Engine and JSON modules, which many hosted
Redis services lack, and it revives constructor envelopes through importlib on read. This
saver runs on any Redis or Valkey (see ``redis_checkpoint_commands`` for the key layout) and
decodes through ``JsonPlusSerializer`` in strict msgpack mode without pickle: only safe
built-in types, plus an explicit allow-list, are ever rebuilt as objects.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Self

import redis
import redis.asyncio
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    SerializerProtocol,
)
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from hanlin.redis_stack.connection import redact_url
from hanlin.runtime.redis_checkpoint_commands import (
    Batch,
    CheckpointCommands,
    CheckpointKeys,
    CommandProtocol,
    Emit,
)

DEFAULT_PREFIX = "hanlin:ckpt"


class CheckpointStoreError(RuntimeError):
    """Redis refused or failed a checkpoint operation (the message names the server)."""


class RedisCheckpointSaver(BaseCheckpointSaver[str]):
    """A LangGraph checkpointer on plain Redis, semantically a twin of ``InMemorySaver``.

    ``ttl_seconds``: every key a write touches (the checkpoint, its writes, the thread's
    index, blob store and registries) expires that long after the write, so an idle thread
    disappears whole and an active one keeps a sliding window of history.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: redis.Redis | None = None,
        async_client: redis.asyncio.Redis | None = None,
        prefix: str = DEFAULT_PREFIX,
        serde: SerializerProtocol | None = None,
        allowed_msgpack_modules: Sequence[tuple[str, ...] | type] | None = None,
        ttl_seconds: int | None = None,
    ) -> None:
        if url is None and client is None and async_client is None:
            raise ValueError("RedisCheckpointSaver needs url=, client= or async_client=")
        if serde is not None and allowed_msgpack_modules is not None:
            raise ValueError("pass allowed_msgpack_modules or serde, not both")
        if ttl_seconds is not None and (isinstance(ttl_seconds, bool) or ttl_seconds <= 0):
            raise ValueError(f"ttl_seconds must be a positive int or None, got {ttl_seconds!r}")
        for given in (client, async_client):
            if given is not None and given.connection_pool.connection_kwargs.get(
                "decode_responses"
            ):
                raise ValueError("the Redis client must use decode_responses=False")
        super().__init__(
            serde=serde
            or JsonPlusSerializer(
                pickle_fallback=False, allowed_msgpack_modules=allowed_msgpack_modules
            )
        )
        self._url = url
        self._client = client
        self._async_client = async_client
        self._async_loop: asyncio.AbstractEventLoop | None = None
        self._owns_client = client is None
        self._owns_async_client = async_client is None
        self._keys = CheckpointKeys(prefix)
        self._ttl = ttl_seconds
        self._where = self._describe_server()

    # --- connections -----------------------------------------------------------------

    def _describe_server(self) -> str:
        if self._url is not None:
            return redact_url(self._url)
        given = self._client or self._async_client
        kwargs = given.connection_pool.connection_kwargs if given is not None else {}
        if "path" in kwargs:
            return f"unix://{kwargs['path']}"
        return f"redis://{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"

    def _sync_client(self) -> redis.Redis:
        if self._client is None:
            if self._url is None:
                raise CheckpointStoreError(
                    "this RedisCheckpointSaver has only an async client; "
                    "the sync API needs url= or client="
                )
            self._client = redis.Redis.from_url(self._url)
        return self._client

    def _maybe_async_client(self) -> redis.asyncio.Redis | None:
        # Async connections belong to one event loop; a saver built from a URL gets a fresh
        # client when used from another loop (e.g. successive ``asyncio.run`` calls).
        loop = asyncio.get_running_loop()
        if self._url is not None and self._owns_async_client and self._async_loop is not loop:
            self._async_client = redis.asyncio.Redis.from_url(self._url)
            self._async_loop = loop
        return self._async_client

    def close(self) -> None:
        """Close the sync client if this saver created it."""
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        """Close the clients this saver created."""
        if self._owns_async_client and self._async_client is not None:
            await self._async_client.aclose()
            self._async_client = None
        self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _commands(self) -> CheckpointCommands:
        # Built per call: ``with_allowlist`` clones the saver with a different serde.
        return CheckpointCommands(self._keys, self.serde, self._ttl)

    # --- drivers ---------------------------------------------------------------------

    def _failure(self, exc: redis.RedisError) -> CheckpointStoreError:
        return CheckpointStoreError(f"Redis checkpoint store at {self._where} failed: {exc}")

    def _execute(self, client: redis.Redis, batch: Batch) -> list[Any]:
        try:
            pipe = client.pipeline(transaction=batch.transaction)
            for command in batch.commands:
                pipe.execute_command(*command)
            return pipe.execute()
        except redis.RedisError as exc:
            raise self._failure(exc) from exc

    async def _aexecute(self, batch: Batch) -> list[Any]:
        client = self._maybe_async_client()
        if client is None:  # only a sync client was given: keep the event loop free
            return await asyncio.to_thread(self._execute, self._sync_client(), batch)
        try:
            pipe = client.pipeline(transaction=batch.transaction)
            for command in batch.commands:
                pipe.execute_command(*command)
            return await pipe.execute()
        except redis.RedisError as exc:
            raise self._failure(exc) from exc

    def _drive(self, protocol: CommandProtocol, limit: int | None = None) -> Iterator[Any]:
        """Run ``protocol`` on the sync client, yielding what it emits (at most ``limit``)."""
        client, reply, emitted = self._sync_client(), None, 0
        while limit is None or emitted < limit:
            try:
                step = next(protocol) if reply is None else protocol.send(reply)
            except StopIteration:
                return
            if isinstance(step, Emit):
                reply, emitted = None, emitted + 1
                yield step.value
            else:
                reply = self._execute(client, step) if step.commands else []

    async def _adrive(
        self, protocol: CommandProtocol, limit: int | None = None
    ) -> AsyncIterator[Any]:
        """Run ``protocol`` on the async client, yielding what it emits (at most ``limit``)."""
        reply, emitted = None, 0
        while limit is None or emitted < limit:
            try:
                step = next(protocol) if reply is None else protocol.send(reply)
            except StopIteration:
                return
            if isinstance(step, Emit):
                reply, emitted = None, emitted + 1
                yield step.value
            else:
                reply = await self._aexecute(step) if step.commands else []

    def _run(self, protocol: CommandProtocol) -> Any:
        """Run ``protocol`` to the end and return its first emitted value, if any."""
        return next(iter(list(self._drive(protocol))), None)

    async def _arun(self, protocol: CommandProtocol) -> Any:
        return next(iter([value async for value in self._adrive(protocol)]), None)

    # --- public API ------------------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self._run(self._commands().get_tuple(config))

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._arun(self._commands().get_tuple(config))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        yield from self._drive(self._commands().list(config, filter, before, limit), limit)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        protocol = self._commands().list(config, filter, before, limit)
        async for found in self._adrive(protocol, limit):
            yield found

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self._run(self._commands().put(config, checkpoint, metadata, new_versions))

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await self._arun(self._commands().put(config, checkpoint, metadata, new_versions))

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self._run(self._commands().put_writes(config, writes, task_id, task_path))

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self._arun(self._commands().put_writes(config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        self._run(self._commands().delete_thread(thread_id))

    async def adelete_thread(self, thread_id: str) -> None:
        await self._arun(self._commands().delete_thread(thread_id))

    def get_next_version(self, current: str | None, channel: None) -> str:
        """Zero-padded counter plus a random tail, exactly as ``InMemorySaver`` does."""
        if current is None:
            current_v = 0
        elif isinstance(current, int):
            current_v = current
        else:
            current_v = int(current.split(".")[0])
        return f"{current_v + 1:032}.{random.random():016}"
