"""What a chat session runs: the team, its model and its tools, as the UI's form sets them.

A plain pydantic model, so a configuration can be validated, shown, stored in the browser
and used as a cache key without importing Gradio.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, HttpUrl, model_validator

TeamKind = Literal["react", "debate", "role_play", "supervisor"]
ToolName = Literal["calculator", "python", "scratch_files", "memory"]

TEAM_LABELS: dict[TeamKind, str] = {
    "react": "ReAct agent",
    "debate": "Multi-agent debate",
    "role_play": "Role-play (CAMEL)",
    "supervisor": "Supervisor with helpers",
}
TOOL_LABELS: dict[ToolName, str] = {
    "calculator": "calculator",
    "python": "python (sandbox)",
    "scratch_files": "scratch files",
    "memory": "memory search/store",
}


class TeamConfig(BaseModel):
    """``model_url`` unset means the embedded local model."""

    kind: TeamKind = "react"
    model_url: HttpUrl | None = None
    model_name: str = Field(default="default", min_length=1, max_length=200)
    tools: list[ToolName] = Field(default_factory=lambda: list[ToolName](["calculator"]))
    approve_tools: bool = Field(default=False, description="Ask a person before every tool call.")
    long_term_memory: bool = True
    debaters: int = Field(default=3, ge=2, le=6)
    rounds: int = Field(default=2, ge=1, le=5)
    assistant_role: str = Field(default="Python Programmer", min_length=1, max_length=200)
    user_role: str = Field(default="Stock Trader", min_length=1, max_length=200)
    max_turns: int = Field(default=4, ge=1, le=40)
    max_tokens: int = Field(default=256, ge=16, le=8192, description="Per model reply.")

    @model_validator(mode="after")
    def _distinct_roles(self) -> TeamConfig:
        if self.kind == "role_play" and (
            self.assistant_role.strip().lower() == self.user_role.strip().lower()
        ):
            raise ValueError("the two role-play roles must differ")
        return self

    @property
    def uses_embedded_model(self) -> bool:
        return self.model_url is None

    def cache_key(self) -> str:
        return self.model_dump_json()
