"""The application the service tests serve: scripted ReAct agents with tools that leave
traces in files, so tests can count executions across worker processes.

The folder comes from ``HANLIN_TEST_SERVICE_DIR``. The user's message picks what happens:
``count T`` calls ``count``; ``hold T`` calls ``count`` and ``hold`` (which waits while the
file ``hold.block`` exists); ``send P`` calls ``send``, which needs approval; ``crash``
calls ``crash``, which kills its own process; anything else is echoed.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Sequence
from pathlib import Path

from hanlin.agents.agent import Agent
from hanlin.llm.messages import AssistantMessage, Message, ToolCall, ToolMessage, UserMessage
from hanlin.llm.scripted import ScriptedModel
from hanlin.service import ServiceApp
from hanlin.tools import tool

WORKDIR = Path(os.environ.get("HANLIN_TEST_SERVICE_DIR", "."))


def append(name: str, line: str) -> None:
    with open(WORKDIR / name, "a") as handle:
        handle.write(line + "\n")


@tool
def count(tag: str) -> str:
    """Count one execution under a tag."""
    append("count.log", tag)
    return f"counted {tag}"


@tool
async def hold(tag: str) -> str:
    """Wait while the test holds the run."""
    append("hold.log", f"start {tag}")
    while (WORKDIR / "hold.block").exists():
        await asyncio.sleep(0.05)
    return f"held {tag}"


@tool(requires_approval=True)
def send(to: str) -> str:
    """Send something to someone."""
    append("sent.log", to)
    return f"sent to {to}"


@tool
def crash() -> str:
    """Kill the process running this tool."""
    append("crash.log", str(os.getpid()))
    os.kill(os.getpid(), signal.SIGKILL)
    return "unreachable"


def _turn(messages: Sequence[Message]) -> tuple[str, list[ToolMessage]]:
    last_user = max(i for i, m in enumerate(messages) if isinstance(m, UserMessage))
    text = messages[last_user].text()  # type: ignore[union-attr]
    results = [m for m in messages[last_user:] if isinstance(m, ToolMessage)]
    return text, results


def script(messages: Sequence[Message]) -> AssistantMessage:
    text, results = _turn(messages)
    if results:
        return AssistantMessage(content="done: " + "; ".join(r.content for r in results))
    verb, _, arg = text.partition(" ")
    calls = {
        "count": [ToolCall(id="c1", name="count", arguments={"tag": arg})],
        "hold": [
            ToolCall(id="c1", name="count", arguments={"tag": arg}),
            ToolCall(id="h1", name="hold", arguments={"tag": arg}),
        ],
        "send": [ToolCall(id="s1", name="send", arguments={"to": arg})],
        "crash": [ToolCall(id="x1", name="crash", arguments={})],
    }.get(verb)
    if calls is None:
        return AssistantMessage(content=f"echo: {text}")
    return AssistantMessage(tool_calls=calls)


def react_agent() -> Agent:
    """A fresh agent per run: the scripted model counts its turns."""
    return Agent(name="react", model=ScriptedModel([script] * 20), tools=[count, hold, send, crash])


app = ServiceApp()
app.register("react", react_agent, description="A scripted ReAct agent with counting tools.")
app.register(
    "echo",
    Agent(name="echo", model=ScriptedModel([script] * 10_000)),
    description="Echoes the message.",
    metadata={"kind": "test"},
)
