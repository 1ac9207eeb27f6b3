"""Least-to-most prompting (Zhou et al., 2022): decompose, then solve sub-questions in order.

Stage one asks for the sub-questions, easiest first. Stage two solves them one at a time; each
prompt holds the problem, every earlier sub-question with its answer, and the next
sub-question, so later answers build on earlier ones. As in the paper, the last sub-question
is the original question itself (appended when the decomposition leaves it out), so the final
answer is the last sub-answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, Field

from hanlin.contract.events import PlanEvent, emit
from hanlin.contract.state import AgentState
from hanlin.llm.chat_model import ChatModel, ChatOptions
from hanlin.llm.messages import SystemMessage, UserMessage
from hanlin.planner.chain_of_thought import ask, finish, latest_question

DECOMPOSE_INSTRUCTIONS = (
    "Break the question into simpler sub-questions that, answered in order, lead to its "
    "answer. Put the easiest first. Write them as a numbered list, one per line, and nothing else."
)
SOLVE_INSTRUCTIONS = (
    "Answer the last question briefly, using the answers to the earlier questions above it."
)
_NUMBERED = re.compile(r"^\s*(?:\d+\s*[.):]|[-*])\s*(.+?)\s*$")


class DecompositionExemplar(BaseModel):
    """A worked decomposition: a question and its sub-questions, easiest first."""

    question: str = Field(min_length=1)
    subquestions: list[str] = Field(min_length=1)


class SolvedExemplar(BaseModel):
    """A worked sequential solution: the problem and its answered sub-questions."""

    problem: str = Field(min_length=1)
    steps: list[tuple[str, str]] = Field(min_length=1)


class LeastToMostState(AgentState, total=False):
    question: str
    subquestions: list[str]
    answers: list[str]


def numbered_items(text: str) -> list[str]:
    """The items of a numbered or bulleted list; plain non-empty lines when there is none."""
    lines = [line for line in text.splitlines() if line.strip()]
    items = [m.group(1) for line in lines if (m := _NUMBERED.match(line))]
    return items or [line.strip() for line in lines]


def _same_question(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return " ".join(re.sub(r"[^\w\s]", " ", s.lower()).split())

    return norm(a) == norm(b)


@dataclass
class LeastToMost:
    """Graph: ``decompose`` once, then ``solve`` once per sub-question."""

    name: str
    model: ChatModel
    decomposition_exemplars: list[DecompositionExemplar] = field(default_factory=list)
    solved_exemplars: list[SolvedExemplar] = field(default_factory=list)
    max_subquestions: int = 6
    options: ChatOptions = field(default_factory=ChatOptions)

    def __post_init__(self) -> None:
        if self.max_subquestions < 1:
            raise ValueError(f"max_subquestions must be at least 1, got {self.max_subquestions}")

    def build(self) -> StateGraph:
        graph = StateGraph(LeastToMostState)
        graph.add_node("decompose", self.decompose)
        graph.add_node("solve", self.solve)
        graph.add_edge(START, "decompose")
        graph.add_edge("decompose", "solve")
        graph.add_conditional_edges("solve", self.route, {"solve": "solve", END: END})
        return graph

    def decompose_prompt(self, question: str) -> list[SystemMessage | UserMessage]:
        shots = "".join(
            f"Q: {e.question}\nA:\n"
            + "".join(f"{i}. {s}\n" for i, s in enumerate(e.subquestions, 1))
            + "\n"
            for e in self.decomposition_exemplars
        )
        return [
            SystemMessage(content=DECOMPOSE_INSTRUCTIONS),
            UserMessage(content=f"{shots}Q: {question}\nA:"),
        ]

    def solve_prompt(self, state: LeastToMostState) -> list[SystemMessage | UserMessage]:
        """Solved exemplars, the problem, the answered sub-questions, then the next one."""
        shots = "".join(
            f"{e.problem}\n\n" + "".join(f"Q: {q}\nA: {a}\n\n" for q, a in e.steps)
            for e in self.solved_exemplars
        )
        answers = state.get("answers") or []
        solved = "".join(
            f"Q: {q}\nA: {a}\n\n" for q, a in zip(state["subquestions"], answers, strict=False)
        )
        following = state["subquestions"][len(answers)]
        body = f"{shots}{state['question']}\n\n{solved}Q: {following}\nA:"
        return [SystemMessage(content=SOLVE_INSTRUCTIONS), UserMessage(content=body)]

    async def decompose(self, state: LeastToMostState) -> dict[str, Any]:
        question = latest_question(state)
        reply = await ask(self.model, self.name, self.decompose_prompt(question), self.options)
        subquestions = numbered_items(reply)[: self.max_subquestions]
        if not subquestions or not _same_question(subquestions[-1], question):
            subquestions = [*subquestions[: self.max_subquestions - 1], question]
        emit(PlanEvent(agent=self.name, steps=subquestions))
        return {
            "question": question,
            "subquestions": subquestions,
            "answers": [],
            "final_answer": None,
            "steps": state.get("steps", 0) + 1,
        }

    async def solve(self, state: LeastToMostState) -> dict[str, Any]:
        answer = await ask(self.model, self.name, self.solve_prompt(state), self.options)
        answers = [*(state.get("answers") or []), answer]
        update: dict[str, Any] = {"answers": answers, "steps": state.get("steps", 0) + 1}
        if len(answers) == len(state["subquestions"]):
            update.update(finish(self.name, answer))
        return update

    def route(self, state: LeastToMostState) -> str:
        return END if len(state.get("answers") or []) >= len(state["subquestions"]) else "solve"
