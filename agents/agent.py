"""``Agent``: a named role with a model, tools and a planner, defined in plain Python."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph import StateGraph
from pydantic import Field

from hanlin.agents.spec import DEFAULT_INSTRUCTIONS, AgentSpec, ChatModelField, ToolItem
from hanlin.contract.approval import ApprovalPolicy
from hanlin.contract.journal import MemoryToolJournal, ToolJournal
from hanlin.llm.chat_model import ChatOptions
from hanlin.planner.react import ReActLoop, ToolPolicy
from hanlin.tools.registry import ToolRegistry


class Agent(AgentSpec):
    """A ReAct agent. ``graph()`` gives its LangGraph graph, for hanlin's runner or your own.

    ``approval``: ``per_tool`` asks a person before tools marked ``requires_approval``,
    ``always`` before every call, ``never`` runs calls directly.
    """

    model: ChatModelField
    instructions: str = DEFAULT_INSTRUCTIONS
    tools: list[ToolItem] = Field(
        default_factory=list, description="Tools made with @tool or Tool."
    )
    max_steps: int = Field(default=8, ge=1, le=100)
    approval: ApprovalPolicy = "per_tool"
    options: ChatOptions = Field(default_factory=ChatOptions)
    memory: Any = Field(default=None, description="An AgentMemory: recall before, remember after.")
    short_term_tokens: int | None = Field(
        default=None,
        ge=64,
        description="Token budget of the conversation the model sees; "
        "older messages are folded into a running summary (None: send the whole thread).",
    )
    tool_policy: ToolPolicy = Field(
        default="auto",
        description="'auto': the model decides (a local model first decides whether a tool "
        "fits, then writes an exact call or an answer); 'call_first': the first step of "
        "each turn must call a tool; 'call_once': one forced tool step, then an answer.",
    )

    def registry(self) -> ToolRegistry:
        return ToolRegistry(self.tools)

    def graph(self, *, journal: ToolJournal | None = None) -> StateGraph:
        before, after = self.memory.hooks(self.name) if self.memory is not None else (None, None)
        return ReActLoop(
            name=self.name,
            model=self.model,
            registry=self.registry(),
            instructions=self.instructions,
            max_steps=self.max_steps,
            options=self.options,
            approval=self.approval,
            journal=journal or MemoryToolJournal(),
            tool_policy=self.tool_policy,
            window=self._window(),
        ).build(before=before, after=after)

    def _window(self) -> Any:
        if self.short_term_tokens is None:
            return None
        from hanlin.agents.memory import short_term_window

        language: Literal["en", "zh"] = self.memory.language if self.memory is not None else "en"
        return short_term_window(self.model, self.short_term_tokens, language)
