"""The tool-result journal in Redis, shared by every worker that may resume a thread."""

from __future__ import annotations

from redis.asyncio import Redis

from hanlin.llm.messages import ToolMessage


class RedisToolJournal:
    """One key per (thread, call id); written once, read on resume. Expires with ``ttl_s``."""

    def __init__(
        self, client: Redis, *, prefix: str = "hanlin:tooljournal", ttl_s: int | None = 30 * 86400
    ):
        self.client = client
        self.prefix = prefix
        self.ttl_s = ttl_s

    def _key(self, thread_id: str, call_id: str) -> str:
        return f"{self.prefix}:{{{thread_id}}}:{call_id}"

    async def get(self, thread_id: str, call_id: str) -> ToolMessage | None:
        raw = await self.client.get(self._key(thread_id, call_id))
        return None if raw is None else ToolMessage.model_validate_json(raw)

    async def put(self, thread_id: str, call_id: str, result: ToolMessage) -> None:
        # NX: the first recorded result wins, so a racing duplicate cannot overwrite it.
        await self.client.set(
            self._key(thread_id, call_id), result.model_dump_json(), nx=True, ex=self.ttl_s
        )
