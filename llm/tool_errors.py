"""Categories of tool-call failure, shared by the parser, the tool registry and training.

They follow the error taxonomy of TL-Training's reward (format error, tool hallucination,
parameter identification, content filling), plus the runtime failures a real tool adds.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class ToolErrorKind(StrEnum):
    UNPARSABLE = "unparsable"  # the output could not be read as a tool call
    UNKNOWN_TOOL = "unknown_tool"  # the named tool does not exist (hallucinated)
    HALLUCINATED_PARAMETER = "hallucinated_parameter"  # an argument the tool does not declare
    REDUNDANT_PARAMETER = "redundant_parameter"  # an argument given twice or not wanted
    MISSING_PARAMETER = "missing_parameter"  # a required argument is absent
    INVALID_VALUE = "invalid_value"  # an argument has the wrong type or value
    TOOL_RAISED = "tool_raised"  # the tool ran and failed
    TIMED_OUT = "timed_out"  # the tool did not finish in time
    BUSY = "busy"  # the tool's earlier calls still run past their time limit; it takes no more
    REJECTED = "rejected"  # a person refused the call


class ToolCallError(BaseModel):
    """A failure the model can act on: what went wrong and what would be valid."""

    kind: ToolErrorKind
    message: str
    tool_name: str | None = None
    call_id: str | None = None
    options: list[str] = Field(default_factory=list, description="Valid alternatives, if any.")

    def for_model(self) -> str:
        """The text the model sees as the observation of the failed call."""
        text = f"Error ({self.kind.value}): {self.message}"
        if self.options:
            text += " Valid options: " + ", ".join(self.options) + "."
        return text
