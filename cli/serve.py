"""``hanlin serve``: vLLM's OpenAI-compatible server on GPU hosts, else the embedded model."""

from __future__ import annotations

import typer

from hanlin.runtime.settings import load_settings


def serve(
    port: int = typer.Option(8000, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Interface; loopback unless you mean to expose it."),
    model: str | None = typer.Option(None, help="A .gguf file, a model folder or (vLLM) a model id."),
    name: str = typer.Option("hanlin-local", help="The model name clients ask for."),
    threads: int | None = typer.Option(None, help="CPU threads for the embedded model."),
    no_vllm: bool = typer.Option(False, "--no-vllm", help="Serve in-process even if vLLM is installed."),
) -> None:
    from hanlin.llm.vllm_launcher import run_vllm, vllm_available

    if vllm_available() and not no_vllm and model:
        run_vllm(model, host=host, port=port)
        return
    from hanlin.llm.openai_server import serve as serve_models
    from hanlin.runtime.models import model_from_settings

    settings = load_settings().model.model_copy(update={"provider": "local"})
    if model:
        settings.path = model
    if threads:
        settings.threads = threads
    typer.echo(f"Serving {name} on http://{host}:{port}/v1")
    serve_models({name: model_from_settings(settings)}, host=host, port=port)
