"""Runners whose state lives in Redis: checkpoints and the tool journal, shared by workers."""

from __future__ import annotations

from redis.asyncio import Redis

from hanlin.contract.target import RunTarget
from hanlin.redis_stack.connection import describe_missing_modules, detect_capabilities
from hanlin.runtime.redis_checkpointer import RedisCheckpointSaver
from hanlin.runtime.runner import Runner
from hanlin.runtime.tool_journal import RedisToolJournal

# What hanlin does on a Redis without the search and JSON modules.
PLAIN_REDIS_FALLBACK = (
    "plain Redis commands for checkpoints and the tool journal (no loss of function) and "
    "an in-process vector index for memory search"
)


def redis_runner(target: RunTarget, url: str, *, prefix: str = "hanlin") -> Runner:
    """A ``Runner`` that any process pointing at the same Redis can resume."""
    checkpointer = RedisCheckpointSaver(url, prefix=f"{prefix}:ckpt")
    journal = RedisToolJournal(Redis.from_url(url), prefix=f"{prefix}:tooljournal")
    return Runner(target, checkpointer=checkpointer, journal=journal)


def redis_feature_report(url: str) -> str:
    """Empty when the server has every module hanlin can use; otherwise what falls back."""
    return describe_missing_modules(url, detect_capabilities(url), PLAIN_REDIS_FALLBACK)
