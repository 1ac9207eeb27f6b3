"""MemoryBank summaries on a real store in Redis: daily, global, personality, portrait."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest
from memory_support import HashedBagOfWords

from hanlin.llm.messages import SystemMessage, UserMessage
from hanlin.llm.scripted import ScriptedModel
from hanlin.memory import ManualClock, MemoryStore, MemoryStoreConfig
from hanlin.memory.prompts import (
    SUMMARIZER_ROLE,
    DatedText,
    Speakers,
    daily_event_summary_prompt,
    daily_personality_prompt,
    dialogue_turn_text,
    global_event_summary_prompt,
    global_portrait_prompt,
)
from hanlin.memory.summarizer import MemorySummarizer, MemorySummarizerError

DAY1, DAY2 = "2023-04-27", "2023-04-28"


def at(day: str, hour: int) -> float:
    return dt.datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00").timestamp()


def asked(prompt: str, language: str = "en") -> list:
    return [SystemMessage(content=SUMMARIZER_ROLE[language]), UserMessage(content=prompt)]  # type: ignore[index]


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[MemoryStore]:
    clock = ManualClock(at(DAY2, 23))
    config = MemoryStoreConfig(prefix=f"test:sum:{uuid.uuid4().hex[:10]}")
    async with await MemoryStore.open(
        redis_url, HashedBagOfWords(), config=config, clock=clock
    ) as s:
        yield s


async def kinds_of(store: MemoryStore, user: str, agent: str = "companion") -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    views = await store.list(user, agent_id=agent)
    for view in sorted(views, key=lambda v: (v.record.day, v.record.created_at)):
        found.setdefault(view.record.kind, []).append(f"{view.record.day} {view.record.text}")
    return found


async def test_close_day_asks_the_four_prompts_and_stores_their_answers(store: MemoryStore) -> None:
    turns1 = [
        dialogue_turn_text("I adopted a cat called Pepper today.", "Congratulations!"),
        dialogue_turn_text("She hides under the sofa.", "Give her a few quiet days."),
        dialogue_turn_text("I feel a bit anxious about it.", "That is normal at first."),
    ]
    # Written out of order: the prompt must list them by time.
    await store.add("ana", "companion", turns1[2], at=at(DAY1, 11))
    await store.add("ana", "companion", turns1[0], at=at(DAY1, 9))
    await store.add("ana", "companion", turns1[1], at=at(DAY1, 10))
    await store.add("ana", "companion", "User: work was long\nAI: rest well", at=at(DAY2, 20))
    await store.add("ana", "tutor", "User: teach me Rust\nAI: sure", at=at(DAY1, 12))  # other agent
    await store.add("bo", "companion", "User: hi\nAI: hello", at=at(DAY1, 12))  # other user

    model = ScriptedModel(
        [
            "Ana adopted a shy cat, Pepper.",
            "Caring but anxious; reassure her.",
            "Ana has a new cat.",
            "Anxious carer; be warm and reassuring.",
        ]
    )
    summarizer = MemorySummarizer(store, model, "en")
    closed = await summarizer.close_day("ana", "companion", DAY1)

    assert model.calls == [
        asked(daily_event_summary_prompt(DAY1, turns1, language="en")),
        asked(daily_personality_prompt(DAY1, turns1, language="en")),
        asked(
            global_event_summary_prompt(
                [DatedText(day=DAY1, text="Ana adopted a shy cat, Pepper.")], language="en"
            )
        ),
        asked(
            global_portrait_prompt(
                [DatedText(day=DAY1, text="Caring but anxious; reassure her.")], language="en"
            )
        ),
    ]
    first = model.calls[0][1].content
    assert first.index("Pepper today") < first.index("sofa") < first.index("anxious")
    assert "Rust" not in first and "work was long" not in first and "hello" not in first
    assert "Conversation on 2023-04-27:\nUser: I adopted" in first
    assert (
        "User's personality traits and emotions, and AI's response strategy:"
        in model.calls[1][1].content
    )
    assert closed.turns == 3 and closed.replaced == []
    assert closed.daily_summary is not None and closed.daily_summary.day == DAY1
    assert (
        closed.daily_summary.metadata["turns"] == 3
        and closed.daily_summary.metadata["language"] == "en"
    )
    assert await kinds_of(store, "ana") == {
        "turn": [
            f"{DAY1} {turns1[0]}",
            f"{DAY1} {turns1[1]}",
            f"{DAY1} {turns1[2]}",
            f"{DAY2} User: work was long\nAI: rest well",
        ],
        "daily_summary": [f"{DAY1} Ana adopted a shy cat, Pepper."],
        "daily_personality": [f"{DAY1} Caring but anxious; reassure her."],
        "global_summary": [f"{DAY1} Ana has a new cat."],
        "portrait": [f"{DAY1} Anxious carer; be warm and reassuring."],
    }
    assert await kinds_of(store, "ana", "tutor") == {
        "turn": [f"{DAY1} User: teach me Rust\nAI: sure"]
    }


async def test_rerunning_a_day_replaces_and_globals_cover_all_days(store: MemoryStore) -> None:
    await store.add(
        "ana", "companion", "User: I start a new job on Monday\nAI: Good luck!", at=at(DAY1, 9)
    )
    await store.add(
        "ana", "companion", "User: first day went well\nAI: Great news", at=at(DAY2, 18)
    )
    model = ScriptedModel(
        [
            "new job soon",
            "hopeful",
            "G1",
            "P1",
            "first day went well",
            "relieved",
            "G2",
            "P2",
            "first day went well; met the team",
            "relieved, sociable",
            "G3",
            "P3",
        ]
    )
    summarizer = MemorySummarizer(store, model)
    first = await summarizer.close_day("ana", "companion", DAY1)
    second = await summarizer.close_day("ana", "companion", DAY2)
    assert model.calls[6] == asked(
        global_event_summary_prompt(
            [
                DatedText(day=DAY1, text="new job soon"),
                DatedText(day=DAY2, text="first day went well"),
            ]
        )
    )
    assert (
        "On 2023-04-27, the events were: new job soon\nOn 2023-04-28" in model.calls[6][1].content
    )
    assert model.calls[7] == asked(
        global_portrait_prompt(
            [DatedText(day=DAY1, text="hopeful"), DatedText(day=DAY2, text="relieved")]
        )
    )
    assert {first.global_summary.id, first.portrait.id} <= set(second.replaced)  # type: ignore[union-attr]

    # More talk on day 2, then close it again: its records are replaced, not duplicated.
    await store.add("ana", "companion", "User: I met the team\nAI: How were they?", at=at(DAY2, 19))
    again = await summarizer.close_day("ana", "companion", DAY2)
    assert again.turns == 2
    assert "User: I met the team" in model.calls[8][1].content
    assert set(again.replaced) == {
        second.daily_summary.id,
        second.daily_personality.id,  # type: ignore[union-attr]
        second.global_summary.id,
        second.portrait.id,
    }  # type: ignore[union-attr]
    assert await kinds_of(store, "ana") == {
        "turn": [
            f"{DAY1} User: I start a new job on Monday\nAI: Good luck!",
            f"{DAY2} User: first day went well\nAI: Great news",
            f"{DAY2} User: I met the team\nAI: How were they?",
        ],
        "daily_summary": [f"{DAY1} new job soon", f"{DAY2} first day went well; met the team"],
        "daily_personality": [f"{DAY1} hopeful", f"{DAY2} relieved, sociable"],
        "global_summary": [f"{DAY2} G3"],
        "portrait": [f"{DAY2} P3"],
    }


async def test_chinese_prompts_and_speaker_names(store: MemoryStore) -> None:
    speakers = Speakers(user="小李", ai="硅友")
    turns = [
        dialogue_turn_text(
            "今天考试没考好，有点难过。", "别灰心，下次会更好。", language="zh", speakers=speakers
        ),
        dialogue_turn_text(
            "我打算每天多复习一小时。", "这个计划很好！", language="zh", speakers=speakers
        ),
    ]
    assert turns[0] == "小李：今天考试没考好，有点难过。\n硅友：别灰心，下次会更好。"
    await store.add("li", "companion", turns[0], at=at(DAY1, 20))
    await store.add("li", "companion", turns[1], at=at(DAY1, 21))
    model = ScriptedModel(
        [
            "小李考试失利，决定每天多复习。",
            "情绪低落但积极；多鼓励。",
            "考试失利后制定复习计划。",
            "上进、敏感；以鼓励为主。",
        ]
    )
    await MemorySummarizer(store, model, "zh", speakers=speakers).close_day("li", "companion", DAY1)
    assert model.calls == [
        asked(daily_event_summary_prompt(DAY1, turns, language="zh"), "zh"),
        asked(daily_personality_prompt(DAY1, turns, language="zh", speakers=speakers), "zh"),
        asked(
            global_event_summary_prompt(
                [DatedText(day=DAY1, text="小李考试失利，决定每天多复习。")], language="zh"
            ),
            "zh",
        ),
        asked(
            global_portrait_prompt(
                [DatedText(day=DAY1, text="情绪低落但积极；多鼓励。")],
                language="zh",
                speakers=speakers,
            ),
            "zh",
        ),
    ]
    assert model.calls[0][1].content.startswith("请尽可能简洁地总结下面的对话")
    assert "2023-04-27 的对话：\n小李：今天考试" in model.calls[0][1].content
    assert model.calls[1][1].content.endswith("小李的性格特点、情绪，以及硅友的回应策略：")
    assert "2023-04-27，发生的事件是：小李考试失利" in model.calls[2][1].content
    assert (await kinds_of(store, "li"))["portrait"] == [f"{DAY1} 上进、敏感；以鼓励为主。"]


async def test_empty_day_and_empty_answers(store: MemoryStore) -> None:
    model = ScriptedModel(["", "never used"])
    summarizer = MemorySummarizer(store, model)
    closed = await summarizer.close_day("ana", "companion", DAY1)
    assert closed.turns == 0 and closed.daily_summary is None and model.calls == []
    await store.add("ana", "companion", "User: hi\nAI: hello", at=at(DAY1, 9))
    with pytest.raises(MemorySummarizerError, match="empty answer"):
        await summarizer.close_day("ana", "companion", DAY1)
    assert set(await kinds_of(store, "ana")) == {"turn"}  # nothing half-written
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        await summarizer.close_day("ana", "companion", "2023-02-30")
    with pytest.raises(ValueError, match="unsupported memory language"):
        MemorySummarizer(store, model, "de")  # type: ignore[arg-type]


async def test_summarize_now_and_catching_up_missing_days(store: MemoryStore) -> None:
    summarizer = MemorySummarizer(store, ScriptedModel([]))
    assert (await summarizer.summarize_now("ana", "companion")).turns == 0
    await store.add("ana", "companion", "User: day one\nAI: ok", at=at(DAY1, 9))
    await store.add("ana", "companion", "User: day two\nAI: ok", at=at(DAY2, 9))
    summarizer.model = model = ScriptedModel(["S2", "P2", "G", "T"])
    now = await summarizer.summarize_now("ana", "companion")
    assert now.day == DAY2 and now.turns == 1 and "User: day two" in model.calls[0][1].content

    # Day one still lacks a summary; catching up closes it and rebuilds the globals once.
    summarizer.model = model = ScriptedModel(["S1", "P1", "G12", "T12"])
    closed = await summarizer.close_missing_days("ana", "companion")
    assert [c.day for c in closed] == [DAY1] and len(model.calls) == 4
    assert (
        "On 2023-04-27, the events were: S1\nOn 2023-04-28, the events were: S2"
        in model.calls[2][1].content
    )
    found = await kinds_of(store, "ana")
    assert found["global_summary"] == [f"{DAY2} G12"] and found["portrait"] == [f"{DAY2} T12"]
    assert found["daily_summary"] == [f"{DAY1} S1", f"{DAY2} S2"]
    assert await summarizer.close_missing_days("ana", "companion") == []


@pytest.mark.local_model
async def test_the_embedded_local_model_writes_all_four_records(store: MemoryStore) -> None:
    pytest.importorskip("llama_cpp", reason="needs llama-cpp-python (pip install 'hanlin[local]')")
    from hanlin.llm.chat_model import ChatOptions
    from hanlin.llm.local_model import LocalModel

    await store.add(
        "ana",
        "companion",
        dialogue_turn_text(
            "I adopted a grey cat called Pepper today.", "Congratulations! How is she settling in?"
        ),
        at=at(DAY1, 9),
    )
    await store.add(
        "ana",
        "companion",
        dialogue_turn_text(
            "She hides under the sofa and I worry.", "Give her a few quiet days; that is normal."
        ),
        at=at(DAY1, 10),
    )
    model = LocalModel(n_threads=2, n_ctx=2048)
    summarizer = MemorySummarizer(store, model, options=ChatOptions(max_tokens=48))
    closed = await summarizer.close_day("ana", "companion", DAY1)
    records = [
        closed.daily_summary,
        closed.daily_personality,
        closed.global_summary,
        closed.portrait,
    ]
    assert all(r is not None and r.text.strip() for r in records)
    found = await kinds_of(store, "ana")
    assert {kind: len(texts) for kind, texts in found.items()} == {
        "turn": 2,
        "daily_summary": 1,
        "daily_personality": 1,
        "global_summary": 1,
        "portrait": 1,
    }
