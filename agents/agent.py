"""``Agent``: a named role with a model, tools and a planner, defined in plain Python."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph import StateGraph
from pydantic import BaseModel, ConfigDict, Field

from hanlin.llm.chat_model import ChatModel, ChatOptions
from hanlin.planner.approval import ApprovalPolicy
from hanlin.planner.journal import MemoryToolJournal, ToolJournal
from hanlin.planner.react import ReActLoop
from hanlin.tools.registry import ToolRegistry


class Agent(BaseModel):
    """A ReAct agent. ``graph()`` gives its LangGraph graph, for hanlin's runner or your own.

    ``approval``: ``per_tool`` asks a person before tools marked ``requires_approval``,
    ``always`` before every call, ``never`` runs calls directly.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_\- ]{1,64}$")
    model: Any = Field(description="A hanlin ChatModel.")
    instructions: str = "You are a helpful assistant. Use a tool when it helps; then answer."
    tools: list[Any] = Field(default_factory=list, description="Tools made with @tool or Tool.")
    max_steps: int = Field(default=8, ge=1, le=100)
    approval: ApprovalPolicy = "per_tool"
    options: ChatOptions = Field(default_factory=ChatOptions)
    first_step_tool_choice: Literal["auto", "required"] = Field(
        default="auto", description="'required' makes the first step of each turn a tool call "
        "(constrained decoding on local models): small models rarely call tools unprompted.",
    )

    def model_post_init(self, context: Any) -> None:
        if not isinstance(self.model, ChatModel):
            raise TypeError(f"Agent {self.name!r}: model must implement hanlin's ChatModel protocol")

    def registry(self) -> ToolRegistry:
        return ToolRegistry(self.tools)

    def graph(self, *, journal: ToolJournal | None = None) -> StateGraph:
        return ReActLoop(
            name=self.name, model=self.model, registry=self.registry(),
            instructions=self.instructions, max_steps=self.max_steps, options=self.options,
            approval=self.approval, journal=journal or MemoryToolJournal(),
            first_step_tool_choice=self.first_step_tool_choice,
        ).build()
