"""The model a chat team runs on: the embedded one (loaded once per process) or an
OpenAI-compatible server, reached only on an allowed host."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hanlin.chat_teams.config import TeamConfig
from hanlin.chat_teams.model_hosts import ModelHosts, same_origin

ModelFactory = Callable[[TeamConfig], Any]


def default_model_factory(hosts: ModelHosts | None = None) -> ModelFactory:
    """The configured embedded model (loaded once) or an OpenAI-compatible server per URL.

    The configured API key goes only to the configured server, never to a URL from the form.
    """
    from hanlin.chat_teams.model_client import GuardedServerModel
    from hanlin.runtime.models import model_from_settings
    from hanlin.runtime.settings import load_settings

    settings = load_settings().model
    allowed = hosts or ModelHosts()
    cache: dict[str, Any] = {}

    def factory(config: TeamConfig) -> Any:
        if config.model_url is None:
            key = "embedded"
            if key not in cache:
                cache[key] = model_from_settings(settings)
            return cache[key]
        url = str(config.model_url)
        key = f"{url}|{config.model_name}"
        if key not in cache:
            same_server = same_origin(url, settings.base_url)
            cache[key] = GuardedServerModel(
                url,
                config.model_name,
                hosts=allowed,
                timeout=settings.timeout_s,
                api_key=settings.api_key if same_server else None,
            )
        return cache[key]

    return factory
