"""CAMEL role-play with scripted models: the exact message flow between specifier, user agent,
assistant and critic; termination; role-flip correction; and one short run on the embedded model."""

from __future__ import annotations

import pytest

from hanlin.agents import role_play_prompts as prompts
from hanlin.agents.role_play import RoleCritic, RolePlay, solution_text
from hanlin.contract.events import ErrorEvent, FinalAnswerEvent, MessageEvent, PlanEvent
from hanlin.llm.chat_model import ChatOptions
from hanlin.llm.messages import AssistantMessage, SystemMessage, UserMessage
from hanlin.llm.scripted import ScriptedModel
from hanlin.runtime.runner import Runner

ASSISTANT, USER = "Python Programmer", "Stock Trader"
TASK = "Develop a trading bot for the stock market"
SPECIFIED = "Write a Python bot that trades AAPL on 50/200-day moving-average crossovers."


def instruction(n: int) -> str:
    return f"Instruction: step {n}\nInput: None"


def solution(n: int) -> str:
    return f"Solution: done step {n}.\nNext request."


def messages_of(result, role: str) -> list[str]:
    return [e.content for e in result.events if isinstance(e, MessageEvent) and e.agent == role]


async def test_specifier_prompts_alternation_and_task_done() -> None:
    helper = ScriptedModel([SPECIFIED])
    user = ScriptedModel([instruction(1), instruction(2), "<CAMEL_TASK_DONE>"])
    assistant = ScriptedModel([solution(1), solution(2)])
    team = RolePlay(
        assistant_role=ASSISTANT,
        user_role=USER,
        task=TASK,
        model=assistant,
        user_model=user,
        helper_model=helper,
        max_turns=10,
    )
    result = await Runner(team).run("t1", "go")

    # The specifier was sent the paper's request, with both roles, the task and the word limit.
    system, request = helper.calls[0]
    assert isinstance(system, SystemMessage) and system.content == prompts.TASK_SPECIFIER_SYSTEM
    assert isinstance(request, UserMessage)
    assert request.content == prompts.task_specifier_prompt(ASSISTANT, USER, TASK, 50)
    assert all(s in request.content for s in (ASSISTANT, USER, TASK, "50 words"))

    # Both system prompts name both roles and carry the specified task, not the original one.
    user_system, assistant_system = user.calls[0][0], assistant.calls[0][0]
    for prompt in (user_system, assistant_system):
        assert isinstance(prompt, SystemMessage)
        assert (
            ASSISTANT in prompt.content and USER in prompt.content and SPECIFIED in prompt.content
        )
    assert f"You are {USER} and I am {ASSISTANT}" in user_system.content
    assert f"You are {ASSISTANT} and I am {USER}" in assistant_system.content
    assert (
        "<CAMEL_TASK_DONE>" in user_system.content and "Next request." in assistant_system.content
    )
    assert user.calls[0][1] == UserMessage(content=prompts.START_INSTRUCTING)

    # Alternation: the assistant's nth prompt ends with the nth instruction, the user agent's
    # (n+1)th prompt with the nth solution, and each side sees its own replies as assistant turns.
    assert len(assistant.calls) == 2, "the assistant is not asked to answer <CAMEL_TASK_DONE>"
    for n, call in enumerate(assistant.calls, start=1):
        assert call[-1] == UserMessage(content=instruction(n))
        assert len(call) == 2 * n
    for n, call in enumerate(user.calls[1:], start=1):
        assert call[-1] == UserMessage(content=solution(n))
        assert call[-2] == AssistantMessage(content=instruction(n))
    assert assistant.calls[1][2] == AssistantMessage(content=solution(1))

    # Events carry role names, in order; the final answer is the last solution's body.
    spoken = [(e.agent, e.content) for e in result.events if isinstance(e, MessageEvent)]
    assert spoken == [
        ("Task Specifier", SPECIFIED),
        (USER, instruction(1)),
        (ASSISTANT, solution(1)),
        (USER, instruction(2)),
        (ASSISTANT, solution(2)),
        (USER, "<CAMEL_TASK_DONE>"),
    ]
    assert result.final_answer == "done step 2." and result.error is None
    finals = [e for e in result.events if isinstance(e, FinalAnswerEvent)]
    assert len(finals) == 1 and finals[0].agent == "role_play"


async def test_turn_limit_stops_the_loop_and_task_comes_from_the_message() -> None:
    user = ScriptedModel([instruction(n) for n in range(1, 10)])
    assistant = ScriptedModel([solution(n) for n in range(1, 10)])
    team = RolePlay(
        assistant_role=ASSISTANT,
        user_role=USER,
        model=assistant,
        user_model=user,
        with_task_specify=False,
        max_turns=3,
    )
    runner = Runner(team)
    result = await runner.run("t2", TASK)

    assert len(user.calls) == 3 and len(assistant.calls) == 3
    assert f"The task is: {TASK}." in user.calls[0][0].content
    assert messages_of(result, USER) == [instruction(n) for n in (1, 2, 3)]
    assert result.final_answer == "done step 3."
    transcript = [m for m in await runner.messages("t2") if isinstance(m, AssistantMessage)]
    assert [m.name for m in transcript] == [USER, ASSISTANT] * 3
    state = await runner.graph.aget_state({"configurable": {"thread_id": "t2"}})
    assert state.values["stop_reason"] == "turn_limit"


async def test_assistant_flip_is_re_prompted_once_and_the_correction_is_used() -> None:
    user = ScriptedModel([instruction(1), "<CAMEL_TASK_DONE>"])
    flipped = "Instruction: now you write the moving averages\nInput: None"
    assistant = ScriptedModel([flipped, solution(1)])
    team = RolePlay(
        assistant_role=ASSISTANT,
        user_role=USER,
        task=TASK,
        model=assistant,
        user_model=user,
        with_task_specify=False,
    )
    result = await Runner(team).run("t3", "go")

    retry = assistant.calls[1]
    assert retry[:-2] == assistant.calls[0]
    assert retry[-2] == AssistantMessage(content=flipped)
    assert isinstance(retry[-1], UserMessage) and "gave an instruction" in retry[-1].content
    assert messages_of(result, ASSISTANT) == [solution(1)], "only the corrected reply is kept"
    assert user.calls[1][-1] == UserMessage(content=solution(1))
    assert not [e for e in result.events if isinstance(e, ErrorEvent)]


async def test_persistent_user_flip_records_an_error_and_stops() -> None:
    user = ScriptedModel(["Solution: I will just do it myself.", "Here is the code: print(1)"])
    assistant = ScriptedModel([])
    team = RolePlay(
        assistant_role=ASSISTANT,
        user_role=USER,
        task=TASK,
        model=assistant,
        user_model=user,
        with_task_specify=False,
    )
    result = await Runner(team).run("t4", "go")

    assert len(user.calls) == 2 and "gave a solution" in user.calls[1][-1].content
    errors = [e for e in result.events if isinstance(e, ErrorEvent)]
    assert len(errors) == 1 and errors[0].category == "role_flip" and errors[0].agent == USER
    assert "does not start with 'Instruction:'" in errors[0].message
    assert assistant.calls == [], "the loop stopped at the flip"
    assert result.final_answer is not None and "role_flip" in result.final_answer


async def test_critic_receives_the_candidates_and_its_choice_is_used() -> None:
    user = ScriptedModel(
        [
            "Instruction: A\nInput: None",
            "Instruction: B\nInput: None",
            "<CAMEL_TASK_DONE>",
            "<CAMEL_TASK_DONE>",
        ]
    )
    assistant = ScriptedModel(["Solution: X. Next request.", "Solution: Y. Next request."])
    critic = ScriptedModel(["2, because it is clearer", "I like the first one", "Option 1", "1"])
    team = RolePlay(
        assistant_role=ASSISTANT,
        user_role=USER,
        task=TASK,
        model=assistant,
        user_model=user,
        with_task_specify=False,
        critic=RoleCritic(model=critic, candidates=2, role="Judge"),
    )
    result = await Runner(team).run("t5", "go")

    system, question = critic.calls[0]
    assert system.content.startswith(f"You are Judge, working with {USER} and {ASSISTANT}")
    assert "improving the task performance" in system.content
    assert question.content == prompts.critic_proposals(
        USER, "user", ["Instruction: A\nInput: None", "Instruction: B\nInput: None"]
    )
    assert (
        "Option 1:\nInstruction: A" in question.content
        and "Option 2:\nInstruction: B" in question.content
    )
    # Choice 2 was taken: the assistant was sent instruction B.
    assert assistant.calls[0][-1] == UserMessage(content="Instruction: B\nInput: None")
    # No number at first: the critic is asked again with the invalid-choice prefix, then picks 1.
    assert critic.calls[2][-1].content == prompts.INVALID_CHOICE_PREFIX + prompts.critic_proposals(
        ASSISTANT, "assistant", ["Solution: X. Next request.", "Solution: Y. Next request."]
    )
    assert critic.calls[2][-2] == AssistantMessage(content="I like the first one")
    assert messages_of(result, ASSISTANT) == ["Solution: X. Next request."]
    assert messages_of(result, "Judge") == [
        "2, because it is clearer",
        "I like the first one",
        "Option 1",
        "1",
    ]
    assert len(user.calls) == 4 and len(assistant.calls) == 2
    assert result.final_answer == "X."


async def test_planner_emits_a_plan_and_extends_the_task() -> None:
    helper = ScriptedModel(["1. Fetch prices\n2. Compute averages"])
    user = ScriptedModel(["<CAMEL_TASK_DONE>"])
    team = RolePlay(
        assistant_role=ASSISTANT,
        user_role=USER,
        task=TASK,
        model=ScriptedModel([]),
        user_model=user,
        helper_model=helper,
        with_task_specify=False,
        with_task_planner=True,
    )
    result = await Runner(team).run("t6", "go")

    assert helper.calls[0][1].content == prompts.task_planner_prompt(TASK)
    plans = [e for e in result.events if isinstance(e, PlanEvent)]
    assert plans[0].steps == ["1. Fetch prices", "2. Compute averages"]
    assert f"{TASK}\n1. Fetch prices\n2. Compute averages" in user.calls[0][0].content


def test_bad_configuration_is_rejected() -> None:
    with pytest.raises(ValueError, match="must differ"):
        RolePlay(assistant_role="Coder", user_role="coder", model=ScriptedModel([]))
    with pytest.raises(ValueError, match="ChatModel"):
        RolePlay(assistant_role="A", user_role="B", model=object())
    assert solution_text("**Solution:** use pandas.\nNext request.") == "use pandas."


@pytest.mark.local_model
async def test_two_turns_on_the_embedded_model() -> None:
    from hanlin.llm.local_model import LocalModel

    team = RolePlay(
        assistant_role=ASSISTANT,
        user_role=USER,
        task=TASK,
        model=LocalModel(n_threads=2),
        options=ChatOptions(max_tokens=48),
        word_limit=30,
        max_turns=2,
        stop_on_role_flip=False,
    )
    runner = Runner(team)
    result = await runner.run("local", "go")

    assert result.error is None
    spoken = [e for e in result.events if isinstance(e, MessageEvent)]
    assert spoken[0].agent == "Task Specifier" and spoken[0].content
    roles = [e.agent for e in spoken[1:]]
    assert len(roles) in (1, 3, 4) and roles == [USER, ASSISTANT, USER, ASSISTANT][: len(roles)]
    assert result.final_answer is not None and result.final_answer.strip()
    state = await runner.graph.aget_state({"configurable": {"thread_id": "local"}})
    assert state.values["stop_reason"] in {"task_done", "turn_limit"}
