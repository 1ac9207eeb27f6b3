"""``hanlin api``: serve the registered agents over the Agent Protocol (LangGraph SDK)."""

from __future__ import annotations

import os

import typer

CHAT_TEAMS_APP = "hanlin.chat_teams.assistants:app"


def api(
    app: str = typer.Option(
        CHAT_TEAMS_APP,
        "--app",
        help="The ServiceApp to serve, as module:attribute (default: the chat's built-in teams).",
    ),
    host: str = typer.Option("127.0.0.1", help="Interface; loopback unless you mean to expose it."),
    port: int = typer.Option(2024, help="Port to listen on."),
    redis_url: str | None = typer.Option(
        None, help="Redis URL (default: HANLIN_REDIS_URL, else the managed local server)."
    ),
    prefix: str = typer.Option("hanlin", help="Key prefix shared with the workers."),
    api_key: list[str] | None = typer.Option(  # noqa: B008 - typer's idiom for a repeatable option
        None,
        "--api-key",
        help="KEY=user: a key clients send as 'Authorization: Bearer KEY' (or x-api-key) and "
        "the user it acts as (repeatable); HANLIN_API_KEYS=k1=alice,k2=bob keeps keys out of "
        "the process list.",
    ),
    frontend_key: list[str] | None = typer.Option(  # noqa: B008 - a repeatable option
        None,
        "--frontend-key",
        help="KEY=name for a trusted front end (the chat) that names the user it acts for in "
        "X-Hanlin-User (repeatable); HANLIN_FRONTEND_KEYS keeps keys out of the process list.",
    ),
    no_auth: bool = typer.Option(
        False, "--no-auth", help="Serve a non-loopback host without keys (one anonymous user)."
    ),
    max_request_kb: int = typer.Option(1024, min=1, help="Larger request bodies get 413."),
    redis_connections: int = typer.Option(
        2048,
        min=2,
        help="Redis connections this API process may hold; every open stream, wait or join "
        "holds one, and a request beyond the limit waits for a free one.",
    ),
) -> None:
    from hanlin.cli.service_options import service_redis_url
    from hanlin.service.api_auth import (
        API_KEYS_ENV,
        FRONTEND_KEYS_ENV,
        AuthConfigError,
        AuthPolicy,
        check_exposure,
        parse_api_keys,
    )
    from hanlin.service.app_registry import AppLoadError, load_service_app

    try:
        keys = parse_api_keys([*(api_key or []), os.environ.get(API_KEYS_ENV, "")])
        frontends = parse_api_keys([*(frontend_key or []), os.environ.get(FRONTEND_KEYS_ENV, "")])
        policy = AuthPolicy(keys, allow_no_auth=no_auth, frontend_keys=frontends)
        check_exposure(host, policy.keys, allow_no_auth=no_auth)
        service_app = load_service_app(app)
    except (AuthConfigError, AppLoadError) as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc
    try:
        from hanlin.service.api_app import ApiSettings, serve_api
    except ImportError as exc:
        typer.secho(f"hanlin api needs pip install 'hanlin[service]' ({exc})", fg="red", err=True)
        raise typer.Exit(1) from exc

    settings = ApiSettings(
        redis_url=service_redis_url(redis_url),
        prefix=prefix,
        max_body_bytes=max_request_kb * 1024,
        redis_connections=redis_connections,
    )
    names = ", ".join(a.name for a in service_app.assistants())
    typer.echo(
        f"Serving {names} on http://{host}:{port}"
        + (f" ({len(set(keys.values()))} user(s) with API keys)" if keys else "")
    )
    serve_api(service_app, settings, policy, host=host, port=port)
