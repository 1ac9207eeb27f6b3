"""Chain-of-thought prompting: reason step by step, then state the answer after a marker.

Zero-shot follows Kojima et al. (2022): the answer slot opens with "Let's think step by step."
Few-shot follows Wei et al. (2022): worked exemplars ``Q: … A: <reasoning> The answer is X.``
precede the question. The answer is the text after the last marker; when the model never
writes the marker, a second call (Kojima's answer-extraction stage) asks for it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, Field

from hanlin.contract.events import FinalAnswerEvent, MessageEvent, emit
from hanlin.contract.state import AgentState, dump, state_messages
from hanlin.llm.chat_model import ChatModel, ChatOptions
from hanlin.llm.messages import AssistantMessage, Message, SystemMessage, UserMessage
from hanlin.planner.streaming import stream_reply

ZERO_SHOT_TRIGGER = "Let's think step by step."
DEFAULT_MARKER = "The answer is"
COT_INSTRUCTIONS = (
    "Answer the question by reasoning step by step. "
    "End with one line of the form '{marker} <answer>.'"
)


class CoTExemplar(BaseModel):
    """One worked example for few-shot chain of thought."""

    question: str = Field(min_length=1)
    reasoning: str = Field(min_length=1)
    answer: str = Field(min_length=1)


async def ask(
    model: ChatModel, agent: str, messages: Sequence[Message], options: ChatOptions
) -> str:
    """One tool-free model call: streams its tokens and the whole reply as events."""
    result = await stream_reply(model, agent, messages, options=options)
    text = result.message.content.strip()
    emit(MessageEvent(agent=agent, content=text))
    return text


def latest_question(state: AgentState) -> str:
    """The text of the newest user message: the question this turn answers."""
    for message in reversed(state_messages(state)):
        if isinstance(message, UserMessage):
            text = message.text().strip()
            if text:
                return text
    raise ValueError("the thread has no user message with text to answer")


def extract_answer(text: str, marker: str = DEFAULT_MARKER) -> str | None:
    """The text after the last ``marker`` (case-insensitive), up to the end of that line,
    without a trailing period; None when the marker is absent or nothing follows it."""
    hits = list(re.finditer(re.escape(marker.rstrip(":").strip()) + r"\s*:?", text, re.IGNORECASE))
    if not hits:
        return None
    rest = text[hits[-1].end() :].strip().splitlines()
    answer = rest[0].strip().rstrip(".").strip() if rest else ""
    return answer or None


def finish(agent: str, answer: str) -> dict[str, Any]:
    """State update and event for a turn's final answer."""
    emit(FinalAnswerEvent(agent=agent, content=answer))
    reply = AssistantMessage(content=answer, name=agent)
    return {"messages": [dump(reply)], "final_answer": answer}


@dataclass
class ChainOfThought:
    """A one-node graph: a chain-of-thought answer to the newest user message."""

    name: str
    model: ChatModel
    exemplars: list[CoTExemplar] = field(default_factory=list)
    marker: str = DEFAULT_MARKER
    instructions: str | None = None
    options: ChatOptions = field(default_factory=ChatOptions)

    def build(self) -> StateGraph:
        graph = StateGraph(AgentState)
        graph.add_node("reason", self.reason)
        graph.add_edge(START, "reason")
        graph.add_edge("reason", END)
        return graph

    def prompt(self, question: str) -> list[Message]:
        """Few-shot exemplars when given, else the zero-shot trigger, then the question."""
        system = self.instructions or COT_INSTRUCTIONS.format(marker=self.marker)
        shots = "".join(
            f"Q: {e.question}\nA: {e.reasoning} {self.marker} {e.answer}.\n\n"
            for e in self.exemplars
        )
        opening = "" if self.exemplars else f" {ZERO_SHOT_TRIGGER}"
        return [
            SystemMessage(content=system),
            UserMessage(content=f"{shots}Q: {question}\nA:{opening}"),
        ]

    async def reason(self, state: AgentState) -> dict[str, Any]:
        question = latest_question(state)
        messages = self.prompt(question)
        reasoning = await ask(self.model, self.name, messages, self.options)
        answer = extract_answer(reasoning, self.marker)
        if answer is None:  # Kojima et al.'s second stage: ask for the answer explicitly
            follow_up = [
                *messages,
                AssistantMessage(content=reasoning),
                UserMessage(content=f"Therefore, {self.marker[0].lower()}{self.marker[1:]}"),
            ]
            extracted = await ask(self.model, self.name, follow_up, self.options)
            answer = extract_answer(f"{self.marker} {extracted}", self.marker) or extracted
        return {**finish(self.name, answer), "steps": state.get("steps", 0) + 1}
