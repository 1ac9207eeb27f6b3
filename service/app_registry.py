"""What a service serves: the agents and teams an application registers, by name.

``hanlin api --app mymodule:app`` and ``hanlin worker --app mymodule:app`` import the same
``ServiceApp``; each registered name is an assistant (its id, a UUID derived from the name,
works as well as the name).
"""

from __future__ import annotations

import importlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hanlin.runtime import Runner, RunTarget, require_run_target
from hanlin.service.fenced import FencedRunners
from hanlin.service.records import utc_now

TargetSource = RunTarget | Callable[[], RunTarget]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ASSISTANT_NAMESPACE = uuid.UUID("5b0f6f0e-3d0c-4c39-9b53-7f0f2f3f6a11")


class AppLoadError(ValueError):
    """``--app`` does not name a ``ServiceApp``."""


@dataclass
class Assistant:
    name: str
    source: TargetSource
    description: str | None
    metadata: dict[str, Any]
    created_at: datetime = field(default_factory=utc_now)

    @property
    def assistant_id(self) -> str:
        return str(uuid.uuid5(_ASSISTANT_NAMESPACE, self.name))

    @property
    def is_factory(self) -> bool:
        return not isinstance(self.source, RunTarget)

    def target(self) -> RunTarget:
        """The target itself, or a fresh one from its factory."""
        if isinstance(self.source, RunTarget):
            return self.source
        return require_run_target(self.source(), role=f"the factory of {self.name!r}")


class ServiceApp:
    """A registry of run targets: ``ServiceApp().register("helper", agent)``.

    A factory (a callable returning an agent or team) is called once per run, for targets
    that keep per-run state (a scripted model, a counter); a target is built into one
    compiled graph per process and shared by its runs.
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
    ) -> ServiceApp:
        if not _NAME.match(name):
            raise ValueError(
                f"assistant name {name!r} must be 1-64 letters, digits, '_', '.' or '-'"
            )
        if name in self._by_name:
            raise ValueError(f"assistant {name!r} is already registered")
        if not isinstance(target, RunTarget) and not callable(target):
            raise TypeError(f"{name!r}: register an agent, a team or a function returning one")
        self._by_name[name] = Assistant(name, target, description, dict(metadata or {}))
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
        self.fenced = FencedRunners(url, prefix=prefix)
        self._shared: dict[str, Runner] = {}

    def for_run(self, assistant: Assistant) -> Runner:
        """A runner for one run: fresh from a factory, else the shared one."""
        if assistant.is_factory:
            return self.fenced.runner(assistant.target())
        return self.reader(assistant)

    async def forget_thread(self, thread_id: str) -> None:
        await self.fenced.forget_thread(thread_id)

    def reader(self, assistant: Assistant) -> Runner:
        """A runner to read threads' state with (built once per process)."""
        if assistant.name not in self._shared:
            self._shared[assistant.name] = self.fenced.runner(assistant.target())
        return self._shared[assistant.name]


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
