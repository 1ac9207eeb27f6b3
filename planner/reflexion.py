"""Reflexion (Shinn et al., 2023): retry a task, learning from verbal reflections on failures.

Each trial is a ReAct episode. An evaluator (a callable, or the model judging its own answer)
decides whether the trial succeeded. After a failed trial the model writes a reflection, a
few sentences that diagnose the failure and plan around it; the reflection is stored in a
``ReflectionStore`` and every reflection so far is put into the next trial's prompt. Success
or ``max_trials`` ends the run. Reflections found in the store for the same question at the
start of a run are used from the first trial, so lessons outlive the thread.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from hanlin.contract.events import ErrorEvent, MemoryRecallEvent, emit
from hanlin.llm.chat_model import ChatOptions
from hanlin.llm.messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolMessage,
    UserMessage,
    messages_from_dicts,
)
from hanlin.planner.chain_of_thought import ask, finish, latest_question
from hanlin.planner.plan_execute import InnerReAct, InnerRunState
from hanlin.planner.react import ReActLoop

Evaluator = Callable[[str, str], Awaitable[bool]]

# The reference prompt, with its typo ("refection") and article ("an Docstore") fixed and the
# Wikipedia Docstore generalised to the agent's tools.
REFLECT_INSTRUCTIONS = (
    "You are an advanced reasoning agent that can improve based on self reflection. You will be "
    "given a previous reasoning trial in which you had access to tools and a question to answer. "
    "You were unsuccessful in answering the question either because you gave a wrong answer, or "
    "you used up your set number of reasoning steps. In a few sentences, diagnose a possible "
    "reason for failure and devise a new, concise, high level plan that aims to mitigate the same "
    "failure. Use complete sentences."
)
REFLECTIONS_HEADER = (
    "You have attempted to answer the following question before and failed. The following "
    "reflection(s) give a plan to avoid failing to answer the question in the same way you did "
    "previously. Use them to improve your strategy of correctly answering the given question.\n"
    "Reflections:"
)
SELF_EVALUATE_INSTRUCTIONS = (
    "You check answers. Reply with exactly one word: CORRECT if the proposed answer correctly and "
    "completely answers the question, otherwise INCORRECT."
)
_OBSERVATION_CHARS = 500


class ReflectionStore(Protocol):
    """Where reflections live between trials and runs, per user and agent."""

    async def add(self, user_id: str, agent_id: str, question: str, reflection: str) -> None: ...

    async def search(self, user_id: str, agent_id: str, question: str, k: int = 5) -> list[str]: ...


class InMemoryReflections:
    """Reflections in a dict, keyed by user, agent and the exact question."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str, str], list[str]] = {}

    async def add(self, user_id: str, agent_id: str, question: str, reflection: str) -> None:
        self._items.setdefault((user_id, agent_id, question.strip()), []).append(reflection)

    async def search(self, user_id: str, agent_id: str, question: str, k: int = 5) -> list[str]:
        return self._items.get((user_id, agent_id, question.strip()), [])[-k:]


class MemoryStoreReflections:
    """Reflections as ``reflection`` memories in hanlin's long-term ``MemoryStore``.

    The question is kept in the memory's metadata and its text is embedded with the
    reflection; a search returns the reflections whose memory is at least ``min_score``
    similar to the question, oldest first (the order they were learned).
    """

    def __init__(self, store: Any, *, min_score: float = 0.5) -> None:
        self.store = store
        self.min_score = min_score

    async def add(self, user_id: str, agent_id: str, question: str, reflection: str) -> None:
        text = f"Question: {question}\nReflection: {reflection}"
        limit = self.store.max_text_chars
        if len(text) > limit:  # a very long question: keep the reflection, cut the question
            room = max(0, limit - len(reflection) - len("Question: …\nReflection: "))
            text = f"Question: {question[:room]}…\nReflection: {reflection}"[:limit]
        await self.store.add(
            user_id,
            agent_id,
            text,
            kind="reflection",
            metadata={"question": question, "reflection": reflection},
        )

    async def search(self, user_id: str, agent_id: str, question: str, k: int = 5) -> list[str]:
        query = f"Question: {question}"[: self.store.max_text_chars]
        hits = await self.store.search(user_id, query, k=k, kinds=["reflection"], agent_id=agent_id)
        kept = sorted(
            (h.record for h in hits if h.score >= self.min_score), key=lambda r: r.created_at
        )
        return [str(r.metadata.get("reflection") or r.text) for r in kept]


class ReflexionState(InnerRunState, total=False):
    question: str
    trial: int
    reflections: list[str]
    trial_answer: str | None
    succeeded: bool


def scratchpad(messages: list[dict[str, Any]]) -> str:
    """A trial as text for the reflection prompt; long observations are cut short."""
    lines = []
    for message in messages_from_dicts(messages)[1:]:
        if isinstance(message, AssistantMessage):
            if message.content.strip():
                lines.append(f"Thought/answer: {message.content.strip()}")
            lines.extend(f"Action: {c.name}[{c.arguments}]" for c in message.tool_calls)
        elif isinstance(message, ToolMessage):
            text = (
                message.content
                if len(message.content) <= _OBSERVATION_CHARS
                else (message.content[:_OBSERVATION_CHARS] + " [truncated]")
            )
            lines.append(f"Observation: {text}")
        elif isinstance(message, UserMessage):
            lines.append(f"Observation: {message.text()}")
    return "\n".join(lines)


@dataclass
class Reflexion:
    """Graph: ``recall`` → (``start_trial`` → ReAct episode → ``evaluate`` → ``reflect``)*."""

    loop: ReActLoop
    evaluator: Evaluator | None = None
    store: ReflectionStore = field(default_factory=InMemoryReflections)
    max_trials: int = 3
    options: ChatOptions = field(default_factory=ChatOptions)

    def __post_init__(self) -> None:
        if self.max_trials < 1:
            raise ValueError(f"max_trials must be at least 1, got {self.max_trials}")
        self.inner = InnerReAct(self.loop)

    @property
    def name(self) -> str:
        return self.loop.name

    def build(self) -> StateGraph:
        graph = StateGraph(ReflexionState)
        graph.add_node("recall", self.recall)
        graph.add_node("start_trial", self.start_trial)
        graph.add_node("evaluate", self.evaluate)
        graph.add_node("reflect", self.reflect)
        self.inner.add_to(graph, done="evaluate")
        graph.add_edge(START, "recall")
        graph.add_edge("recall", "start_trial")
        graph.add_edge("start_trial", "act")
        graph.add_conditional_edges("evaluate", self.after_trial, {"reflect": "reflect", END: END})
        graph.add_edge("reflect", "start_trial")
        return graph

    async def recall(self, state: ReflexionState, config: RunnableConfig) -> dict[str, Any]:
        question = latest_question(state)
        found = await self.store.search(_user(config), self.name, question)
        if found:
            emit(MemoryRecallEvent(agent=self.name, memories=found))
        return {
            "question": question,
            "reflections": found,
            "trial": 0,
            "trial_answer": None,
            "succeeded": False,
            "final_answer": None,
            "steps": 0,
        }

    async def start_trial(self, state: ReflexionState) -> dict[str, Any]:
        reflections = state.get("reflections") or []
        context = (
            (REFLECTIONS_HEADER + "".join(f"\n- {r}" for r in reflections)) if reflections else None
        )
        return {
            **self.inner.start(state["question"], context),
            "trial": state.get("trial", 0) + 1,
            "steps": state.get("steps", 0) + 1,
        }

    async def judge(self, question: str, answer: str) -> bool:
        """The evaluator's verdict, or the model's own when none was given."""
        if self.evaluator is not None:
            return bool(await self.evaluator(question, answer))
        prompt: list[Message] = [
            SystemMessage(content=SELF_EVALUATE_INSTRUCTIONS),
            UserMessage(content=f"Question: {question}\nProposed answer: {answer}\nVerdict:"),
        ]
        verdict = (await ask(self.loop.model, self.name, prompt, self.options)).upper()
        return "CORRECT" in verdict and "INCORRECT" not in verdict

    async def evaluate(self, state: ReflexionState) -> dict[str, Any]:
        answer = state.get("inner_answer")
        succeeded = answer is not None and await self.judge(state["question"], answer)
        update: dict[str, Any] = {"trial_answer": answer, "succeeded": succeeded}
        if succeeded:
            return {**update, **finish(self.name, str(answer))}
        trial = state.get("trial", 0)
        emit(
            ErrorEvent(
                agent=self.name,
                category="trial_failed",
                message=f"trial {trial} failed: {answer or 'no answer within the step limit'}",
            )
        )
        if trial >= self.max_trials:
            emit(
                ErrorEvent(
                    agent=self.name,
                    category="trial_limit",
                    message=f"no successful trial in {self.max_trials}",
                )
            )
            if answer is not None:  # Reflexion returns the last attempt when none succeeded
                update.update(finish(self.name, answer))
        return update

    def after_trial(self, state: ReflexionState) -> str:
        if state.get("succeeded") or state.get("trial", 0) >= self.max_trials:
            return END
        return "reflect"

    async def reflect(self, state: ReflexionState, config: RunnableConfig) -> dict[str, Any]:
        trial = scratchpad(state.get("inner_messages") or [])
        prompt: list[Message] = [
            SystemMessage(content=REFLECT_INSTRUCTIONS),
            UserMessage(
                content=f"Previous trial:\nQuestion: {state['question']}\n{trial}\n\nReflection:"
            ),
        ]
        reflection = await ask(self.loop.model, self.name, prompt, self.options)
        await self.store.add(_user(config), self.name, state["question"], reflection)
        return {"reflections": [*(state.get("reflections") or []), reflection]}


def _user(config: RunnableConfig) -> str:
    return str((config.get("configurable") or {}).get("user_id", "default"))
