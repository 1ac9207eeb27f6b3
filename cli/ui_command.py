"""``hanlin ui``: the multi-agent chat in the browser, on the embedded defaults.

By default one command starts everything: Redis, the service (``hanlin api`` and a worker,
inside this process, on a loopback port) and the chat page, whose teams run in that service.
``--api URL`` uses a service started elsewhere instead, so chat replicas keep no state.
"""

from __future__ import annotations

import os
from typing import Any

import typer

UI_API_KEY_ENV = "HANLIN_UI_API_KEY"


def ui(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(7860, help="Port to listen on."),
    auth: list[str] | None = typer.Option(  # noqa: B008 - typer's idiom for a repeatable option
        None,
        help="user:password allowed to log in (repeatable); "
        "also HANLIN_UI_AUTH=user:pass,user2:pass2.",
    ),
    no_auth: bool = typer.Option(
        False, "--no-auth", help="Allow a non-loopback host without a password."
    ),
    memory_only: bool = typer.Option(
        False, "--memory-only", help="Keep threads in memory (no Redis, no long-term memory)."
    ),
    allow_model_url: list[str] | None = typer.Option(  # noqa: B008 - a repeatable option
        None,
        "--allow-model-url",
        help="A model server (URL) teams may use besides loopback "
        "ones (repeatable); its scheme, host and port are allowed.",
    ),
    api: str | None = typer.Option(
        None,
        "--api",
        help="Run the teams in this hanlin api service instead of starting one here; its "
        "front-end key comes from HANLIN_UI_API_KEY.",
    ),
    redis_url: str | None = typer.Option(
        None, help="With --api: the service's Redis, for the memory panel (optional)."
    ),
) -> None:
    from hanlin.chat_teams.model_hosts import ModelHostRefused, ModelHosts
    from hanlin.ui.launch import (
        UiAuthError,
        UiLaunch,
        bind_host,
        check_exposure,
        parse_auth,
        quiet_gradio,
    )

    try:
        entries = list(auth or []) + (
            [os.environ["HANLIN_UI_AUTH"]] if os.environ.get("HANLIN_UI_AUTH") else []
        )
        launch = UiLaunch(host=host, port=port, auth=parse_auth(entries), allow_no_auth=no_auth)
        check_exposure(launch)
        model_hosts = ModelHosts.with_urls(allow_model_url or [])
    except (UiAuthError, ModelHostRefused) as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc
    quiet_gradio()
    try:
        import gradio  # noqa: F401
    except ImportError as exc:
        typer.secho("the chat UI needs Gradio: pip install 'hanlin[ui]'", fg="red", err=True)
        raise typer.Exit(1) from exc
    from hanlin.ui.app import build_app
    from hanlin.ui.launch import browser_secret, launch_app
    from hanlin.ui.services import UiServices

    if memory_only and api:
        typer.secho("--memory-only and --api exclude each other", fg="red", err=True)
        raise typer.Exit(2)
    if api:
        services, where = _remote_service(api, redis_url, model_hosts)
    elif memory_only:
        services = UiServices(redis_url=None, model_hosts=model_hosts)
        where = "in this process, threads in memory (they end with the app)"
    else:
        services, where = _embedded_service(model_hosts)
    typer.echo(f"hanlin ui: teams run {where}; open http://{bind_host(host)}:{port}")
    launch_app(build_app(services, browser_secret=browser_secret()), launch)


def _embedded_service(model_hosts: Any) -> tuple[Any, str]:
    """The service inside this process: API on a loopback port, one worker, local Redis."""
    from hanlin.chat_teams.assistants import ChatTeams, chat_app
    from hanlin.chat_teams.memory import ChatMemoryStore
    from hanlin.service.embedded import EmbeddedService, EmbeddedSettings
    from hanlin.ui.service_client import ServiceChat
    from hanlin.ui.services import UiServices

    url = _redis_url()
    memory = ChatMemoryStore(url)  # one embedding model for the worker and the memory panel
    teams = ChatTeams(model_hosts=model_hosts, memory_store=memory)
    service = EmbeddedService(chat_app(teams), EmbeddedSettings(redis_url=url)).start()
    chat = ServiceChat(service.url, service.api_key)
    services = UiServices(redis_url=url, model_hosts=model_hosts, service=chat, memory_store=memory)
    return services, f"in the service at {service.url} (one worker here), threads in Redis at {url}"


def _remote_service(api: str, redis_url: str | None, model_hosts: Any) -> tuple[Any, str]:
    from hanlin.ui.service_client import ServiceChat
    from hanlin.ui.services import UiServices

    key = os.environ.get(UI_API_KEY_ENV, "")
    if not key:
        typer.secho(
            f"--api needs the service's front-end key in {UI_API_KEY_ENV} (start the service "
            "with hanlin api --frontend-key KEY=chat): without it every person would share "
            "one user's threads",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)
    services = UiServices(
        redis_url=redis_url, model_hosts=model_hosts, service=ServiceChat(api, key)
    )
    return services, f"in the service at {api}"


def _redis_url() -> str:
    from hanlin.redis_stack.connection import resolve_redis_url
    from hanlin.redis_stack.server import RedisServerConfig
    from hanlin.runtime.redis_runtime import redis_feature_report
    from hanlin.runtime.settings import load_settings

    settings = load_settings()
    server = RedisServerConfig(
        port=settings.redis.port,
        data_dir=settings.redis.data_dir,
        appendfsync=settings.redis.appendfsync,
    )
    url = resolve_redis_url(settings.effective_redis_url(), server)
    if report := redis_feature_report(url):
        typer.secho(report, fg="yellow", err=True)
    return url
