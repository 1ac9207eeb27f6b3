"""``hanlin ui``: the multi-agent chat in the browser, on the embedded defaults."""

from __future__ import annotations

import os

import typer


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
) -> None:
    from hanlin.ui.launch import (
        UiAuthError,
        UiLaunch,
        bind_host,
        check_exposure,
        parse_auth,
        quiet_gradio,
    )
    from hanlin.ui.model_hosts import ModelHostRefused, ModelHosts

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

    redis_url = None if memory_only else _redis_url()
    services = UiServices(redis_url=redis_url, model_hosts=model_hosts)
    where = "memory (threads end with the app)" if redis_url is None else f"Redis at {redis_url}"
    typer.echo(f"hanlin ui: threads in {where}; open http://{bind_host(host)}:{port}")
    launch_app(build_app(services, browser_secret=browser_secret()), launch)


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
