"""``hanlin redis``: install, start, stop and inspect the managed Redis Stack server."""

from __future__ import annotations

import typer

from hanlin.redis_stack.install import install_redis_stack
from hanlin.redis_stack.server import (
    RedisServerConfig,
    ensure_redis_server,
    redis_server_status,
    stop_redis_server,
)
from hanlin.runtime.settings import load_settings

redis_app = typer.Typer(no_args_is_help=True)


def _config() -> RedisServerConfig:
    settings = load_settings().redis
    return RedisServerConfig(
        port=settings.port, data_dir=settings.data_dir, appendfsync=settings.appendfsync
    )


@redis_app.command(help="Fetch the Redis Stack binaries (once; cached).")
def install() -> None:
    binaries = install_redis_stack(None)
    typer.echo(f"Redis Stack binaries in {binaries.root}")


@redis_app.command(help="Start the managed server (no-op when it already runs).")
def start() -> None:
    typer.echo(ensure_redis_server(_config()))


@redis_app.command(help="Stop the managed server cleanly (AOF flushed).")
def stop() -> None:
    stopped = stop_redis_server(_config())
    typer.echo("stopped" if stopped else "not running")


@redis_app.command(help="Show whether the managed server runs, and where.")
def status() -> None:
    typer.echo(redis_server_status(_config()).model_dump_json(indent=2))
