"""Short-term memory: the recent conversation, kept within a token budget.

The window holds the latest messages verbatim. When it outgrows its budget, the oldest
exchanges are folded into a running summary written by a chat model, so nothing leaves the
context without a trace. An exchange is a user message, or an assistant message together with
the results of the tools it called: a tool call is never separated from its result. Tokens
are counted with the agent model's own tokenizer where one is at hand (``LocalModel``), else
with a deliberately generous estimate.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from hanlin.llm.chat_model import ChatModel, ChatOptions
from hanlin.llm.local_prompt import render_tool_call, render_tool_result
from hanlin.llm.messages import AssistantMessage, Message, SystemMessage, ToolMessage, UserMessage
from hanlin.memory.prompts import (
    CONVERSATION_SUMMARY_HEADING,
    Language,
    check_language,
    conversation_fold_prompt,
    render_transcript,
    summary_request,
    user_text,
)

if TYPE_CHECKING:
    from hanlin.llm.local_model import LocalModel


@runtime_checkable
class TokenCounter(Protocol):
    """Counts the tokens a text takes in some model's vocabulary."""

    def count(self, text: str) -> int: ...


# Scripts whose characters cost at least one token each in any vocabulary: CJK ideographs,
# kana, Hangul, CJK punctuation and full-width forms.
_WIDE = (
    r"\u1100-\u11ff\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3200-\u4dbf"
    r"\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
    r"\U00020000-\U0003ffff"
)
_PIECES = re.compile(
    rf"(?P<wide>[{_WIDE}])|(?P<word> ?[A-Za-z]+)|(?P<space>\s+)|(?P<other>.)", re.DOTALL
)


class EstimatedTokenCounter:
    """A tokenizer-free estimate that errs on the high side, for models we cannot tokenize.

    Latin words cost one token per ``letters_per_token`` letters (a leading space rides
    along); every CJK character ``wide_char_tokens`` (SmolLM2 spends about 2 per Chinese
    character, models with Chinese vocabularies about 0.7); digits, punctuation and runs of
    whitespace one each; other non-ASCII characters two.
    """

    def __init__(self, *, wide_char_tokens: float = 2.0, letters_per_token: int = 4) -> None:
        if wide_char_tokens <= 0 or letters_per_token < 1:
            raise ValueError("wide_char_tokens must be positive and letters_per_token at least 1")
        self.wide_char_tokens = wide_char_tokens
        self.letters_per_token = letters_per_token

    def count(self, text: str) -> int:
        total = 0.0
        for piece in _PIECES.finditer(text):
            kind, value = piece.lastgroup, piece.group()
            if kind == "wide":
                total += self.wide_char_tokens
            elif kind == "word":
                total += math.ceil(len(value.lstrip(" ")) / self.letters_per_token)
            elif kind == "other" and not value.isascii():
                total += 2
            else:
                total += 1
        return math.ceil(total)


class LocalModelTokenCounter:
    """Exact counts with the tokenizer of a llama.cpp model (loads the model on first use)."""

    def __init__(self, model: LocalModel) -> None:
        self.model = model

    def count(self, text: str) -> int:
        # Tokenizing reads only the vocabulary, not the context, so no lock is needed.
        llama = self.model.load().llama
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))


def token_counter_for(model: object) -> TokenCounter:
    """The exact counter when ``model`` is a ``LocalModel``, else the generous estimate."""
    from hanlin.llm.local_model import LocalModel

    if isinstance(model, LocalModel):
        return LocalModelTokenCounter(model)
    return EstimatedTokenCounter()


def wire_text(message: Message) -> str:
    """A message as chat templates put it into the prompt, tool calls in Hermes form."""
    if isinstance(message, AssistantMessage):
        return "\n".join(
            [message.content] * bool(message.content)
            + [render_tool_call(call) for call in message.tool_calls]
        )
    if isinstance(message, ToolMessage):
        return render_tool_result(message)
    if isinstance(message, UserMessage):
        return user_text(message)
    return message.content


class ShortTermOverflow(ValueError):
    """A single message is larger than the window can ever hold."""


class ShortTermFoldError(RuntimeError):
    """The summary model gave nothing usable; the turns stay in the window, unfolded."""


class Fold(BaseModel):
    """One fold: which messages went into the summary, and the summary they produced."""

    folded: list[Message]
    summary: str
    tokens_before: int
    tokens_after: int


class ShortTermState(BaseModel):
    """Everything needed to rebuild the window (for checkpoints)."""

    summary: str = ""
    messages: list[Message] = Field(default_factory=list)
    folded_count: int = 0


class ShortTermMemory:
    """The recent conversation within ``max_tokens``, older exchanges folded into a summary.

    ``summary_max_tokens`` is the room kept for the summary (a quarter of the budget by
    default); after a fold the verbatim messages take at most ``fold_to`` of the rest, so a
    fold happens every few exchanges, not on every message. The newest exchange is never
    folded: while an open tool-call round is larger than the room, the window stays over
    budget and ``over_budget`` says so. ``counter`` should count for the model that will read
    the window; it defaults to ``token_counter_for(model)``, right when the agent's model
    also writes the summaries.
    """

    def __init__(
        self,
        model: ChatModel,
        *,
        max_tokens: int,
        counter: TokenCounter | None = None,
        summary_max_tokens: int | None = None,
        fold_to: float = 0.6,
        language: Language = "en",
        message_overhead: int = 6,
        state: ShortTermState | None = None,
    ) -> None:
        summary_room = max_tokens // 4 if summary_max_tokens is None else summary_max_tokens
        if summary_room < 1 or max_tokens - summary_room < 1:
            raise ValueError(
                f"max_tokens ({max_tokens}) must leave room for both the summary "
                f"({summary_room} tokens) and the recent messages"
            )
        if not 0 < fold_to <= 1:
            raise ValueError(f"fold_to must be in (0, 1], got {fold_to}")
        self.model = model
        self.counter = counter or token_counter_for(model)
        self.max_tokens = max_tokens
        self.summary_max_tokens = summary_room
        self.fold_to = fold_to
        self.language = check_language(language)
        self.message_overhead = message_overhead
        self._lock = asyncio.Lock()
        state = state or ShortTermState()
        self._summary = state.summary
        self._folded_count = state.folded_count
        self._messages: list[tuple[Message, int]] = []
        for message in state.messages:
            self._check_order(message)  # a restored window may exceed a smaller budget
            self._messages.append((message, self.message_tokens(message)))

    @property
    def summary(self) -> str:
        return self._summary

    @property
    def messages(self) -> list[Message]:
        """The messages kept verbatim, oldest first."""
        return [message for message, _ in self._messages]

    @property
    def folded_count(self) -> int:
        """How many messages have been folded into the summary so far."""
        return self._folded_count

    @property
    def message_room(self) -> int:
        """Tokens the verbatim messages may use: the budget less the summary's room."""
        return self.max_tokens - self.summary_max_tokens

    @property
    def tokens(self) -> int:
        """Tokens the window takes now: the summary section plus every message."""
        return self.summary_tokens() + sum(tokens for _, tokens in self._messages)

    @property
    def over_budget(self) -> bool:
        return self.tokens > self.max_tokens

    def message_tokens(self, message: Message) -> int:
        """Its text as sent, plus the role markers a chat template wraps around each turn."""
        return self.counter.count(wire_text(message)) + self.message_overhead

    def summary_section(self) -> str:
        """The summary with its heading, for a system prompt; "" before the first fold."""
        if not self._summary:
            return ""
        return f"{CONVERSATION_SUMMARY_HEADING[self.language]}\n{self._summary}"

    def summary_tokens(self) -> int:
        section = self.summary_section()
        return self.counter.count(section + "\n\n") + self.message_overhead if section else 0

    def window(self) -> list[Message]:
        """What to send the model: the summary as a system message, then the recent messages."""
        section = self.summary_section()
        head: list[Message] = [SystemMessage(content=section)] if section else []
        return head + self.messages

    def state(self) -> ShortTermState:
        return ShortTermState(
            summary=self._summary, messages=self.messages, folded_count=self._folded_count
        )

    async def add(self, *messages: Message) -> list[Fold]:
        """Append messages in order, folding old exchanges when over budget; returns the folds.

        If the summary model fails, the error propagates and nothing is folded: the messages
        stay verbatim (over budget) and the next ``add`` tries again.
        """
        async with self._lock:
            kept = len(self._messages)
            try:
                for message in messages:
                    self._append(message)
            except Exception:
                del self._messages[kept:]  # all of this call's messages, or none of them
                raise
            folds: list[Fold] = []
            while self.over_budget:
                fold = await self._fold_once()
                if fold is None:
                    break
                folds.append(fold)
            return folds

    def _append(self, message: Message) -> None:
        self._check_order(message)
        tokens = self.message_tokens(message)
        if tokens > self.message_room:
            raise ShortTermOverflow(
                f"a {message.role} message of {tokens} tokens cannot fit the window's "
                f"{self.message_room} tokens for messages (max_tokens {self.max_tokens} less "
                f"{self.summary_max_tokens} for the summary); shorten it or raise max_tokens"
            )
        self._messages.append((message, tokens))

    def _check_order(self, message: Message) -> None:
        if isinstance(message, SystemMessage):  # a valid message, in the wrong place
            raise ValueError(  # noqa: TRY004
                "system messages are not part of the conversation window; put them in the "
                "system prompt (see summary_section())"
            )
        if not isinstance(message, (UserMessage, AssistantMessage, ToolMessage)):
            raise TypeError(f"expected a chat message, got {type(message).__name__}")
        if isinstance(message, ToolMessage):
            starts = self._unit_starts()
            opener = self._messages[starts[-1]][0] if starts else None
            call_ids = (
                {call.id for call in opener.tool_calls}
                if isinstance(opener, AssistantMessage)
                else set()
            )
            answered = (
                {
                    m.tool_call_id
                    for m, _ in self._messages[starts[-1] :]
                    if isinstance(m, ToolMessage)
                }
                if starts
                else set()
            )
            if message.tool_call_id not in call_ids or message.tool_call_id in answered:
                raise ValueError(
                    f"tool result for call {message.tool_call_id!r} ({message.name}) does not "
                    "answer an open call of the latest assistant message; results must follow "
                    "the message that called the tool, once each"
                )

    def _unit_starts(self) -> list[int]:
        """Index of the first message of each exchange (tool results join their caller)."""
        return [i for i, (m, _) in enumerate(self._messages) if not isinstance(m, ToolMessage)]

    async def _fold_once(self) -> Fold | None:
        starts = self._unit_starts()
        if len(starts) < 2:
            return None  # only the newest exchange is left, and it is never folded
        target = int(self.message_room * self.fold_to)
        remaining = sum(tokens for _, tokens in self._messages)
        cut = 0
        for next_start in starts[1:]:
            remaining -= sum(tokens for _, tokens in self._messages[cut:next_start])
            cut = next_start
            if remaining <= target:
                break
        folded = [message for message, _ in self._messages[:cut]]
        before = self.tokens
        summary = await self._summarize(folded)
        self._summary = summary
        self._messages = self._messages[cut:]
        self._folded_count += len(folded)
        return Fold(folded=folded, summary=summary, tokens_before=before, tokens_after=self.tokens)

    async def _summarize(self, folded: Sequence[Message]) -> str:
        prompt = conversation_fold_prompt(
            self._summary, render_transcript(folded, self.language), language=self.language
        )
        result = await self.model.chat(
            summary_request(prompt, self.language),
            options=ChatOptions(temperature=0.0, max_tokens=self.summary_max_tokens),
        )
        summary = result.message.content.strip()
        if not summary:
            raise ShortTermFoldError(
                f"{self.model.name} returned an empty summary for {len(folded)} messages; "
                "they stay in the window unfolded"
            )
        return summary
