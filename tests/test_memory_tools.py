"""Memory for agents on a real store in Redis: the memory-augmented prompt and memory tools."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest
from memory_support import HashedBagOfWords

from hanlin.agents.agent import Agent
from hanlin.agents.memory_tools import memory_tools
from hanlin.llm.messages import ToolCall, ToolMessage
from hanlin.llm.scripted import ScriptedModel, call
from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.memory import ManualClock, MemoryStore, MemoryStoreConfig
from hanlin.memory.augment import build_memory_context
from hanlin.memory.prompts import RetrievedMemory, memory_system_section
from hanlin.memory.summarizer import MemorySummarizer
from hanlin.runtime.runner import Runner
from hanlin.tools.registry import ToolRegistry

DAY1, DAY2 = "2023-04-27", "2023-04-28"


def at(day: str, hour: int) -> float:
    return dt.datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00").timestamp()


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[MemoryStore]:
    clock = ManualClock(at("2023-04-29", 8))
    config = MemoryStoreConfig(prefix=f"test:aug:{uuid.uuid4().hex[:10]}")
    async with await MemoryStore.open(
        redis_url, HashedBagOfWords(), config=config, clock=clock
    ) as s:
        yield s


async def test_context_shows_dated_memories_global_summary_and_portrait(store: MemoryStore) -> None:
    cat = await store.add(
        "ana", "bot", "User: my cat Pepper hides under the sofa\nAI: give her time", at=at(DAY1, 9)
    )
    await store.add("ana", "bot", "User: I baked sourdough bread\nAI: lovely", at=at(DAY1, 10))
    vet = await store.add(
        "ana", "bot", "User: Pepper the cat saw the vet today\nAI: how is she", at=at(DAY2, 9)
    )
    model = ScriptedModel(
        [
            "cat and bread",
            "calm",
            "Ana cares for her cat Pepper.",
            "Warm, a little anxious.",
            "cat at the vet",
            "worried",
            "Ana's cat Pepper saw the vet.",
            "Caring; reassure her.",
        ]
    )
    summarizer = MemorySummarizer(store, model)
    await summarizer.close_day("ana", "bot", DAY1)
    await summarizer.close_day("ana", "bot", DAY2)

    context = await build_memory_context(
        store, "ana", "how is my cat Pepper", k=2, agent_id="bot", kinds=["turn"]
    )
    ids = [m.record.id for m in context.recalled]
    assert {cat.id, vet.id} == set(ids)  # the two turns about the cat, not the bread
    assert context.global_summary == "Ana's cat Pepper saw the vet."
    assert context.portrait == "Caring; reassure her."
    expected = memory_system_section(
        [
            RetrievedMemory(day=DAY1, kind="turn", text=cat.text),
            RetrievedMemory(day=DAY2, kind="turn", text=vet.text),
        ],
        global_summary="Ana's cat Pepper saw the vet.",
        portrait="Caring; reassure her.",
    )
    assert context.text == expected
    assert context.text.startswith("# Long-term memory\n")
    assert "Overall summary of past events:\nAna's cat Pepper saw the vet." in context.text
    assert (
        "The user's personality and the best way to respond:\nCaring; reassure her." in context.text
    )
    assert (
        "- [2023-04-27] (conversation) User: my cat Pepper hides under the sofa\n"
        "  AI: give her time\n- [2023-04-28] (conversation) User: Pepper the cat"
    ) in context.text
    assert f"[{DAY1}] {cat.text}" in context.event_memories
    # Recalling strengthened them (S + 1), as MemoryBank's forgetting curve requires.
    assert (await store.get("ana", "bot", cat.id)).strength == 2  # type: ignore[union-attr]


async def test_context_in_chinese_includes_daily_summaries(store: MemoryStore) -> None:
    await store.add("li", "bot", "用户：我下个月去成都参加婚礼\nAI：太好了", at=at(DAY1, 9))
    model = ScriptedModel(["小李下个月去成都参加婚礼。", "开心", "小李要去成都。", "开朗"])
    await MemorySummarizer(store, model, "zh").close_day("li", "bot", DAY1)
    context = await build_memory_context(store, "li", "成都婚礼", k=3, language="zh")
    kinds = sorted(m.record.kind for m in context.recalled)
    assert kinds == ["daily_summary", "turn"]  # personality notes and globals are never searched
    assert context.text.startswith("# 长期记忆\n")
    assert "以往事件的总体总结：\n小李要去成都。" in context.text
    assert "用户的性格特点及最合适的回应方式：\n开朗" in context.text
    assert "- [2023-04-27] (当天的总结) 小李下个月去成都参加婚礼。" in context.text
    assert "- [2023-04-27] (对话) 用户：我下个月去成都参加婚礼\n  AI：太好了" in context.text


async def test_context_is_empty_for_a_new_user_and_respects_agents(store: MemoryStore) -> None:
    empty = await build_memory_context(store, "nobody", "hello")
    assert empty.text == "" and empty.recalled == [] and empty.portrait is None
    await store.add("ana", "tutor", "User: teach me Rust\nAI: sure", at=at(DAY1, 9))
    assert (await build_memory_context(store, "ana", "Rust", agent_id="bot")).text == ""
    other = await build_memory_context(store, "ana", "Rust")
    assert "teach me Rust" in other.text
    assert (await build_memory_context(store, "ana", "Rust", min_score=1.01)).recalled == []
    with pytest.raises(ValueError, match="unsupported memory language"):
        await build_memory_context(store, "ana", "Rust", language="jp")  # type: ignore[arg-type]


async def test_tools_store_and_search_through_the_registry(store: MemoryStore) -> None:
    registry = ToolRegistry(memory_tools(store, "ana", "bot"))
    assert registry.names() == ["memory_search", "memory_store"]
    search_spec = registry.get("memory_search").spec.parameters  # type: ignore[union-attr]
    assert search_spec["required"] == ["query"]
    assert search_spec["properties"]["k"]["maximum"] == 10

    stored = await registry.execute(
        ToolCall(
            id="s1", name="memory_store", arguments={"text": "  Ana is allergic to peanuts.  "}
        )
    )
    assert not stored.is_error and stored.content.startswith("Remembered (memory ")
    assert stored.content.endswith(", 2023-04-29).")
    [view] = await store.list("ana", agent_id="bot")
    assert (view.record.kind, view.record.text) == ("experience", "Ana is allergic to peanuts.")
    assert view.record.metadata == {"source": "memory_store"}

    await store.add("ana", "bot", "User: my sister lives in Osaka\nAI: nice", at=at(DAY1, 9))
    found = await registry.execute(
        ToolCall(id="q1", name="memory_search", arguments={"query": "peanuts allergy", "k": 1})
    )
    assert not found.is_error
    assert found.content.startswith("[2023-04-29] (experience, similarity ")
    assert found.content.endswith(") Ana is allergic to peanuts.")
    both = await registry.execute(
        ToolCall(id="q2", name="memory_search", arguments={"query": "sister Osaka"})
    )
    assert both.content.splitlines()[0].startswith("[2023-04-27] (turn, similarity ")

    # Another user's tools see nothing of Ana's.
    bo = ToolRegistry(memory_tools(store, "bo", "bot"))
    nothing = await bo.execute(
        ToolCall(id="q3", name="memory_search", arguments={"query": "peanuts"})
    )
    assert nothing.content == "No memories match 'peanuts'."

    too_many = await registry.execute(
        ToolCall(id="e1", name="memory_search", arguments={"query": "x", "k": 50})
    )
    assert too_many.is_error and too_many.error.kind == ToolErrorKind.INVALID_VALUE  # type: ignore[union-attr]
    blank = await registry.execute(
        ToolCall(id="e2", name="memory_store", arguments={"text": "   "})
    )
    assert blank.is_error and "blank" in blank.content
    missing = await registry.execute(ToolCall(id="e3", name="memory_search", arguments={}))
    assert missing.is_error and missing.error.kind == ToolErrorKind.MISSING_PARAMETER  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="non-empty user_id"):
        memory_tools(store, "", "bot")


async def test_an_agent_writes_a_memory_and_finds_it_again(store: MemoryStore) -> None:
    model = ScriptedModel(
        [
            call("memory_store", "c1", text="The user's daughter is called Mei."),
            call("memory_search", "c2", query="daughter name"),
            "Final Answer: Your daughter is Mei.",
        ]
    )
    runner = Runner(
        Agent(name="companion", model=model, tools=memory_tools(store, "ana", "companion"))
    )
    result = await runner.run("t1", "Remember that my daughter is Mei, then tell me her name.")
    assert result.final_answer == "Your daughter is Mei."
    observation = model.calls[2][-1]
    assert isinstance(observation, ToolMessage) and observation.tool_call_id == "c2"
    assert observation.content.startswith("[2023-04-29] (experience, similarity ")
    assert observation.content.endswith("The user's daughter is called Mei.")
    assert [v.record.text for v in await store.list("ana", agent_id="companion")] == [
        "The user's daughter is called Mei."
    ]
