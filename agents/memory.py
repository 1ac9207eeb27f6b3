"""Long-term memory around an agent's turn: recall before the model, remember after.

Recall puts the retrieved memories (with their dates), the global summary and the personality
portrait into the turn's system prompt and streams a ``memory_recall`` event; remember stores
the exchange as a ``turn`` memory, which then fades unless it is recalled. The user is the
run's ``user_id`` (``Runner(..., user_id=...)`` or ``configurable.user_id``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig

from hanlin.contract.events import MemoryRecallEvent, emit
from hanlin.contract.state import AgentState, state_messages
from hanlin.llm.messages import UserMessage

DEFAULT_USER = "default"


def user_of(config: RunnableConfig) -> str:
    return str((config.get("configurable") or {}).get("user_id") or DEFAULT_USER)


def last_user_text(state: AgentState) -> str:
    for message in reversed(state_messages(state)):
        if isinstance(message, UserMessage) and message.name != "tool_feedback":
            return message.text()
    return ""


@dataclass
class AgentMemory:
    """``store`` is a ``hanlin.memory.MemoryStore``; ``k`` memories are recalled per turn."""

    store: Any
    k: int = 3
    language: Literal["en", "zh"] = "en"
    remember_turns: bool = True

    def hooks(self, agent: str) -> tuple[Any, Any]:
        from hanlin.memory.augment import build_memory_context
        from hanlin.memory.prompts import dialogue_turn_text
        from hanlin.memory.retrying import MemoryUnavailable

        async def recall(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
            query = fit(last_user_text(state), self.store.max_text_chars)
            if not query:
                return {"context": None}
            try:
                context = await build_memory_context(
                    self.store, user_of(config), query, k=self.k, language=self.language
                )
            except MemoryUnavailable:
                return {"context": None}
            if context.recalled:
                emit(MemoryRecallEvent(agent=agent, memories=context.event_memories))
            return {"context": context.text or None}

        async def remember(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
            answer = state.get("final_answer")
            if self.remember_turns and answer:
                text = dialogue_turn_text(last_user_text(state), answer, language=self.language)
                with contextlib.suppress(MemoryUnavailable):
                    await self.store.add(
                        user_of(config), agent, fit(text, self.store.max_text_chars)
                    )
            return {}

        return recall, remember


def fit(text: str, limit: int) -> str:
    """``text`` cut to a memory's length limit: a long turn (a pasted document) is still
    remembered and searched by its beginning rather than refused."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + "…"


def short_term_window(model: Any, max_tokens: int, language: Literal["en", "zh"] = "en") -> Any:
    """What the model sees: the recent messages within ``max_tokens`` (counted with the
    model's tokenizer where it has one), older ones folded into a running summary that is
    kept in the graph state. The checkpointed history itself stays complete."""
    from hanlin.memory.short_term import ShortTermMemory, ShortTermState

    async def window(state: AgentState, messages: list[Any]) -> tuple[list[Any], dict[str, Any]]:
        folded = int(state.get("folded") or 0)
        short_term = ShortTermMemory(
            model,
            max_tokens=max_tokens,
            language=language,
            state=ShortTermState(summary=state.get("summary") or ""),
        )
        await short_term.add(*messages[folded:])
        kept = {"summary": short_term.summary or None, "folded": folded + short_term.folded_count}
        return short_term.window(), kept

    return window
