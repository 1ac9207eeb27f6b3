"""Human approval of tool calls: what the run asks and what a person answers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from hanlin.llm.messages import ToolCall


class ApprovalRequest(BaseModel):
    kind: Literal["tool_approval"] = "tool_approval"
    agent: str
    call: ToolCall
    description: str = ""


class ApprovalDecision(BaseModel):
    """``edit`` runs the call with ``arguments`` instead; ``reject`` tells the model ``reason``."""

    action: Literal["approve", "edit", "reject"]
    arguments: dict[str, Any] | None = None
    reason: str = Field(default="The user rejected this tool call.")


ApprovalPolicy = Literal["never", "always", "per_tool"]
