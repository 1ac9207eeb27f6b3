"""CAMEL role-play (Li et al., 2023): an AI user instructs an AI assistant until the task is done.

Flow: an optional task specifier makes the task concrete, an optional planner splits it into
subtasks (emitted as a ``PlanEvent``), then the loop alternates one user-agent instruction
with one assistant solution. Each side keeps its own view of the talk: its own replies are
assistant messages, the other side's arrive as user messages. The loop stops when the user
agent says ``<CAMEL_TASK_DONE>``, at ``max_turns``, or (``stop_on_role_flip``) when a side
still breaks its role after one corrective re-prompt, as the paper ends on role flips.

Differences from the reference code, on purpose: the loop stops as soon as the user agent
says it is done (the reference still asks the assistant to answer that message); role flips
are detected from the required prefixes instead of left unchecked; when the critic keeps
giving invalid choices the first candidate is used, not a random one, so runs replay.

The final answer is the last solution, without its ``Solution:`` prefix and
``Next request.`` suffix; the whole transcript is in the graph's ``messages`` (each reply an
assistant message named after its role) and in the ``MessageEvent`` stream.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, Field

from hanlin.agents import role_play_prompts as prompts
from hanlin.agents.spec import AgentName, AgentSpec, ChatModelField
from hanlin.contract.events import ErrorEvent, FinalAnswerEvent, MessageEvent, PlanEvent, emit
from hanlin.contract.journal import ToolJournal
from hanlin.contract.state import AgentState, dump, state_messages
from hanlin.llm.chat_model import ChatModel, ChatOptions
from hanlin.llm.messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    UserMessage,
    messages_from_dicts,
)

StopReason = Literal["task_done", "turn_limit", "role_flip"]
_LEAD = r"[\s*#_>`-]*"  # markdown decoration a model may put before a label


def _label_at_start(text: str, label: str) -> bool:
    return re.match(rf"{_LEAD}{label}[\s*_]*:", text, re.IGNORECASE) is not None


def _label_on_a_line(text: str, label: str) -> bool:
    return re.search(rf"(?im)^{_LEAD}{label}[\s*_]*:", text) is not None


def is_task_done(text: str) -> bool:
    return "CAMEL_TASK_DONE" in text


def user_role_violation(text: str) -> str | None:
    """Why a user-agent reply breaks its role, or None. It must instruct, never solve."""
    if is_task_done(text):
        return None
    if _label_on_a_line(text, "Solution"):
        return "it gave a solution instead of an instruction"
    if not _label_at_start(text, "Instruction"):
        return f"it does not start with '{prompts.INSTRUCTION_PREFIX}'"
    return None


def assistant_role_violation(text: str) -> str | None:
    """Why an assistant reply breaks its role, or None. It must solve, never instruct."""
    if _label_on_a_line(text, "Instruction"):
        return "it gave an instruction instead of a solution"
    if is_task_done(text):
        return f"it said {prompts.TASK_DONE}, which only the instructing side may say"
    if not _label_at_start(text, "Solution"):
        return f"it does not start with '{prompts.SOLUTION_PREFIX}'"
    return None


def solution_text(text: str) -> str:
    """A solution without the ``Solution:`` label and the ``Next request.`` ending."""
    body = re.sub(rf"^{_LEAD}Solution[\s*_]*:[\s*_]*", "", text.strip(), flags=re.IGNORECASE)
    return re.sub(r"\s*Next request\.?\s*$", "", body, flags=re.IGNORECASE).strip()


def first_int(text: str) -> int | None:
    match = re.search(r"\d+", text)
    return int(match.group()) if match else None


class RoleCritic(BaseModel):
    """Critic in the loop: each side proposes ``candidates`` replies and the critic picks one."""

    model: ChatModelField
    candidates: int = Field(default=3, ge=2, le=8)
    role: str = Field(default="Critic", min_length=1)
    criteria: str = "improving the task performance"
    attempts: int = Field(default=2, ge=1, le=5, description="Tries to get a valid number.")
    temperature: float = Field(default=0.8, ge=0.0, description="Sampling for the candidates.")


class RolePlayState(AgentState, total=False):
    task: str
    user_view: list[dict[str, Any]]
    assistant_view: list[dict[str, Any]]
    turn: int
    stop_reason: StopReason | None


@dataclass
class _Side:
    """One speaker: its role, its model, and how its replies are checked and corrected."""

    role: str
    kind: Literal["user", "assistant"]
    model: ChatModel
    violation: Callable[[str], str | None]
    correction: Callable[[str], str]


class RolePlay(AgentSpec):
    """Two agents in role-play. ``task=None`` takes the task from the run's message.

    ``model`` drives the assistant; ``user_model`` (default: ``model``) the user agent;
    ``helper_model`` (default: ``model``) the task specifier and planner.
    """

    name: AgentName = "role_play"
    assistant_role: str = Field(min_length=1, max_length=200)
    user_role: str = Field(min_length=1, max_length=200)
    task: str | None = None
    model: ChatModelField
    user_model: ChatModelField | None = None
    helper_model: ChatModelField | None = None
    with_task_specify: bool = True
    word_limit: int = Field(default=50, ge=1)
    with_task_planner: bool = False
    max_turns: int = Field(default=20, ge=1, le=500, description="The paper's 40-message limit.")
    options: ChatOptions = Field(default_factory=ChatOptions)
    critic: RoleCritic | None = None
    check_roles: bool = True
    stop_on_role_flip: bool = True

    def model_post_init(self, context: Any) -> None:
        if self.assistant_role.strip().lower() == self.user_role.strip().lower():
            raise ValueError(
                f"assistant_role and user_role must differ, both are {self.user_role!r}"
            )

    # --- graph -------------------------------------------------------------------------------

    def graph(self, *, journal: ToolJournal | None = None) -> StateGraph:
        """setup -> (user_turn -> assistant_turn)* -> finish. ``journal`` is unused: no tools."""
        graph = StateGraph(RolePlayState)
        graph.add_node("setup", self.setup_step)
        graph.add_node("user_turn", self.user_step)
        graph.add_node("assistant_turn", self.assistant_step)
        graph.add_node("finish", self.finish_step)
        graph.add_edge(START, "setup")
        graph.add_edge("setup", "user_turn")
        graph.add_conditional_edges("user_turn", self._route("assistant_turn"))
        graph.add_conditional_edges("assistant_turn", self._route("user_turn"))
        graph.add_edge("finish", END)
        return graph

    @staticmethod
    def _route(next_node: str) -> Callable[[RolePlayState], str]:
        def route(state: RolePlayState) -> str:
            return "finish" if state.get("stop_reason") else next_node

        return route

    # --- nodes -------------------------------------------------------------------------------

    async def setup_step(self, state: RolePlayState) -> dict[str, Any]:
        task = self.task or _last_user_text(state)
        if not task.strip():
            raise ValueError(f"RolePlay {self.name!r}: no task given (set task= or send one)")
        if self.with_task_specify:
            task = await self._specify(task)
        if self.with_task_planner:
            task = await self._plan(task)
        user_view: list[Message] = [
            SystemMessage(
                content=prompts.user_system_prompt(self.assistant_role, self.user_role, task)
            ),
            UserMessage(content=prompts.START_INSTRUCTING),
        ]
        assistant_view: list[Message] = [
            SystemMessage(
                content=prompts.assistant_system_prompt(self.assistant_role, self.user_role, task)
            )
        ]
        return {
            "task": task,
            "turn": 0,
            "stop_reason": None,
            "final_answer": None,
            "steps": 0,
            "user_view": [dump(m) for m in user_view],
            "assistant_view": [dump(m) for m in assistant_view],
        }

    async def user_step(self, state: RolePlayState) -> dict[str, Any]:
        side = self._user_side()
        text, broken = await self._speak(side, _view(state, "user_view"), state["task"])
        turn = state.get("turn", 0) + 1
        update = self._record(state, side, text, turn)
        if is_task_done(text):
            update["stop_reason"] = "task_done"
        elif broken and self.stop_on_role_flip:
            update["stop_reason"] = "role_flip"
        return update

    async def assistant_step(self, state: RolePlayState) -> dict[str, Any]:
        side = self._assistant_side()
        text, broken = await self._speak(side, _view(state, "assistant_view"), state["task"])
        update = self._record(state, side, text, state.get("turn", 0))
        if broken and self.stop_on_role_flip:
            update["stop_reason"] = "role_flip"
        elif state.get("turn", 0) >= self.max_turns:
            update["stop_reason"] = "turn_limit"
        return update

    async def finish_step(self, state: RolePlayState) -> dict[str, Any]:
        solutions = [
            m
            for m in state_messages(state)
            if isinstance(m, AssistantMessage) and m.name == self.assistant_role
        ]
        if solutions:
            answer = solution_text(solutions[-1].content) or solutions[-1].content
        else:
            answer = f"The role-play ended ({state.get('stop_reason')}) before any solution."
        emit(FinalAnswerEvent(agent=self.name, content=answer))
        return {"final_answer": answer}

    # --- helpers -----------------------------------------------------------------------------

    def _record(self, state: RolePlayState, side: _Side, text: str, turn: int) -> dict[str, Any]:
        """Add a reply to both views: the speaker's own as assistant, the other's as user."""
        own, other = (
            ("user_view", "assistant_view")
            if side.kind == "user"
            else ("assistant_view", "user_view")
        )
        emit(MessageEvent(agent=side.role, content=text))
        return {
            own: [*state[own], dump(AssistantMessage(content=text))],  # type: ignore[literal-required]
            other: [*state[other], dump(UserMessage(content=text))],  # type: ignore[literal-required]
            "messages": [dump(AssistantMessage(content=text, name=side.role))],
            "turn": turn,
            "steps": state.get("steps", 0) + 1,
        }

    def _user_side(self) -> _Side:
        return _Side(
            self.user_role,
            "user",
            self.user_model or self.model,
            user_role_violation,
            lambda why: prompts.user_flip_correction(self.assistant_role, self.user_role, why),
        )

    def _assistant_side(self) -> _Side:
        return _Side(
            self.assistant_role,
            "assistant",
            self.model,
            assistant_role_violation,
            lambda why: prompts.assistant_flip_correction(self.assistant_role, self.user_role, why),
        )

    async def _speak(self, side: _Side, view: list[Message], task: str) -> tuple[str, bool]:
        """One reply; a role break is re-prompted once. Returns (reply, still broken)."""
        text = await self._choose(side, view, task)
        why = side.violation(text) if self.check_roles else None
        if why is None:
            return text, False
        retry = [*view, AssistantMessage(content=text), UserMessage(content=side.correction(why))]
        text = await self._choose(side, retry, task)
        still = side.violation(text)
        if still is not None:
            emit(
                ErrorEvent(
                    agent=side.role,
                    category="role_flip",
                    message=f"{side.role} broke its role after a correction: {still}",
                )
            )
        return text, still is not None

    async def _choose(self, side: _Side, view: list[Message], task: str) -> str:
        if self.critic is None:
            return await _complete(side.model, view, self.options)
        candidates = []
        for k in range(self.critic.candidates):
            sampling = self.options.model_copy(
                update={
                    "temperature": self.critic.temperature,
                    "seed": (self.options.seed or 0) + k,
                }
            )
            candidates.append(await _complete(side.model, view, sampling))
        return candidates[await self._critic_pick(side, candidates, task)]

    async def _critic_pick(self, side: _Side, candidates: list[str], task: str) -> int:
        """The critic's choice (0-based): the first integer of its reply, re-asked when invalid."""
        critic = self.critic
        assert critic is not None
        question = prompts.critic_proposals(side.role, side.kind, candidates)
        messages: list[Message] = [
            SystemMessage(
                content=prompts.critic_system_prompt(
                    critic.role, self.user_role, self.assistant_role, task, critic.criteria
                )
            ),
            UserMessage(content=question),
        ]
        for _ in range(critic.attempts):
            reply = await _complete(critic.model, messages, self.options)
            emit(MessageEvent(agent=critic.role, content=reply))
            choice = first_int(reply)
            if choice is not None and 1 <= choice <= len(candidates):
                return choice - 1
            messages += [
                AssistantMessage(content=reply),
                UserMessage(content=prompts.INVALID_CHOICE_PREFIX + question),
            ]
        emit(
            ErrorEvent(
                agent=critic.role,
                category="critic_invalid_choice",
                message=f"{critic.role} gave no valid choice in {critic.attempts} tries; "
                "using option 1",
            )
        )
        return 0

    async def _specify(self, task: str) -> str:
        reply = await _complete(
            self.helper_model or self.model,
            [
                SystemMessage(content=prompts.TASK_SPECIFIER_SYSTEM),
                UserMessage(
                    content=prompts.task_specifier_prompt(
                        self.assistant_role, self.user_role, task, self.word_limit
                    )
                ),
            ],
            self.options,
        )
        emit(MessageEvent(agent=prompts.SPECIFIER_ROLE, content=reply))
        if not reply:
            emit(
                ErrorEvent(
                    agent=prompts.SPECIFIER_ROLE,
                    category="empty_reply",
                    message="the task specifier replied with nothing; keeping the task as given",
                )
            )
        return reply or task

    async def _plan(self, task: str) -> str:
        reply = await _complete(
            self.helper_model or self.model,
            [
                SystemMessage(content=prompts.TASK_PLANNER_SYSTEM),
                UserMessage(content=prompts.task_planner_prompt(task)),
            ],
            self.options,
        )
        steps = [line.strip() for line in reply.splitlines() if line.strip()]
        emit(PlanEvent(agent=prompts.PLANNER_ROLE, steps=steps))
        return f"{task}\n{reply}" if reply else task


async def _complete(model: ChatModel, messages: list[Message], options: ChatOptions) -> str:
    result = await model.chat(messages, options=options)
    return result.message.content.strip()


def _view(state: RolePlayState, key: str) -> list[Message]:
    return messages_from_dicts(cast(list[dict[str, Any]], state.get(key) or []))


def _last_user_text(state: RolePlayState) -> str:
    users = [m for m in state_messages(state) if isinstance(m, UserMessage)]
    return users[-1].text() if users else ""
