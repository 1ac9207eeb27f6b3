"""``hanlin serve``: vLLM's OpenAI-compatible server on GPU hosts, else the embedded model."""

from __future__ import annotations

import os

import typer

from hanlin.runtime.settings import load_settings


def serve(
    port: int = typer.Option(8000, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Interface; loopback unless you mean to expose it."),
    model: str | None = typer.Option(
        None, help="A .gguf file, a model folder or (vLLM) a model id."
    ),
    name: str = typer.Option("hanlin-local", help="The model name clients ask for."),
    threads: int | None = typer.Option(None, help="CPU threads for the embedded model."),
    no_vllm: bool = typer.Option(
        False, "--no-vllm", help="Serve in-process even if vLLM is installed."
    ),
    api_key: list[str] | None = typer.Option(  # noqa: B008 - typer's idiom for a repeatable option
        None,
        "--api-key",
        help="A key clients must send as 'Authorization: Bearer <key>' "
        "(repeatable); HANLIN_SERVE_API_KEYS=key1,key2 keeps keys out of the process list.",
    ),
    no_auth: bool = typer.Option(
        False, "--no-auth", help="Allow a non-loopback host without an API key."
    ),
    max_request_mb: float = typer.Option(8.0, min=0.01, help="Larger request bodies get 413."),
    max_active: int = typer.Option(
        2,
        min=1,
        help="Requests at the model at once (the "
        "embedded model generates one at a time; the next one "
        "tokenizes meanwhile).",
    ),
    max_queue: int = typer.Option(8, min=0, help="Requests waiting beyond those; more get 429."),
    queue_timeout: float = typer.Option(
        120.0, min=0.1, help="Seconds a request may wait for the model before it gets 503."
    ),
) -> None:
    from hanlin.serving.access import (
        API_KEYS_ENV,
        ServeAccessError,
        check_exposure,
        parse_api_keys,
    )
    from hanlin.serving.vllm_launcher import run_vllm, vllm_available

    try:
        keys = parse_api_keys([*(api_key or []), os.environ.get(API_KEYS_ENV, "")])
        check_exposure(host, keys, allow_no_auth=no_auth)
    except ServeAccessError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc

    if vllm_available() and not no_vllm and model:
        if len(keys) > 1:
            typer.secho("vLLM takes a single API key", fg="red", err=True)
            raise typer.Exit(2)
        if keys:
            os.environ["VLLM_API_KEY"] = keys[0]  # the environment, not argv: keeps it out of ps
        run_vllm(model, host=host, port=port)
        return
    from hanlin.runtime.models import model_from_settings
    from hanlin.serving.limits import MIB, ServerLimits
    from hanlin.serving.server import serve as serve_models

    limits = ServerLimits(
        max_body_bytes=int(max_request_mb * MIB),
        max_active=max_active,
        max_waiting=max_queue,
        queue_timeout_s=queue_timeout,
    )
    settings = load_settings().model.model_copy(update={"provider": "local"})
    if model:
        settings.path = model
    if threads:
        settings.threads = threads
    typer.echo(
        f"Serving {name} on http://{host}:{port}/v1"
        + (f" ({len(keys)} API key(s) required)" if keys else "")
    )
    serve_models(
        {name: model_from_settings(settings)},
        host=host,
        port=port,
        limits=limits,
        api_keys=keys,
        allow_no_auth=no_auth,
    )
