"""What the chat app shares between sessions, and what each session owns.

Shared: models (one embedded model in memory, however many people chat), the checkpointer and
tool journal (Redis, so threads survive an app restart), and the long-term memory store.
Per session: a runner over that session's team and its sandboxed tools, so no two people see
each other's files, threads or memories. Threads have owners (``threads``), and model servers
are reached only on allowed hosts (``model_hosts``).

With a ``service`` (``hanlin api``, embedded or remote), the teams run there instead: threads
and runs are the service's, each person's requests go under their own identity, and this
process keeps no run state at all. Without one (``--memory-only``), teams run in-process.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from hanlin.chat_teams.builder import SessionTools, build_team
from hanlin.chat_teams.config import TeamConfig
from hanlin.chat_teams.model_hosts import ModelHosts
from hanlin.chat_teams.models import ModelFactory, default_model_factory
from hanlin.runtime import MemoryToolJournal, Runner, ToolJournal
from hanlin.ui.service_client import ServiceChat, ServiceRunner, ServiceThreads
from hanlin.ui.threads import ThreadRegistry

log = logging.getLogger(__name__)
MAX_SESSIONS = 256


@dataclass
class Session:
    tools: SessionTools = field(default_factory=SessionTools)
    runner: Runner | None = None
    config_key: str | None = None


class UiServices:
    """``redis_url`` None keeps threads in memory (lost when the app stops); ``model_hosts``
    are the model servers a team may use besides loopback ones."""

    def __init__(
        self,
        *,
        model_factory: ModelFactory | None = None,
        redis_url: str | None = None,
        memory_store: Any = None,
        open_memory: bool = True,
        model_hosts: ModelHosts | None = None,
        service: ServiceChat | None = None,
    ) -> None:
        self.model_hosts = model_hosts or ModelHosts()
        self.model_factory = model_factory or default_model_factory(self.model_hosts)
        self.redis_url = redis_url
        self.service = service
        self.threads: ThreadRegistry | ServiceThreads = (
            ServiceThreads(service) if service is not None else ThreadRegistry(redis_url)
        )
        self.checkpointer: BaseCheckpointSaver
        self.journal: ToolJournal
        if redis_url is None or service is not None:
            self.checkpointer, self.journal = InMemorySaver(), MemoryToolJournal()
        else:
            from redis.asyncio import Redis

            from hanlin.runtime.redis_checkpointer import RedisCheckpointSaver
            from hanlin.runtime.tool_journal import RedisToolJournal

            self.checkpointer = RedisCheckpointSaver(redis_url, prefix="hanlin:ckpt")
            self.journal = RedisToolJournal(Redis.from_url(redis_url), prefix="hanlin:tooljournal")
        self._memory_store = memory_store
        self._open_memory = open_memory and redis_url is not None and memory_store is None
        self.memory_problem: str | None = None
        self._memory_lock = asyncio.Lock()
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    async def memory_store(self) -> Any:
        """The long-term memory store, opened on first use; None (with a reason) if unavailable."""
        if self._memory_store is not None or not self._open_memory:
            return self._memory_store
        async with self._memory_lock:
            if self._memory_store is None and self._open_memory:
                try:
                    from hanlin.llm.embeddings import default_embedder
                    from hanlin.memory import MemoryStore

                    self._memory_store = await MemoryStore.open(
                        self.redis_url or "", default_embedder()
                    )
                except Exception as exc:  # noqa: BLE001 - the chat works without long-term memory
                    self.memory_problem = f"long-term memory is off: {type(exc).__name__}: {exc}"
                    log.warning(self.memory_problem)
                    self._open_memory = False
        return self._memory_store

    async def runner(
        self, session_id: str, config: TeamConfig, user_id: str
    ) -> Runner | ServiceRunner:
        """This session's runner for ``config`` (rebuilt when the configuration changes), or
        the service's for ``user_id`` when the teams run in a service.

        Raises ``ModelHostRefused`` before any model is built for a server on a host that is
        not allowed."""
        if config.model_url is not None:
            self.model_hosts.check(str(config.model_url))
        if self.service is not None:
            return self.service.runner(config, user_id)
        session = self._sessions.get(session_id)
        if session is None:
            session = self._sessions[session_id] = Session()
            await self._evict()
        self._sessions.move_to_end(session_id)
        key = f"{user_id}|{config.cache_key()}"
        if session.runner is None or session.config_key != key:
            store = await self.memory_store()
            team = build_team(
                config,
                self.model_factory(config),
                session.tools,
                memory_store=store,
                user_id=user_id,
            )
            session.runner = Runner(
                team, checkpointer=self.checkpointer, journal=self.journal, user_id=user_id
            )
            session.config_key = key
        return session.runner

    async def close_session(self, session_id: str) -> None:
        session = self._sessions.pop(session_id, None)
        if session is not None:
            await session.tools.aclose()

    async def _evict(self) -> None:
        while len(self._sessions) > MAX_SESSIONS:
            _, oldest = self._sessions.popitem(last=False)
            await oldest.tools.aclose()

    async def aclose(self) -> None:
        for session_id in list(self._sessions):
            await self.close_session(session_id)
        if self._memory_store is not None and self._open_memory is not None:
            close = getattr(self._memory_store, "close", None)
            if close is not None:
                await close()
        await self.threads.aclose()
