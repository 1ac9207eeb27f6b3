"""Runners whose state lives in Redis: checkpoints and the tool journal, shared by workers."""

from __future__ import annotations

from redis.asyncio import Redis

from hanlin.runtime.redis_checkpointer import RedisCheckpointSaver
from hanlin.runtime.runner import GraphSource, Runner
from hanlin.runtime.tool_journal import RedisToolJournal


def redis_runner(target: GraphSource, url: str, *, prefix: str = "hanlin") -> Runner:
    """A ``Runner`` that any process pointing at the same Redis can resume."""
    checkpointer = RedisCheckpointSaver(url, prefix=f"{prefix}:ckpt")
    journal = RedisToolJournal(Redis.from_url(url), prefix=f"{prefix}:tooljournal")
    return Runner(target, checkpointer=checkpointer, journal=journal)
