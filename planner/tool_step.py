"""The tool step of a ReAct loop: approval, idempotent execution, observations.

Order matters for resumption: approvals are collected first (``interrupt`` re-runs the node,
so nothing may execute before the last answer is in), then calls run concurrently and each
result is journaled the moment it exists.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from langgraph.types import interrupt

from hanlin.contract.approval import ApprovalDecision, ApprovalPolicy, ApprovalRequest
from hanlin.contract.events import ToolCallEvent, ToolResultEvent, emit
from hanlin.contract.journal import ToolJournal
from hanlin.llm.messages import AssistantMessage, ToolCall, ToolMessage
from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.tools.registry import ToolRegistry


def needs_approval(registry: ToolRegistry, call: ToolCall, policy: ApprovalPolicy) -> bool:
    if policy == "never":
        return False
    if policy == "always":
        return True
    tool = registry.get(call.name)
    return tool is not None and tool.requires_approval


def _ask(agent: str, registry: ToolRegistry, call: ToolCall) -> ApprovalDecision:
    tool = registry.get(call.name)
    description = tool.spec.description if tool is not None else ""
    answer = interrupt(
        ApprovalRequest(agent=agent, call=call, description=description).model_dump(mode="json")
    )
    if isinstance(answer, ApprovalDecision):
        return answer
    if isinstance(answer, str):
        return ApprovalDecision(action=answer)
    return ApprovalDecision.model_validate(answer)


def _rejection(call: ToolCall, reason: str) -> ToolMessage:
    return ToolMessage(
        tool_call_id=call.id,
        name=call.name,
        content=f"Error (rejected): {reason}",
        is_error=True,
        error_kind=ToolErrorKind.REJECTED.value,
    )


async def run_tool_step(
    message: AssistantMessage,
    *,
    agent: str,
    thread_id: str,
    registry: ToolRegistry,
    journal: ToolJournal,
    policy: ApprovalPolicy,
    step: int | str = "",
) -> list[ToolMessage]:
    """Execute the calls of ``message`` once each, even across crashes and resumes.

    Results are journaled under the graph step and the call id: a resumed step re-runs with
    the same step number, while a model that reuses ids (``call_0`` every turn) in a later
    step can never be served an earlier step's result.
    """
    done: dict[str, ToolMessage] = {}

    def key(call: ToolCall) -> str:
        return f"{step}:{call.id}" if step != "" else call.id

    for call in message.tool_calls:
        recorded = await journal.get(thread_id, key(call))
        if recorded is not None:
            done[call.id] = recorded
            emit(_result_event(agent, recorded, replayed=True))

    to_run: list[ToolCall] = []
    for call in message.tool_calls:
        if call.id in done:
            continue
        if needs_approval(registry, call, policy):
            decision = _ask(agent, registry, call)
            if decision.action == "reject":
                done[call.id] = _rejection(call, decision.reason)
                await journal.put(thread_id, key(call), done[call.id])
                emit(_result_event(agent, done[call.id]))
                continue
            if decision.action == "edit" and decision.arguments is not None:
                call = call.model_copy(update={"arguments": decision.arguments})
        to_run.append(call)

    async def execute(call: ToolCall) -> None:
        emit(ToolCallEvent(agent=agent, call=call))
        result = (await registry.execute(call)).to_message()
        await journal.put(thread_id, key(call), result)
        done[call.id] = result
        emit(_result_event(agent, result))

    await asyncio.gather(*(execute(c) for c in to_run))
    return [done[c.id] for c in message.tool_calls]


def _result_event(agent: str, result: ToolMessage, replayed: bool = False) -> ToolResultEvent:
    return ToolResultEvent(
        agent=agent,
        call_id=result.tool_call_id,
        name=result.name,
        content=result.content,
        is_error=result.is_error,
        error_kind=result.error_kind,
        replayed=replayed,
    )


def thread_of(config: Mapping[str, Any]) -> str:
    return str((config.get("configurable") or {}).get("thread_id", "default"))


def step_of(config: Mapping[str, Any]) -> int | str:
    """LangGraph's superstep number: it grows across a thread's runs and is the same when an
    interrupted or crashed step runs again."""
    return (config.get("metadata") or {}).get("langgraph_step", "")
