"""Checkpoints and tool results written only while the run's lease is held.

The events and status of a run are fenced atomically inside Redis (see ``lua``). The graph's
own writes go through hanlin's checkpointer and tool journal; these wrappers check the lease
right before each write, and before a tool step looks up its journal (which it does before
executing any call). A worker that lost its lease therefore starts no new tool call and
writes no checkpoint after it notices; a write already in flight when the lease expires can
still land, which the journal tolerates (the first recorded result of a call wins).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata
from redis.asyncio import Redis

from hanlin.llm.messages import ToolMessage
from hanlin.runtime import RedisToolJournal, Runner, RunTarget
from hanlin.runtime.redis_checkpointer import RedisCheckpointSaver
from hanlin.service.lease import guard


class FencedCheckpointSaver(RedisCheckpointSaver):
    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        await guard()
        return await super().aput(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await guard()
        await super().aput_writes(config, writes, task_id, task_path)


class FencedJournal:
    """A ``ToolJournal`` that refuses to serve or record once the lease is gone."""

    def __init__(self, inner: RedisToolJournal) -> None:
        self.inner = inner

    async def get(self, thread_id: str, call_id: str) -> ToolMessage | None:
        await guard()
        return await self.inner.get(thread_id, call_id)

    async def put(self, thread_id: str, call_id: str, result: ToolMessage) -> None:
        await guard()
        await self.inner.put(thread_id, call_id, result)


class FencedRunners:
    """Builds ``Runner``s that share one fenced checkpointer and journal per process, under
    the keys ``redis_runner`` uses (so a thread stays resumable by either)."""

    def __init__(self, url: str, *, prefix: str) -> None:
        self.checkpointer = FencedCheckpointSaver(url, prefix=f"{prefix}:ckpt")
        self.journal = FencedJournal(
            RedisToolJournal(Redis.from_url(url), prefix=f"{prefix}:tooljournal")
        )

    def runner(self, target: RunTarget) -> Runner:
        return Runner(target, checkpointer=self.checkpointer, journal=self.journal)

    async def forget_thread(self, thread_id: str) -> None:
        """Delete the thread's checkpoints and its journaled tool results."""
        await self.checkpointer.adelete_thread(thread_id)
        journal = self.journal.inner
        pattern = f"{journal.prefix}:{{{thread_id}}}:*"
        async for key in journal.client.scan_iter(match=pattern, count=500):
            await journal.client.delete(key)
