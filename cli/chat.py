"""``hanlin chat``: a ReAct agent with a calculator in the terminal, threads kept in Redis."""

from __future__ import annotations

import asyncio
import sys
import uuid

import typer

from hanlin.contract.events import (
    ErrorEvent,
    Event,
    FinalAnswerEvent,
    InterruptEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
)

INSTRUCTIONS = (
    "You are a careful assistant. For any arithmetic, call the calculator tool, then give the "
    "final answer in one short sentence."
)


def chat(
    once: str | None = typer.Option(None, help="Ask one question, print the answer, exit."),
    thread: str | None = typer.Option(None, help="Thread id to continue (default: a new one)."),
    memory_only: bool = typer.Option(
        False, "--memory-only", help="Keep the thread in memory, not Redis."
    ),
    model_url: str | None = typer.Option(None, help="Use an OpenAI-compatible server instead."),
    model_name: str = typer.Option("default", help="Model name on that server."),
    tool_policy: str | None = typer.Option(
        None,
        help="auto | call_first | call_once. Default: call_once on the embedded model "
        "(it never calls tools unprompted), auto on a server.",
    ),
) -> None:
    thread_id = thread or f"cli-{uuid.uuid4().hex[:8]}"
    asyncio.run(_chat(once, thread_id, memory_only, model_url, model_name, tool_policy))


def _build_runner(
    memory_only: bool, model_url: str | None, model_name: str, tool_policy: str | None
):  # type: ignore[no-untyped-def]
    from hanlin.agents.agent import Agent
    from hanlin.runtime.models import model_from_settings
    from hanlin.runtime.runner import Runner
    from hanlin.runtime.settings import load_settings
    from hanlin.tools.builtin.calculator import calculator

    settings = load_settings()
    model_settings = settings.model
    if model_url:
        model_settings = model_settings.model_copy(
            update={"provider": "openai", "base_url": model_url, "name": model_name}
        )
    policy = tool_policy or ("call_once" if model_settings.provider == "local" else "auto")
    agent = Agent(
        name="assistant",
        model=model_from_settings(model_settings),
        instructions=INSTRUCTIONS,
        tools=[calculator],
        max_steps=4,
        tool_policy=policy,
    )
    if memory_only:
        return Runner(agent)
    from hanlin.redis_stack.connection import resolve_redis_url
    from hanlin.redis_stack.server import RedisServerConfig
    from hanlin.runtime.redis_runtime import redis_feature_report, redis_runner

    server = RedisServerConfig(
        port=settings.redis.port,
        data_dir=settings.redis.data_dir,
        appendfsync=settings.redis.appendfsync,
    )
    url = resolve_redis_url(settings.effective_redis_url(), server)
    if report := redis_feature_report(url):
        typer.secho(report, fg="yellow", err=True)
    return redis_runner(agent, url)


def _show(event: Event) -> None:
    if isinstance(event, TokenEvent):
        sys.stdout.write(event.text)
        sys.stdout.flush()
    elif isinstance(event, ToolCallEvent):
        typer.secho(f"\n  -> {event.call.name}({event.call.arguments})", fg="cyan")
    elif isinstance(event, ToolResultEvent):
        typer.secho(f"  <- {event.content}", fg="red" if event.is_error else "green")
    elif isinstance(event, ErrorEvent):
        typer.secho(f"\n  ! {event.message}", fg="red")
    elif isinstance(event, InterruptEvent):
        typer.secho(f"\n  ? approval needed: {event.request}", fg="yellow")
    elif isinstance(event, FinalAnswerEvent):
        typer.secho(f"\nanswer: {event.content}", bold=True)


async def _chat(
    once: str | None,
    thread: str,
    memory_only: bool,
    model_url: str | None,
    model_name: str,
    tool_policy: str | None,
) -> None:
    runner = _build_runner(memory_only, model_url, model_name, tool_policy)
    if once is not None:
        async for event in runner.stream(thread, once):
            _show(event)
        return
    typer.echo(f"hanlin chat (thread {thread}). Empty line or Ctrl-D to quit.")
    while True:
        try:
            question = input("\nyou> ").strip()
        except EOFError:
            break
        if not question:
            break
        async for event in runner.stream(thread, question):
            _show(event)
