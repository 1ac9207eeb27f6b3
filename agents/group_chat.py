"""``GroupChat``: member agents share one transcript and take turns, a selector picking who speaks.

The thread's ``messages`` are the transcript: the user's messages, then one assistant message per
turn named after its speaker. Each member is shown the transcript from its own seat: its own
turns as assistant messages, everyone else's as user messages prefixed ``"<speaker>: "``, so a
plain chat model can follow a many-party talk. A turn runs the member's own ReAct graph (tools,
approvals and all; see ``supervisor.run_member``) and its answer becomes the member's message.

The next speaker comes from ``round_robin`` (member order), a selector ``model`` (a choice among
the member names; messy replies such as "I think Bob should speak" are read leniently, and an
unreadable one falls back to the next member in order with an ``ErrorEvent``), or a function.
The chat ends when a message contains the termination phrase (or a termination function says
so), or after ``max_rounds`` turns.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from pydantic import Field, model_validator

from hanlin.agents.agent import Agent
from hanlin.agents.spec import AgentName, AgentSpec, ChatModelField
from hanlin.agents.supervisor import run_member
from hanlin.contract.events import ErrorEvent, FinalAnswerEvent, MessageEvent, emit
from hanlin.contract.journal import MemoryToolJournal, ToolJournal
from hanlin.contract.state import AgentState, state_messages
from hanlin.llm.chat_model import ChatOptions
from hanlin.llm.messages import AssistantMessage, Message, SystemMessage, UserMessage

# (transcript, member names) -> the next speaker's name; may be async.
SpeakerFn = Callable[[list[Message], list[str]], Any]
# transcript -> True when the chat is done.
TerminationFn = Callable[[list[Message]], bool]
StopReason = Literal["termination", "max_rounds"]

SELECTOR_SYSTEM = (
    "You choose who speaks next in a group chat.\n\nParticipants:\n{roster}\n\nRead the "
    "conversation, then reply with the name of the participant who should speak next, and "
    "nothing else. Choose one of: {names}."
)


class GroupChatState(AgentState, total=False):
    round: int
    next_speaker: str | None
    stop_reason: StopReason | None


def parse_speaker(reply: str, names: list[str]) -> str | None:
    """The member named by a selector's reply: JSON, a bare name, or a sentence naming
    exactly one member (case-insensitive). ``None`` when no single member is named."""
    by_lower = {n.lower(): n for n in names}
    text = reply.strip()
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, dict):
        value = next(
            (value[k] for k in ("speaker", "name", "next") if isinstance(value.get(k), str)), None
        )
    if isinstance(value, str) and value.strip().lower() in by_lower:
        return by_lower[value.strip().lower()]
    bare = text.strip(" \t\n\"'`*.:;,!?()[]{}<>").lower()
    if bare in by_lower:
        return by_lower[bare]
    named = [
        n
        for n in names
        if re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", text, re.IGNORECASE)
    ]
    return named[0] if len(named) == 1 else None


def member_view(transcript: list[Message], member: str) -> list[Message]:
    """The transcript as ``member`` sees it: own turns as assistant, others' as named user turns."""
    view: list[Message] = []
    for message in transcript:
        if isinstance(message, AssistantMessage) and not message.tool_calls:
            if message.name == member:
                view.append(AssistantMessage(content=message.content))
            else:
                view.append(
                    UserMessage(content=f"{message.name or 'assistant'}: {message.content}")
                )
        elif isinstance(message, UserMessage):
            view.append(message)
    return view


class GroupChat(AgentSpec):
    """Members taking turns on one transcript. ``selector``: ``"round_robin"``, ``"model"``
    (needs ``selector_model``) or a function ``(transcript, names) -> name``.
    ``termination``: a phrase (the chat ends on a message containing it; the phrase is removed
    from the final answer), a function of the transcript, or ``None`` (run ``max_rounds``)."""

    name: AgentName = "group_chat"
    members: list[Agent] = Field(min_length=1)
    selector: Literal["round_robin", "model"] | Callable[..., Any] = "round_robin"
    selector_model: ChatModelField | None = None
    selector_options: ChatOptions = Field(default_factory=ChatOptions)
    constrain_selection: bool = Field(
        default=False,
        description="Send the member names as a JSON-schema enum (for backends "
        "with constrained decoding: llama.cpp, OpenAI-compatible servers).",
    )
    max_rounds: int = Field(default=10, ge=1, le=500)
    termination: str | Callable[..., bool] | None = "TERMINATE"

    @model_validator(mode="after")
    def _check(self) -> GroupChat:
        names = [m.name for m in self.members]
        if len(set(names)) != len(names):
            raise ValueError(f"group chat member names must be unique, got {names}")
        if self.selector == "model" and self.selector_model is None:
            raise ValueError("selector='model' needs selector_model, a hanlin ChatModel")
        if isinstance(self.termination, str) and not self.termination.strip():
            raise ValueError("termination phrase must not be empty (use None for max_rounds only)")
        return self

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.members]

    def graph(self, *, journal: ToolJournal | None = None) -> StateGraph:
        """open -> (select -> speak)* -> finish."""
        journal = journal or MemoryToolJournal()

        async def speak(state: GroupChatState, config: RunnableConfig) -> dict[str, Any]:
            return await self.speak_step(state, config, journal)

        graph = StateGraph(GroupChatState)
        graph.add_node("open", self.open_step)
        graph.add_node("select", self.select_step)
        graph.add_node("speak", speak)
        graph.add_node("finish", self.finish_step)
        graph.add_edge(START, "open")
        graph.add_edge("open", "select")
        graph.add_edge("select", "speak")
        graph.add_conditional_edges(
            "speak", lambda s: "finish" if s.get("stop_reason") else "select", ["select", "finish"]
        )
        graph.add_edge("finish", END)
        return graph

    # --- nodes -----------------------------------------------------------------------------

    async def open_step(self, state: GroupChatState) -> dict[str, Any]:
        if not any(isinstance(m, UserMessage) for m in state_messages(state)):
            raise ValueError(f"GroupChat {self.name!r}: the thread has no user message")
        return {
            "round": 0,
            "next_speaker": None,
            "stop_reason": None,
            "final_answer": None,
            "steps": 0,
        }

    async def select_step(self, state: GroupChatState) -> dict[str, Any]:
        transcript = state_messages(state)
        fallback = self._next_in_order(transcript)
        if self.selector == "round_robin":
            return {"next_speaker": fallback}
        if self.selector == "model":
            return {"next_speaker": await self._model_choice(transcript, fallback)}
        choice = self.selector(transcript, self.names)
        if inspect.isawaitable(choice):
            choice = await choice
        if choice not in self.names:
            raise ValueError(
                f"GroupChat {self.name!r}: the selector function returned {choice!r}; "
                f"members are {self.names}"
            )
        return {"next_speaker": choice}

    async def speak_step(
        self, state: GroupChatState, config: RunnableConfig, journal: ToolJournal
    ) -> dict[str, Any]:
        speaker = state["next_speaker"]
        member = next(m for m in self.members if m.name == speaker)
        transcript = state_messages(state)
        answer = await run_member(
            member,
            member_view(transcript, member.name),
            config,
            journal,
            context=self._seat_note(member.name),
        )
        number = state.get("round", 0) + 1
        update: dict[str, Any] = {"round": number, "steps": number}
        if answer is not None:
            text = re.sub(rf"^\s*{re.escape(member.name)}\s*:\s*", "", answer)
            message = AssistantMessage(content=text, name=member.name)
            update["messages"] = [message.model_dump(mode="json", exclude_none=True)]
            transcript = [*transcript, message]
            if self._terminated(transcript):
                update["stop_reason"] = "termination"
                return update
        if number >= self.max_rounds:
            update["stop_reason"] = "max_rounds"
        return update

    async def finish_step(self, state: GroupChatState) -> dict[str, Any]:
        spoken = [
            m
            for m in state_messages(state)
            if isinstance(m, AssistantMessage) and m.name in self.names and not m.tool_calls
        ]
        answer = ""
        for message in reversed(spoken):
            answer = self._without_phrase(message.content)
            if answer:
                break
        if state.get("stop_reason") == "max_rounds":
            emit(
                ErrorEvent(
                    agent=self.name,
                    category="round_limit",
                    message=(
                        f"{self.name} ended after {self.max_rounds} rounds without termination."
                    ),
                )
            )
        emit(FinalAnswerEvent(agent=self.name, content=answer))
        return {"final_answer": answer}

    # --- helpers ---------------------------------------------------------------------------

    def _next_in_order(self, transcript: list[Message]) -> str:
        """The member after the last speaker (the first member when nobody has spoken)."""
        names = self.names
        last = next(
            (
                m.name
                for m in reversed(transcript)
                if isinstance(m, AssistantMessage) and m.name in names
            ),
            None,
        )
        return names[(names.index(last) + 1) % len(names)] if last is not None else names[0]

    async def _model_choice(self, transcript: list[Message], fallback: str) -> str:
        roster = "\n".join(f"- {m.name}: {m.instructions}" for m in self.members)
        lines = [
            f"{m.name or 'assistant'}: {m.content}"
            if isinstance(m, AssistantMessage)
            else f"user: {m.text()}"
            for m in transcript
            if isinstance(m, UserMessage) or (isinstance(m, AssistantMessage) and not m.tool_calls)
        ]
        prompt = [
            SystemMessage(
                content=SELECTOR_SYSTEM.format(roster=roster, names=", ".join(self.names))
            ),
            UserMessage(content="\n\n".join(lines) + "\n\nWho speaks next?"),
        ]
        options = self.selector_options
        if self.constrain_selection:
            options = options.model_copy(
                update={
                    "json_schema": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["speaker"],
                        "properties": {"speaker": {"type": "string", "enum": self.names}},
                    }
                }
            )
        assert self.selector_model is not None  # checked when the chat was made
        result = await self.selector_model.chat(prompt, options=options)
        reply = result.message.content
        emit(MessageEvent(agent=f"{self.name} selector", content=reply))
        choice = parse_speaker(reply, self.names)
        if choice is None:
            emit(
                ErrorEvent(
                    agent=self.name,
                    category="invalid_speaker",
                    message=f"the selector's reply {reply[:200]!r} names no single member of "
                    f"{self.names}; {fallback} speaks next (member order)",
                )
            )
            return fallback
        return choice

    def _seat_note(self, member: str) -> str:
        others = ", ".join(n for n in self.names if n != member) or "nobody else"
        note = (
            f"You are {member} in a group chat with {others}. Messages from the others start "
            "with their name. Reply with your own contribution only, without a name prefix."
        )
        if isinstance(self.termination, str):
            note += f" When the task is complete, end your message with {self.termination}."
        return note

    def _terminated(self, transcript: list[Message]) -> bool:
        if self.termination is None:
            return False
        if isinstance(self.termination, str):
            last = transcript[-1]
            return isinstance(last, AssistantMessage) and self.termination in last.content
        return bool(self.termination(transcript))

    def _without_phrase(self, text: str) -> str:
        if isinstance(self.termination, str):
            text = text.replace(self.termination, "")
        return text.strip()
