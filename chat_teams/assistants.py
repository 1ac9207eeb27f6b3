"""The chat's built-in teams as service assistants: ``chat.react``, ``chat.debate``,
``chat.role_play`` and ``chat.supervisor``.

Each is built per run from the run's ``config.configurable`` (a ``TeamConfig``: model,
tools, approvals, rounds …), so the chat page and any Agent Protocol client start the same
teams the same way. ``hanlin api`` and ``hanlin worker`` serve them when no ``--app`` is given.

A thread's python session and scratch folder live in the worker that runs the thread, kept
for the thread's later turns (at most ``MAX_THREAD_TOOLS`` threads per worker, least recently
used first out); a thread that moves to another worker starts a fresh session there.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, model_validator

from hanlin.chat_teams.builder import SessionTools, build_team
from hanlin.chat_teams.config import TEAM_LABELS, TeamConfig, TeamKind
from hanlin.chat_teams.memory import ChatMemoryStore
from hanlin.chat_teams.model_hosts import ModelHosts, allowed_from_env
from hanlin.chat_teams.models import ModelFactory, default_model_factory
from hanlin.runtime import RunTarget
from hanlin.service.app_registry import RunContext, ServiceApp

MAX_THREAD_TOOLS = 256
ASSISTANT_PREFIX = "chat."


def assistant_name(kind: TeamKind) -> str:
    return f"{ASSISTANT_PREFIX}{kind}"


def config_schema(kind: TeamKind) -> type[BaseModel]:
    """``TeamConfig`` with ``kind`` defaulting to (and required to be) ``kind``."""

    class KindConfig(TeamConfig):
        model_config = ConfigDict(extra="forbid", title=f"{kind} team configuration")

        @model_validator(mode="before")
        @classmethod
        def _default_kind(cls, data: Any) -> Any:
            if isinstance(data, dict):
                given = data.setdefault("kind", kind)
                if given != kind:
                    raise ValueError(f"assistant {assistant_name(kind)!r} runs {kind!r} teams")
            return data

    KindConfig.__name__ = f"{kind.title().replace('_', '')}TeamConfig"
    return KindConfig


class ChatTeams:
    """Builds the teams; holds what a process shares between them (models, memory, tools)."""

    def __init__(
        self,
        *,
        model_factory: ModelFactory | None = None,
        model_hosts: ModelHosts | None = None,
        memory_store: Any = None,
    ) -> None:
        self.model_hosts = model_hosts or allowed_from_env()
        self.model_factory = model_factory or default_model_factory(self.model_hosts)
        self._memory = memory_store
        self._memory_by_url: dict[str, ChatMemoryStore] = {}
        self._tools: OrderedDict[tuple[str, str], SessionTools] = OrderedDict()

    def build(self, config: TeamConfig, context: RunContext) -> RunTarget:
        """Raises ``ModelHostRefused`` for a model server on a host that is not allowed."""
        if config.model_url is not None:
            self.model_hosts.check(str(config.model_url))
        return build_team(
            config,
            self.model_factory(config),
            self._session_tools(context),
            memory_store=self._memory_for(context) if config.long_term_memory else None,
            user_id=context.owner or "default",
        )

    def _memory_for(self, context: RunContext) -> Any:
        if self._memory is not None or context.redis_url is None:
            return self._memory
        url = context.redis_url
        if url not in self._memory_by_url:
            self._memory_by_url[url] = ChatMemoryStore(url)
        return self._memory_by_url[url]

    def _session_tools(self, context: RunContext) -> SessionTools:
        """The thread's tools (kept between its turns), or throwaway ones for reading state."""
        if context.thread_id is None or context.owner is None:
            return SessionTools()
        key = (context.owner, context.thread_id)
        tools = self._tools.get(key)
        if tools is None:
            tools = self._tools[key] = SessionTools()
            while len(self._tools) > MAX_THREAD_TOOLS:
                _, oldest = self._tools.popitem(last=False)
                _close_later(oldest)
        self._tools.move_to_end(key)
        return tools

    async def aclose(self) -> None:
        for tools in self._tools.values():
            await tools.aclose()
        self._tools.clear()
        for store in self._memory_by_url.values():
            await store.close()


def _close_later(tools: SessionTools) -> None:
    with contextlib.suppress(RuntimeError):  # no running loop: the sandbox ends at exit
        asyncio.get_running_loop().create_task(tools.aclose())


def chat_app(teams: ChatTeams | None = None) -> ServiceApp:
    """A ``ServiceApp`` with the four built-in teams."""
    teams = teams or ChatTeams()
    app = ServiceApp()
    for kind in get_args(TeamKind):
        app.register(
            assistant_name(kind),
            teams.build,  # the kind comes with the checked configuration
            description=f"{TEAM_LABELS[kind]}, built from config.configurable (a TeamConfig)",
            metadata={"chat_team": kind},
            config_schema=config_schema(kind),
        )
    return app


app = chat_app()
