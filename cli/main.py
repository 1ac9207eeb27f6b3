"""The ``hanlin`` command line: chat, serve, api, worker, redis, sandbox."""

from __future__ import annotations

import typer

from hanlin.cli.api_command import api
from hanlin.cli.chat import chat
from hanlin.cli.redis_commands import redis_app
from hanlin.cli.serve import serve
from hanlin.cli.train_command import train_app
from hanlin.cli.ui_command import ui
from hanlin.cli.worker_command import worker

app = typer.Typer(
    help="hanlin: agent orchestration on your own models.",
    no_args_is_help=True,
    add_completion=False,
)
app.command(help="Chat in the terminal with a ReAct agent that has a calculator.")(chat)
app.command(help="Open the multi-agent chat in the browser (Gradio).")(ui)
app.command(help="Serve a model over the OpenAI-compatible API (vLLM when installed).")(serve)
app.command(help="Serve registered agents over the Agent Protocol (LangGraph SDK).")(api)
app.command(help="Execute the runs the agent API queues (run one or more next to it).")(worker)
app.add_typer(
    train_app,
    name="train",
    help="Tool-learning fine-tuning (TL-Training): data, sft, ppo, grpo, eval.",
)
app.add_typer(redis_app, name="redis", help="Manage the local Redis Stack server hanlin uses.")


@app.command(help="Print hanlin's version.")
def version() -> None:
    from hanlin import __version__

    typer.echo(__version__)


try:  # the sandbox commands live with the sandbox
    from hanlin.cli.sandbox_commands import sandbox_app

    app.add_typer(sandbox_app, name="sandbox", help="Check and use the code sandbox.")
except ImportError:  # pragma: no cover - only while the sandbox package is absent
    pass


if __name__ == "__main__":
    app()
