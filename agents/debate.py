"""``Debate``: several agents answer, read each other's answers, and revise (Du et al., 2023).

Round 1: every agent answers the question alone. Round r > 1: every agent is shown the answers
the agents it reads gave in round r-1, each quoted in full, and answers again; each agent keeps
its whole conversation. After the last round the parsed answers are put to a majority vote
(see ``answer_parsing``). An agent that reads nobody (a single agent, or an isolated node of a
sparse topology) is asked to double-check its own answer instead: the paper's reflection.

Agents of one round run concurrently with ``asyncio.gather`` inside one graph node. A round is a
barrier (round r needs every answer of round r-1), so one node per round keeps that barrier
explicit, writes all agents' contexts in one update (no merge reducer), and checkpoints once
per round: a crashed run resumes at the unfinished round. LangGraph ``Send`` fan-out would add
a join node and a reducer for the same effect, since the work is waiting on model calls.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, Field, model_validator

from hanlin.agents.answer_parsing import AnswerKind, Parser, majority_vote, parser_for
from hanlin.agents.spec import AgentName, AgentSpec, ChatModelField
from hanlin.contract.events import ErrorEvent, FinalAnswerEvent, MessageEvent, emit
from hanlin.contract.journal import ToolJournal
from hanlin.contract.state import AgentState, dump, state_messages
from hanlin.llm.chat_model import ChatOptions, ChatResult
from hanlin.llm.messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    UserMessage,
    messages_from_dicts,
)


class DebatePrompts(BaseModel):
    """The prompts of one task family. ``{question}`` and ``{response}`` are filled in."""

    initial: str
    others_intro: str
    other_answer: str = Field(description="One other agent's answer; must contain {response}.")
    update: str = Field(description="Closes the debate message; may contain {question}.")
    reflection: str = Field(
        description="Sent instead of the debate message to an agent that reads nobody."
    )
    judge: str = (
        "Agents debated this question: {question}\n\nTheir final answers follow."
        "{answers}\n\nSummarize where they agree and where they differ, then state the "
        "answer best supported by their reasoning."
    )


# The paper's prompts, reworded; the structure (full answers quoted in triple backticks, then
# a request to use them as extra advice and restate the answer in a fixed form) is kept.
MATH_PROMPTS = DebatePrompts(
    initial="Solve this math problem: {question} Reason step by step. End your response with "
    "the final answer as a single number, written as \\boxed{{answer}}.",
    others_intro="Other agents solved the same problem. Their solutions:",
    other_answer="\n\n One agent's solution: ```{response}```",
    update="\n\n Taking the other agents' solutions into account as extra information, what "
    "is your answer? \n The problem is: {question} End your response with the final "
    "answer as a single number, written as \\boxed{{answer}}.",
    reflection="Check carefully that your answer is correct, then restate it, ending with the "
    "final answer as a single number, written as \\boxed{{answer}}.",
)
ARITHMETIC_PROMPTS = DebatePrompts(
    initial="{question} State your answer at the end of your response.",
    others_intro="Here are the latest answers of other agents:",
    other_answer="\n\n One agent's answer: ```{response}```",
    update="\n\n Weigh these answers carefully as advice and give an updated answer. State "
    "your answer at the end of your response.",
    reflection="Check that your answer is correct, then give it again, stating your answer at "
    "the end of your response.",
)
CHOICE_PROMPTS = DebatePrompts(
    initial="Answer this question as accurately as you can: {question} Explain your reasoning "
    "and end your response with the answer in the form (X).",
    others_intro="Other agents answered the same question. Their answers:",
    other_answer="\n\n One agent's answer: ```{response}```",
    update="\n\n Using their reasoning as extra advice, examine your answer and theirs step by "
    "step and give an updated answer, in the form (X) at the end of your response.",
    reflection="Check that your answer is correct, and end your response with your final "
    "answer in the form (X).",
)


class DebateAgent(BaseModel):
    """One debater (or the judge): a name, a model, and an optional persona (system prompt)."""

    name: AgentName
    model: ChatModelField
    persona: str | None = None
    options: ChatOptions = Field(default_factory=ChatOptions)

    async def answer(self, history: list[Message]) -> ChatResult:
        prefix: list[Message] = [SystemMessage(content=self.persona)] if self.persona else []
        return await self.model.chat([*prefix, *history], options=self.options)


class DebateTurnEvent(MessageEvent):
    """An agent's answer in a debate: a ``MessageEvent`` that also says which round."""

    round: int
    role: Literal["debater", "judge"] = "debater"


class DebateState(AgentState, total=False):
    question: str
    round: int
    contexts: dict[str, list[dict[str, Any]]]  # each agent's own conversation
    transcript: list[dict[str, str]]  # per round: agent name -> answer
    usage: dict[str, dict[str, int]]
    summary: str | None


class DebateOutcome(BaseModel):
    """What a debate produced, read back from its graph state."""

    question: str
    answer: str | None
    votes: dict[str, str | None]
    transcript: list[dict[str, str]]
    usage: dict[str, dict[str, int]]
    summary: str | None = None

    @property
    def total_tokens(self) -> int:
        return sum(u["prompt_tokens"] + u["completion_tokens"] for u in self.usage.values())


class Debate(AgentSpec):
    """A debate team. ``topology`` maps an agent to the agents whose answers it reads (default:
    all others). ``concurrent=False`` runs a round's agents one after another."""

    name: AgentName = "debate"
    agents: list[DebateAgent] = Field(min_length=1)
    rounds: int = Field(default=2, ge=1, le=20)
    topology: dict[str, list[str]] | None = None
    judge: DebateAgent | None = None
    prompts: DebatePrompts = MATH_PROMPTS
    answer_kind: AnswerKind = "number"
    parser: Parser | None = Field(default=None, description="Overrides answer_kind's parser.")
    concurrent: bool = True

    @model_validator(mode="after")
    def _check(self) -> Debate:
        names = [a.name for a in self.agents]
        if len(set(names)) != len(names):
            raise ValueError(f"debate agent names must be unique, got {names}")
        if self.judge is not None and self.judge.name in names:
            raise ValueError(f"the judge's name {self.judge.name!r} is also a debater's")
        for reader, sources in (self.topology or {}).items():
            unknown = [n for n in [reader, *sources] if n not in names]
            if unknown:
                raise ValueError(f"topology names unknown agents {unknown}; agents are {names}")
            if reader in sources:
                raise ValueError(
                    f"topology: {reader!r} cannot read itself; its own answer is "
                    "already in its conversation"
                )
        return self

    def reads(self, name: str) -> list[str]:
        """Whose previous-round answers ``name`` is shown, in agent order."""
        if self.topology is None:
            return [a.name for a in self.agents if a.name != name]
        chosen = set(self.topology.get(name, []))
        return [a.name for a in self.agents if a.name in chosen]

    def parse(self, text: str) -> str | None:
        return (self.parser or parser_for(self.answer_kind))(text)

    def debate_message(self, name: str, previous: dict[str, str], question: str) -> str:
        sources = self.reads(name)
        if not sources:
            return self.prompts.reflection
        quoted = "".join(self.prompts.other_answer.format(response=previous[s]) for s in sources)
        return self.prompts.others_intro + quoted + self.prompts.update.format(question=question)

    def graph(self, *, journal: ToolJournal | None = None) -> StateGraph:
        """The debate as a LangGraph graph: open -> round x R -> [judge] -> decide."""
        graph = StateGraph(DebateState)
        graph.add_node("open", self._open)
        graph.add_node("round", self._round)
        graph.add_node("decide", self._decide)
        graph.add_edge(START, "open")
        graph.add_edge("open", "round")
        after = "decide"
        if self.judge is not None:
            graph.add_node("judge", self._judge)
            graph.add_edge("judge", "decide")
            after = "judge"
        graph.add_conditional_edges(
            "round", lambda s: "round" if s["round"] < self.rounds else after, ["round", after]
        )
        graph.add_edge("decide", END)
        return graph

    async def solve(self, question: str) -> DebateOutcome:
        """Run one debate without a runner (no checkpoints, no event stream)."""
        start = {"messages": [dump(UserMessage(content=question))]}
        values = (
            await self.graph().compile().ainvoke(start, {"recursion_limit": 4 * self.rounds + 10})
        )
        return self.outcome(values)

    def outcome(self, values: dict[str, Any]) -> DebateOutcome:
        last = values["transcript"][-1]
        votes = {a.name: self.parse(last[a.name]) for a in self.agents}
        return DebateOutcome(
            question=values["question"],
            answer=values.get("final_answer"),
            votes=votes,
            transcript=values["transcript"],
            usage=values["usage"],
            summary=values.get("summary"),
        )

    async def _open(self, state: DebateState) -> dict[str, Any]:
        users = [m for m in state_messages(state) if isinstance(m, UserMessage)]
        if not users:
            raise ValueError("a debate needs a question: the thread has no user message")
        question = users[-1].text().strip()
        if not question:
            raise ValueError("a debate needs a question: the user message is empty")
        first = dump(UserMessage(content=self.prompts.initial.format(question=question)))
        everyone = [*self.agents, *([self.judge] if self.judge else [])]
        return {
            "question": question,
            "round": 0,
            "transcript": [],
            "summary": None,
            "final_answer": None,
            "contexts": {a.name: [first] for a in self.agents},
            "usage": {
                a.name: {"prompt_tokens": 0, "completion_tokens": 0, "calls": 0} for a in everyone
            },
        }

    async def _round(self, state: DebateState) -> dict[str, Any]:
        number = state["round"] + 1
        previous = state["transcript"][-1] if state["transcript"] else {}

        async def turn(agent: DebateAgent) -> tuple[list[dict[str, Any]], ChatResult]:
            history = list(state["contexts"][agent.name])
            if number > 1:
                text = self.debate_message(agent.name, previous, state["question"])
                history.append(dump(UserMessage(content=text)))
            result = await agent.answer(messages_from_dicts(history))
            emit(DebateTurnEvent(agent=agent.name, round=number, content=result.message.content))
            return [*history, dump(AssistantMessage(content=result.message.content))], result

        if self.concurrent:
            done = await asyncio.gather(*(turn(a) for a in self.agents))
        else:
            done = [await turn(a) for a in self.agents]
        usage = {name: dict(counts) for name, counts in state["usage"].items()}
        for agent, (_, result) in zip(self.agents, done, strict=False):
            _add_usage(usage[agent.name], result)
        return {
            "round": number,
            "contexts": {
                a.name: history for a, (history, _) in zip(self.agents, done, strict=False)
            },
            "transcript": [
                *state["transcript"],
                {a.name: r.message.content for a, (_, r) in zip(self.agents, done, strict=False)},
            ],
            "usage": usage,
        }

    async def _judge(self, state: DebateState) -> dict[str, Any]:
        assert self.judge is not None
        last = state["transcript"][-1]
        answers = "".join(f"\n\n {a.name}: ```{last[a.name]}```" for a in self.agents)
        prompt = self.prompts.judge.format(question=state["question"], answers=answers)
        result = await self.judge.answer([UserMessage(content=prompt)])
        emit(
            DebateTurnEvent(
                agent=self.judge.name,
                round=state["round"],
                role="judge",
                content=result.message.content,
            )
        )
        usage = {name: dict(counts) for name, counts in state["usage"].items()}
        _add_usage(usage[self.judge.name], result)
        return {"summary": result.message.content, "usage": usage}

    async def _decide(self, state: DebateState) -> dict[str, Any]:
        last = state["transcript"][-1]
        answer = majority_vote([self.parse(last[a.name]) for a in self.agents])
        if answer is None:
            emit(
                ErrorEvent(
                    agent=self.name,
                    category="no_answer",
                    message=f"no agent's final answer could be parsed as a {self.answer_kind}",
                )
            )
            return {"final_answer": None}
        emit(FinalAnswerEvent(agent=self.name, content=answer))
        return {"final_answer": answer, "messages": [dump(AssistantMessage(content=answer))]}


def _add_usage(counts: dict[str, int], result: ChatResult) -> None:
    counts["prompt_tokens"] += result.usage.prompt_tokens
    counts["completion_tokens"] += result.usage.completion_tokens
    counts["calls"] += 1


async def debate_outcome(runner: Any, debate: Debate, thread_id: str) -> DebateOutcome:
    """The outcome of the last debate on ``thread_id`` of a ``Runner(debate)``."""
    snapshot = await runner.graph.aget_state({"configurable": {"thread_id": thread_id}})
    return debate.outcome(snapshot.values)
