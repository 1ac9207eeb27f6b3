"""Group chat with scripted models: speaking order, speaker selection, termination, shared views."""

from __future__ import annotations

import pytest

from hanlin.agents.agent import Agent
from hanlin.agents.group_chat import GroupChat, member_view, parse_speaker
from hanlin.contract.approval import ApprovalDecision
from hanlin.contract.events import ErrorEvent, FinalAnswerEvent, MessageEvent
from hanlin.llm.messages import AssistantMessage, Message, SystemMessage, UserMessage
from hanlin.llm.scripted import ScriptedModel, call
from hanlin.runtime.runner import Runner
from hanlin.tools.builtin.calculator import calculator

NAMES = ["Alice", "Bob", "Carol"]


def chat(models: dict[str, ScriptedModel], **kwargs) -> GroupChat:
    members = [Agent(name=n, model=models[n], instructions=f"You are {n}.") for n in NAMES]
    return GroupChat(name="room", members=members, **kwargs)


def spoken(result) -> list[tuple[str, str]]:
    return [
        (e.agent, e.content)
        for e in result.events
        if isinstance(e, MessageEvent) and e.agent in NAMES
    ]


async def test_round_robin_order_shared_views_and_termination_phrase() -> None:
    models = {
        "Alice": ScriptedModel(["a1", "a2"]),
        "Bob": ScriptedModel(["b1"]),
        "Carol": ScriptedModel(["c1 looks good. TERMINATE"]),
    }
    result = await Runner(chat(models)).run("t", "Plan a picnic.")

    assert spoken(result) == [("Alice", "a1"), ("Bob", "b1"), ("Carol", "c1 looks good. TERMINATE")]
    assert len(models["Alice"].calls) == 1, "the chat stopped at the phrase"
    # Bob sees the task and Alice's message prefixed with her name, as user messages.
    bob = models["Bob"].calls[0]
    assert isinstance(bob[0], SystemMessage)
    assert (
        bob[0].content.startswith("You are Bob.")
        and "group chat with Alice, Carol" in bob[0].content
    )
    assert bob[1:] == [UserMessage(content="Plan a picnic."), UserMessage(content="Alice: a1")]
    assert models["Carol"].calls[0][1:] == [
        UserMessage(content="Plan a picnic."),
        UserMessage(content="Alice: a1"),
        UserMessage(content="Bob: b1"),
    ]
    # The phrase is removed from the final answer, which comes from the team.
    finals = [e for e in result.events if isinstance(e, FinalAnswerEvent)]
    assert [(e.agent, e.content) for e in finals] == [("room", "c1 looks good.")]
    assert result.final_answer == "c1 looks good." and result.error is None


async def test_own_turns_are_assistant_messages_and_max_rounds_ends_the_chat() -> None:
    models = {
        "Alice": ScriptedModel(["a1", "a2"]),
        "Bob": ScriptedModel(["Bob: b1", "b2"]),
        "Carol": ScriptedModel(["c1"]),
    }
    runner = Runner(chat(models, max_rounds=5))
    result = await runner.run("t", "Talk.")

    assert spoken(result) == [
        ("Alice", "a1"),
        ("Bob", "Bob: b1"),
        ("Carol", "c1"),
        ("Alice", "a2"),
        ("Bob", "b2"),
    ]
    # Alice's second prompt: her own turn as an assistant message, the others' as named user turns.
    assert models["Alice"].calls[1][1:] == [
        UserMessage(content="Talk."),
        AssistantMessage(content="a1"),
        UserMessage(content="Bob: b1"),
        UserMessage(content="Carol: c1"),
    ]
    # A reply that repeats its own name prefix is stored without it.
    assert models["Bob"].calls[1][2] == UserMessage(content="Alice: a1")
    assert models["Bob"].calls[1][3] == AssistantMessage(content="b1")
    assert result.final_answer == "b2"
    assert any(isinstance(e, ErrorEvent) and e.category == "round_limit" for e in result.events)
    messages = await runner.messages("t")
    assert [(m.role, getattr(m, "name", None)) for m in messages] == [
        ("user", None),
        ("assistant", "Alice"),
        ("assistant", "Bob"),
        ("assistant", "Carol"),
        ("assistant", "Alice"),
        ("assistant", "Bob"),
    ]


async def test_model_selector_reads_messy_replies_and_falls_back() -> None:
    selector = ScriptedModel(
        [
            "I think Bob should speak",  # messy but names one member
            '{"speaker": "carol"}',  # JSON, other case
            "Hmm, hard to say.",  # names nobody -> fallback: after Carol comes Alice
            "Alice or Bob, either works",  # ambiguous -> fallback: after Alice comes Bob
        ]
    )
    models = {
        "Alice": ScriptedModel(["a1"]),
        "Bob": ScriptedModel(["b1", "b2 TERMINATE"]),
        "Carol": ScriptedModel(["c1"]),
    }
    result = await Runner(chat(models, selector="model", selector_model=selector)).run(
        "t", "Decide."
    )

    assert spoken(result) == [
        ("Bob", "b1"),
        ("Carol", "c1"),
        ("Alice", "a1"),
        ("Bob", "b2 TERMINATE"),
    ]
    fallbacks = [
        e for e in result.events if isinstance(e, ErrorEvent) and e.category == "invalid_speaker"
    ]
    assert len(fallbacks) == 2 and all(e.agent == "room" for e in fallbacks)
    assert "Alice speaks next" in fallbacks[0].message and "Bob speaks next" in fallbacks[1].message
    # The selector saw the roster, the allowed names and the transcript with speaker names.
    system, request = selector.calls[2]
    assert (
        isinstance(system, SystemMessage) and "Choose one of: Alice, Bob, Carol." in system.content
    )
    assert "- Bob: You are Bob." in system.content
    assert isinstance(request, UserMessage)
    assert request.content == "user: Decide.\n\nBob: b1\n\nCarol: c1\n\nWho speaks next?"
    assert result.final_answer == "b2"


async def test_function_selector_and_termination_function() -> None:
    picks: list[list[str]] = []

    def always_carol_then_alice(transcript: list[Message], names: list[str]) -> str:
        picks.append(names)
        return "Carol" if len(transcript) == 1 else "Alice"

    models = {
        "Alice": ScriptedModel(["a1", "a2"]),
        "Bob": ScriptedModel([]),
        "Carol": ScriptedModel(["c1"]),
    }

    def done(transcript: list) -> bool:
        return transcript[-1].content == "a2"

    result = await Runner(chat(models, selector=always_carol_then_alice, termination=done)).run(
        "t", "Go."
    )
    assert spoken(result) == [("Carol", "c1"), ("Alice", "a1"), ("Alice", "a2")]
    assert picks[0] == NAMES and result.final_answer == "a2"

    bad = chat({n: ScriptedModel(["x"]) for n in NAMES}, selector=lambda t, n: "Zed")
    failed = await Runner(bad).run("t", "Go.")
    assert failed.error is not None and "'Zed'" in failed.error


async def test_member_tools_and_approvals_work_inside_a_turn() -> None:
    alice = ScriptedModel([call("calculator", "c1", expression="2+3"), "It is 5. TERMINATE"])
    members = [
        Agent(name="Alice", model=alice, tools=[calculator], approval="always"),
        Agent(name="Bob", model=ScriptedModel([])),
    ]
    runner = Runner(GroupChat(members=members))
    paused = await runner.run("t", "2+3?")
    assert len(paused.pending) == 1 and paused.pending[0].agent == "Alice"
    done = await runner.resume("t", ApprovalDecision(action="approve"))
    assert done.final_answer == "It is 5." and len(alice.calls) == 2


def test_parse_speaker_and_member_view() -> None:
    assert parse_speaker("I think Bob should speak", NAMES) == "Bob"
    assert parse_speaker(" **carol**. ", NAMES) == "Carol"
    assert parse_speaker('"Alice"', NAMES) == "Alice"
    assert parse_speaker("Bobby", NAMES) is None
    assert parse_speaker("Alice, then Bob", NAMES) is None
    view = member_view(
        [
            UserMessage(content="q"),
            AssistantMessage(content="x", name="Bob"),
            AssistantMessage(content="y", name="Alice"),
        ],
        "Alice",
    )
    assert view == [
        UserMessage(content="q"),
        UserMessage(content="Bob: x"),
        AssistantMessage(content="y"),
    ]


def test_bad_configuration_is_refused() -> None:
    model = ScriptedModel([])
    with pytest.raises(ValueError, match="selector_model"):
        GroupChat(members=[Agent(name="a", model=model)], selector="model")
    with pytest.raises(ValueError, match="unique"):
        GroupChat(members=[Agent(name="a", model=model), Agent(name="a", model=model)])
    with pytest.raises(ValueError, match="empty"):
        GroupChat(members=[Agent(name="a", model=model)], termination=" ")
