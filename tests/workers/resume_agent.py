"""A ReAct agent run in its own process, so tests can kill -9 it and resume in another.

Usage: resume_agent.py REDIS_URL THREAD WORKDIR
       start|resume|approve-start|approve-resume [DECISION_JSON]
Side effects of tools are appended to files in WORKDIR so the test can count executions.
Files in WORKDIR steer it: ``block_tool`` makes ``slow`` hang, ``block_model`` makes the
model hang on its answering turn.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from hanlin.agents.agent import Agent
from hanlin.contract.approval import ApprovalDecision
from hanlin.llm.messages import AssistantMessage, Message, ToolCall, ToolMessage
from hanlin.llm.scripted import ScriptedModel
from hanlin.runtime.redis_runtime import redis_runner
from hanlin.tools import tool

WORKDIR = Path(sys.argv[3])


def append(name: str, line: str) -> None:
    with open(WORKDIR / name, "a") as handle:
        handle.write(line + "\n")
        handle.flush()


@tool
def mark(tag: str) -> str:
    """Record a tag."""
    append("marks.log", tag)
    return f"marked {tag}"


@tool
async def slow(tag: str) -> str:
    """A slow step."""
    append("slow.log", f"start {tag}")
    while (WORKDIR / "block_tool").exists():
        await asyncio.sleep(0.05)
    return f"slow done {tag}"


@tool(requires_approval=True)
def send(to: str) -> str:
    """Send something to someone."""
    append("sent.log", to)
    return f"sent to {to}"


def script(messages: Sequence[Message]) -> AssistantMessage:
    results = [m for m in messages if isinstance(m, ToolMessage)]
    if results:
        return AssistantMessage(content="done: " + "; ".join(r.content for r in results))
    if "approval" in messages[-1].text():  # type: ignore[union-attr]
        return AssistantMessage(
            tool_calls=[ToolCall(id="a1", name="send", arguments={"to": "bob"})]
        )
    return AssistantMessage(
        tool_calls=[
            ToolCall(id="m1", name="mark", arguments={"tag": "one"}),
            ToolCall(id="s1", name="slow", arguments={"tag": "two"}),
        ]
    )


class SteeredModel(ScriptedModel):
    async def stream(self, messages, *, tools=(), options=None):  # type: ignore[override]
        if any(isinstance(m, ToolMessage) for m in messages):
            append("model.log", "answering")
            while (WORKDIR / "block_model").exists():
                await asyncio.sleep(0.05)
        async for item in super().stream(messages, tools=tools, options=options):
            yield item


async def main() -> None:
    url, thread, _, mode = sys.argv[1:5]
    agent = Agent(name="worker", model=SteeredModel([script] * 20), tools=[mark, slow, send])
    runner = redis_runner(agent, url)
    if mode == "start":
        result = await runner.run(thread, "go")
    elif mode == "approve-start":
        result = await runner.run(thread, "needs approval")
    elif mode == "resume":
        result = await runner.resume(thread)
    else:
        decision = ApprovalDecision.model_validate_json(sys.argv[5])
        print(
            json.dumps(
                {"pending": [p.model_dump(mode="json") for p in await runner.pending(thread)]}
            )
        )
        result = await runner.resume(thread, decision)
    print(
        json.dumps(
            {
                "final": result.final_answer,
                "error": result.error,
                "pending": [p.request for p in result.pending],
                "replayed": [
                    e.call_id for e in result.events if e.kind == "tool_result" and e.replayed
                ],
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
