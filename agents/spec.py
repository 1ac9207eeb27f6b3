"""What every agent and team shares: a checked name and model, perception, and ways to run.

Agents and teams are pydantic specs that build their own LangGraph graph. The base holds what
they would otherwise each repeat: the name rule, the check that a model really is a hanlin
``ChatModel``, the typed tool list, turning attachments into text the models can read, and
``run`` / ``run_sync`` for scripts and notebooks.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Annotated, Any

from langgraph.graph import StateGraph
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from hanlin.contract.journal import ToolJournal
from hanlin.llm.chat_model import ChatModel
from hanlin.llm.messages import TextPart, UserMessage
from hanlin.planner.react import DEFAULT_INSTRUCTIONS
from hanlin.tools.tool import Tool
from hanlin.tools.toolkit import Toolkit

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "NAME_PATTERN",
    "AgentName",
    "AgentSpec",
    "ChatModelField",
    "ToolItem",
]

if TYPE_CHECKING:
    from hanlin.runtime.runner import RunResult

NAME_PATTERN = r"^[A-Za-z0-9_\- ]{1,64}$"


def _require_chat_model(value: Any) -> Any:
    if not isinstance(value, ChatModel):
        raise ValueError(
            f"expected a hanlin ChatModel (LocalModel, OpenAICompatibleModel, ScriptedModel or "
            f"your own with chat() and stream()), got {type(value).__name__}"
        )
    return value


AgentName = Annotated[
    str, Field(pattern=NAME_PATTERN, description="Letters, digits, _ - and spaces; at most 64.")
]
# A Protocol cannot be a pydantic schema, so the field takes any object and checks it here.
ChatModelField = Annotated[Any, AfterValidator(_require_chat_model)]
ToolItem = Tool | Toolkit | Callable[..., Any]


class AgentSpec(BaseModel):
    """The base of agents and teams. Subclasses add their settings and implement ``graph``.

    ``prepare`` is the one place a user's attachments become text (or stay images and audio
    for models that take them); the ``Runner`` calls it once per turn for agents and teams.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: AgentName
    perception: Any = Field(
        default=None,
        description="A Perception; default: one is made when a message has "
        "attachments (documents, images, audio).",
    )
    model_sees_images: bool = Field(default=False, description="Send images to the model as is.")
    model_hears_audio: bool = Field(default=False, description="Send audio to the model as is.")

    def graph(self, *, journal: ToolJournal | None = None) -> StateGraph:
        raise NotImplementedError(f"{type(self).__name__} must build its graph")

    async def prepare(self, message: UserMessage) -> UserMessage:
        """Perception: attachments become parts this spec's models can read."""
        if isinstance(message.content, str) or all(
            isinstance(p, TextPart) for p in message.content
        ):
            return message
        from hanlin.agents.perception import Perception

        perception = self.perception or Perception()
        return await perception.perceive(
            message,
            model_supports_vision=self.model_sees_images,
            model_supports_audio=self.model_hears_audio,
        )

    async def run(self, message: str | UserMessage, *, user_id: str | None = None) -> RunResult:
        """One turn on a new in-memory thread. Conversations, Redis state, approvals and
        streaming go through ``Runner``."""
        from hanlin.runtime.runner import Runner

        return await Runner(self).run(f"run-{uuid.uuid4().hex[:12]}", message, user_id=user_id)

    def run_sync(self, message: str | UserMessage, *, user_id: str | None = None) -> RunResult:
        """``run`` for scripts and notebooks: blocks until the turn ends.

        Where an event loop is already running (a notebook cell, an async framework), the turn
        runs on its own loop in a worker thread, since blocking the running loop on itself
        would never finish.
        """
        turn = functools.partial(self.run, message, user_id=user_id)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(turn())
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hanlin-run-sync") as pool:
            return pool.submit(lambda: asyncio.run(turn())).result()
