"""``hanlin worker``: execute the runs ``hanlin api`` queues, from the same Redis."""

from __future__ import annotations

import logging

import typer

CHAT_TEAMS_APP = "hanlin.chat_teams.assistants:app"


def worker(
    app: str = typer.Option(
        CHAT_TEAMS_APP,
        "--app",
        help="The ServiceApp to serve, as module:attribute (default: the chat's built-in teams).",
    ),
    redis_url: str | None = typer.Option(
        None, help="Redis URL (default: HANLIN_REDIS_URL, else the managed local server)."
    ),
    prefix: str = typer.Option("hanlin", help="Key prefix shared with the API."),
    concurrency: int = typer.Option(4, min=1, help="Runs this process executes at once."),
    lease_seconds: float = typer.Option(
        10.0, min=0.2, help="A run whose worker stops renewing this long is taken over."
    ),
    max_attempts: int = typer.Option(
        3, min=1, help="Starts of a run (first one and take-overs) before it fails."
    ),
    worker_id: str | None = typer.Option(None, help="Name in logs and leases (default: host-pid)."),
    log_level: str = typer.Option("info", help="debug, info, warning or error."),
) -> None:
    from hanlin.cli.service_options import service_redis_url
    from hanlin.service.app_registry import AppLoadError, load_service_app
    from hanlin.service.worker import WorkerSettings, run_worker

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    try:
        service_app = load_service_app(app)
    except AppLoadError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc
    settings = WorkerSettings(
        redis_url=service_redis_url(redis_url),
        prefix=prefix,
        lease_s=lease_seconds,
        max_attempts=max_attempts,
        concurrency=concurrency,
        worker_id=worker_id or "",
    )
    run_worker(service_app, settings)
