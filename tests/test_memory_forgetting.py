"""The Ebbinghaus forgetting curve and the forgetting sweep, over simulated days, on real Redis."""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator

import numpy
import pytest
from memory_support import HashedBagOfWords

from hanlin.memory import (
    ForgettingCurve,
    ManualClock,
    MemoryStore,
    MemoryStoreConfig,
    forget_cutoffs,
)

DAY = 86_400.0


def test_retention_is_the_papers_curve_where_strength_slows_forgetting() -> None:
    curve = ForgettingCurve()
    assert curve.retention(1, 0.0, DAY) == pytest.approx(math.exp(-1), abs=1e-15)
    assert curve.retention(2, 0.0, DAY) == pytest.approx(math.exp(-0.5), abs=1e-15)
    assert curve.retention(3, 0.0, 6 * DAY) == pytest.approx(math.exp(-2), abs=1e-15)
    assert curve.retention(5, 0.0, 0.0) == 1.0
    assert curve.retention(2, 0.0, DAY) > curve.retention(1, 0.0, DAY)  # not exp(-t*S/5)
    assert curve.retention(1, 10.0, 0.0) == 1.0  # a clock behind the memory counts as no time
    hourly = ForgettingCurve(unit_seconds=3600)
    assert hourly.retention(1, 0.0, 3600) == pytest.approx(math.exp(-1), abs=1e-15)
    with pytest.raises(ValueError, match="strength must be positive"):
        curve.retention(0, 0.0, DAY)


def test_forget_at_is_when_retention_reaches_the_threshold() -> None:
    curve = ForgettingCurve()
    when = curve.forget_at(strength=3, last_recall_at=100.0, threshold=0.2)
    assert curve.retention(3, 100.0, when) == pytest.approx(0.2, rel=1e-12)
    assert curve.curve(2, 4.0, points=5)[2] == (2.0, pytest.approx(math.exp(-1)))


def test_cutoffs_are_fixed_or_seeded_draws() -> None:
    assert forget_cutoffs("threshold", 3, threshold=0.4).tolist() == [0.4, 0.4, 0.4]
    first = forget_cutoffs("stochastic", 100, threshold=0.0, rng=numpy.random.default_rng(9))
    again = forget_cutoffs("stochastic", 100, threshold=0.0, rng=numpy.random.default_rng(9))
    assert first.tolist() == again.tolist()
    assert 0.0 <= first.min() and first.max() < 1.0
    with pytest.raises(ValueError, match="unknown sweep mode"):
        forget_cutoffs("sometimes", 1, threshold=0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="threshold must be in"):
        forget_cutoffs("threshold", 1, threshold=1.5)


def test_manual_clock_moves_forward_only() -> None:
    clock = ManualClock(start=1000.0)
    assert clock.advance(days=1, hours=1, minutes=1, seconds=1) == 1000.0 + DAY + 3661
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(seconds=-1)


@pytest.fixture(params=["redis_url", "plain_redis_url"])
def any_redis(request: pytest.FixtureRequest) -> str:
    """Both a Redis Stack (vector search in Redis) and a Redis without modules (in process)."""
    return str(request.getfixturevalue(request.param))


async def open_store(url: str, clock: ManualClock, prefix: str | None = None) -> MemoryStore:
    config = MemoryStoreConfig(prefix=prefix or f"test:{uuid.uuid4().hex[:10]}")
    return await MemoryStore.open(url, HashedBagOfWords(), config=config, clock=clock)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1_700_000_000.0)  # 2023-11-14 22:13 UTC


@pytest.fixture
async def store(any_redis: str, clock: ManualClock) -> AsyncIterator[MemoryStore]:
    store = await open_store(any_redis, clock)
    yield store
    await store.close()


def by_text(views: list) -> dict[str, object]:  # type: ignore[type-arg]
    return {view.record.text: view for view in views}


async def test_retention_over_simulated_days_with_recall(
    store: MemoryStore, clock: ManualClock
) -> None:
    await store.add("ann", "bot", "ann keeps bees on her roof in Lyon")
    await store.add("ann", "bot", "ann bought a red bicycle")
    clock.advance(days=1)
    views = by_text(await store.list("ann"))
    assert views["ann keeps bees on her roof in Lyon"].retention == pytest.approx(
        math.exp(-1), abs=1e-12
    )
    assert views["ann keeps bees on her roof in Lyon"].elapsed_units == pytest.approx(1.0)

    hits = await store.search("ann", "bees on the roof", k=1)
    assert hits[0].record.text == "ann keeps bees on her roof in Lyon"
    assert hits[0].retention == pytest.approx(math.exp(-1), abs=1e-12)  # before this recall
    assert (hits[0].record.strength, hits[0].record.last_recall_at) == (2, clock.now())

    clock.advance(days=1)
    views = by_text(await store.list("ann"))
    bees, bike = views["ann keeps bees on her roof in Lyon"], views["ann bought a red bicycle"]
    assert (bees.record.strength, bees.retention) == (2, pytest.approx(math.exp(-0.5), abs=1e-12))
    assert (bike.record.strength, bike.retention) == (1, pytest.approx(math.exp(-2), abs=1e-12))
    assert bees.forget_at == pytest.approx(clock.now() - DAY - 2 * math.log(0.1) * DAY)


async def test_recalled_memories_outlive_unrecalled_ones(
    store: MemoryStore, clock: ManualClock
) -> None:
    await store.add("bo", "bot", "bo plays the violin in an orchestra")
    await store.add("bo", "bot", "bo once visited Reykjavik")
    for _ in range(3):  # the violin comes up every day
        clock.advance(days=1)
        assert (await store.search("bo", "violin orchestra", k=1))[0].record.text.startswith(
            "bo plays"
        )
    clock.advance(days=2)
    report = await store.sweep("bo", threshold=0.2)
    assert [v.record.text for v in await store.list("bo")] == [
        "bo plays the violin in an orchestra"
    ]
    assert len(report.forgotten_turns) == 1 and report.kept_turns == 1


async def test_threshold_sweep_forgets_exactly_the_turns_below_it(
    store: MemoryStore, clock: ManualClock
) -> None:
    expected_gone: set[str] = set()
    for age_days, recalls in [(0.5, 0), (1.0, 0), (1.6, 0), (3.0, 0), (3.0, 1), (3.0, 2), (5.0, 4)]:
        text = f"cy fact aged {age_days} recalled {recalls} times"
        record = await store.add("cy", "bot", text, at=clock.now() - age_days * DAY)
        strength = 1 + recalls
        if recalls:  # recalls set S; the last one (at creation time) keeps dt = age
            await store._client.hset(store.keys.strength("cy"), record.id, strength)
        if math.exp(-age_days / strength) < 0.25:
            expected_gone.add(text)
    kept_kinds = [
        "daily_summary",
        "global_summary",
        "daily_personality",
        "portrait",
        "reflection",
        "experience",
    ]
    for kind in kept_kinds:  # on the day of the half-day-old turn, which stays
        await store.add("cy", "bot", f"cy {kind}", kind=kind, at=clock.now() - 0.5 * DAY)
    await store.add("dee", "bot", "someone else's old turn", at=clock.now() - 30 * DAY)

    report = await store.sweep("cy", mode="threshold", threshold=0.25)
    remaining = {v.record.text for v in await store.list("cy")}
    assert expected_gone == {
        "cy fact aged 1.6 recalled 0 times",
        "cy fact aged 3.0 recalled 0 times",
        "cy fact aged 3.0 recalled 1 times",
    }
    assert not expected_gone & remaining
    assert {f"cy {kind}" for kind in kept_kinds} <= remaining
    assert len(remaining) == 7 - len(expected_gone) + len(kept_kinds)
    assert (len(report.forgotten_turns), report.kept_turns, report.examined) == (3, 4, 13)
    assert report.removed_summaries == []
    assert len(await store.list("dee")) == 1  # the sweep was for cy only


async def build_stochastic_history(store: MemoryStore, clock: ManualClock) -> list[float]:
    """200 turns one second apart, swept a day after the last: retention of each, in order."""
    start = clock.now()
    await store.add_many("eve", "bot", [f"eve turn number {i}" for i in range(200)], at=start)
    clock.set(start + DAY)
    return [math.exp(-1.0)] * 200


async def test_stochastic_sweep_replays_for_a_seed(any_redis: str) -> None:
    forgotten_texts = []
    for _ in range(2):
        clock = ManualClock(start=1_700_000_000.0)
        store = await open_store(any_redis, clock)
        try:
            retention = await build_stochastic_history(store, clock)
            before = {v.record.id: v.record.text for v in await store.list("eve")}
            report = await store.sweep("eve", mode="stochastic", seed=1234)
            forgotten_texts.append([before[i] for i in report.forgotten_turns])
        finally:
            await store.close()
    assert forgotten_texts[0] == forgotten_texts[1]
    draws = numpy.random.default_rng(1234).random(200)  # sweep order is creation order
    expected = [f"eve turn number {i}" for i in range(200) if retention[i] < draws[i]]
    assert forgotten_texts[0] == expected
    assert 100 < len(forgotten_texts[0]) < 150  # about 1 - e^-1 = 63% of 200


async def test_a_days_summary_goes_when_its_last_turn_is_forgotten(
    store: MemoryStore, clock: ManualClock
) -> None:
    old = clock.now() - 10 * DAY
    await store.add("fay", "bot", "fay talked about her exam", at=old)
    await store.add("fay", "bot", "fay was nervous about the exam", at=old + 60)
    await store.add(
        "fay", "bot", "old day summary: exam stress", kind="daily_summary", at=old + 120
    )
    await store.add(
        "fay", "bot", "old day personality: anxious", kind="daily_personality", at=old + 120
    )
    await store.add("fay", "bot", "global: a student", kind="global_summary", at=old + 120)
    await store.add("fay", "bot", "portrait: careful planner", kind="portrait", at=old + 120)
    await store.add("fay", "bot", "fay passed the exam", at=clock.now())
    await store.add("fay", "bot", "today summary: passed", kind="daily_summary", at=clock.now())
    await store.add(
        "fay",
        "bot",
        "summary of a day whose turns the user deleted",
        kind="daily_summary",
        at=old - DAY,
    )
    await store.add("fay", "tutor", "other agent, same old day", at=old)
    await store.add("fay", "tutor", "tutor summary of the old day", kind="daily_summary", at=old)
    recent = await store.search("fay", "other agent same old day", k=1, agent_id="tutor")
    assert recent[0].record.strength == 2  # recalled now: the tutor's old day keeps a turn

    report = await store.sweep("fay", threshold=0.1)
    remaining = {v.record.text for v in await store.list("fay")}
    assert remaining == {
        "old day personality: anxious",
        "global: a student",
        "portrait: careful planner",
        "fay passed the exam",
        "today summary: passed",
        "other agent, same old day",
        "tutor summary of the old day",
    }
    assert len(report.forgotten_turns) == 2 and len(report.removed_summaries) == 2


async def test_sweep_of_all_users(store: MemoryStore, clock: ManualClock) -> None:
    for user in ("gus", "hal", "ivy:with{odd} 名字"):
        await store.add(user, "bot", f"{user} said something long ago", at=clock.now() - 5 * DAY)
        await store.add(user, "bot", f"{user} said something today")
    report = await store.sweep()
    assert report.users == 3 and len(report.forgotten_turns) == 3 and report.kept_turns == 3
    assert [v.record.text for v in await store.list("ivy:with{odd} 名字")] == [
        "ivy:with{odd} 名字 said something today"
    ]
