"""What a service serves: the agents and teams an application registers, by name.

``hanlin api --app mymodule:app`` and ``hanlin worker --app mymodule:app`` import the same
``ServiceApp``; each registered name is an assistant (its id, a UUID derived from the name,
works as well as the name).

An assistant registered with a ``config_schema`` is built per run from the run's
``config["configurable"]``, validated against that pydantic model (the chat's teams are built
this way, from the form's settings). The thread keeps the configuration of its latest run, so
its state is read through a graph of the same shape.
"""

from __future__ import annotations

import importlib
import re
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from hanlin.runtime import Runner, RunTarget, require_run_target
from hanlin.service.fenced import FencedRunners
from hanlin.service.records import utc_now

TargetSource = RunTarget | Callable[..., RunTarget]
# LangGraph's own keys in ``configurable``: the SDK and LangGraph may put them there.
RESERVED_CONFIG_KEYS = frozenset(
    {"thread_id", "checkpoint_id", "checkpoint_ns", "checkpoint_map", "user_id", "run_id"}
)
MAX_READERS = 64
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ASSISTANT_NAMESPACE = uuid.UUID("5b0f6f0e-3d0c-4c39-9b53-7f0f2f3f6a11")


class AppLoadError(ValueError):
    """``--app`` does not name a ``ServiceApp``."""


class AssistantConfigError(ValueError):
    """A run's ``config.configurable`` does not fit its assistant's ``config_schema``."""


@dataclass(frozen=True)
class RunContext:
    """Where a configured target is used: its thread and owner, or ``None`` for both when the
    target only serves to read a thread's state (it never runs then); and the service's
    Redis, for targets that keep more there (long-term memory)."""

    thread_id: str | None = None
    owner: str | None = None
    redis_url: str | None = None


def configurable_of(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """``config["configurable"]`` without LangGraph's own keys."""
    raw = (config or {}).get("configurable") or {}
    if not isinstance(raw, Mapping):
        raise AssistantConfigError("config.configurable must be an object")
    return {k: v for k, v in raw.items() if k not in RESERVED_CONFIG_KEYS}


@dataclass
class Assistant:
    name: str
    source: TargetSource
    description: str | None
    metadata: dict[str, Any]
    config_schema: type[BaseModel] | None = None
    created_at: datetime = field(default_factory=utc_now)

    @property
    def assistant_id(self) -> str:
        return str(uuid.uuid5(_ASSISTANT_NAMESPACE, self.name))

    @property
    def is_factory(self) -> bool:
        return not isinstance(self.source, RunTarget)

    def check_config(self, config: Mapping[str, Any] | None) -> BaseModel | None:
        """The run's configuration as the assistant's ``config_schema`` (None without one).

        Raises ``AssistantConfigError`` naming the first field that does not fit."""
        values = configurable_of(config)
        if self.config_schema is None:
            return None
        try:
            return self.config_schema.model_validate(values)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(["config", "configurable", *map(str, error["loc"])])
            raise AssistantConfigError(
                f"{where}: {error['msg']} (assistant {self.name!r})"
            ) from exc

    def target(
        self, config: Mapping[str, Any] | None = None, context: RunContext | None = None
    ) -> RunTarget:
        """The target itself, or a fresh one from its factory (built from ``config`` when the
        assistant has a ``config_schema``)."""
        if isinstance(self.source, RunTarget):
            return self.source
        role = f"the factory of {self.name!r}"
        if self.config_schema is None:
            return require_run_target(self.source(), role=role)
        settings = self.check_config(config)
        return require_run_target(self.source(settings, context or RunContext()), role=role)


class ServiceApp:
    """A registry of run targets: ``ServiceApp().register("helper", agent)``.

    A factory (a callable returning an agent or team) is called once per run, for targets
    that keep per-run state (a scripted model, a counter); a target is built into one
    compiled graph per process and shared by its runs. With ``config_schema`` (a pydantic
    model), the factory is called as ``factory(settings, context)`` with the run's validated
    ``config.configurable`` and its ``RunContext``.
    """

    def __init__(self) -> None:
        self._by_name: dict[str, Assistant] = {}

    def register(
        self,
        name: str,
        target: TargetSource,
        *,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        config_schema: type[BaseModel] | None = None,
    ) -> ServiceApp:
        if not _NAME.match(name):
            raise ValueError(
                f"assistant name {name!r} must be 1-64 letters, digits, '_', '.' or '-'"
            )
        if name in self._by_name:
            raise ValueError(f"assistant {name!r} is already registered")
        if not isinstance(target, RunTarget) and not callable(target):
            raise TypeError(f"{name!r}: register an agent, a team or a function returning one")
        if config_schema is not None and isinstance(target, RunTarget):
            raise TypeError(f"{name!r}: a config_schema needs a factory, not a built target")
        self._by_name[name] = Assistant(
            name, target, description, dict(metadata or {}), config_schema
        )
        return self

    def assistants(self) -> list[Assistant]:
        return list(self._by_name.values())

    def find(self, assistant_id: str) -> Assistant | None:
        """By name or by assistant id."""
        if assistant_id in self._by_name:
            return self._by_name[assistant_id]
        return next((a for a in self._by_name.values() if a.assistant_id == assistant_id), None)


class AppRunners:
    """Per process: runners for the app's assistants, fenced and sharing one checkpointer."""

    def __init__(self, app: ServiceApp, url: str, *, prefix: str) -> None:
        self.app = app
        self.url = url
        self.fenced = FencedRunners(url, prefix=prefix)
        self._shared: OrderedDict[str, Runner] = OrderedDict()

    def for_run(
        self,
        assistant: Assistant,
        config: Mapping[str, Any] | None = None,
        context: RunContext | None = None,
    ) -> Runner:
        """A runner for one run: fresh from a factory, else the shared one."""
        if assistant.is_factory:
            where = replace(context or RunContext(), redis_url=self.url)
            return self.fenced.runner(assistant.target(config, where))
        return self.reader(assistant)

    async def forget_thread(self, thread_id: str) -> None:
        await self.fenced.forget_thread(thread_id)

    def reader(self, assistant: Assistant, config: Mapping[str, Any] | None = None) -> Runner:
        """A runner to read threads' state with, built once per process for each assistant
        (and, for a configured one, each configuration in use: the graph's shape follows it)."""
        key = assistant.name
        if assistant.config_schema is not None:
            settings = assistant.check_config(config)
            key += "|" + (settings.model_dump_json() if settings is not None else "")
        if key not in self._shared:
            target = assistant.target(config, RunContext(redis_url=self.url))
            self._shared[key] = self.fenced.runner(target)
            while len(self._shared) > MAX_READERS:
                self._shared.popitem(last=False)
        self._shared.move_to_end(key)
        return self._shared[key]


def load_service_app(spec: str) -> ServiceApp:
    """``module:attribute``, where the attribute is a ``ServiceApp``."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise AppLoadError(f"--app must look like 'package.module:app', got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise AppLoadError(f"cannot import {module_name!r}: {exc}") from exc
    value = getattr(module, attribute, None)
    if value is None:
        raise AppLoadError(f"{module_name!r} has no attribute {attribute!r}")
    if not isinstance(value, ServiceApp):
        raise AppLoadError(f"{spec!r} is a {type(value).__name__}, not a ServiceApp")
    if not value.assistants():
        raise AppLoadError(f"{spec!r} registers no assistants")
    return value
