"""Near misses in the synthetic data: a request no offered tool fits, offered tools of its own
subject, with a gold turn that declines; off by default, so earlier data stays the same."""

from __future__ import annotations

from collections import Counter

import pytest

from hanlin.llm.messages import AssistantMessage
from hanlin.training.config import DataConfig
from hanlin.training.data.near_misses import SUBJECTS, near_miss_offer, neighbours
from hanlin.training.data.pipeline import load_split
from hanlin.training.data.query_templates_compound import TASKS
from hanlin.training.data.synthetic import SyntheticExample, generate_examples, template_of
from hanlin.training.data.tool_catalogue import CATALOGUE, TYPED_CATALOGUE
from hanlin.training.data.typed_templates_services import TYPED_TASKS

GOLD = {t.key: t.steps[0].tool if t.steps else "" for t in [*TASKS, *TYPED_TASKS]}


def _gold_tool(example: SyntheticExample) -> str:
    return GOLD[example.template.split("#", 1)[0]]


def test_subjects_name_real_tools_and_keep_stand_ins_apart() -> None:
    names = {t.name for t in CATALOGUE} | {t.name for t in TYPED_CATALOGUE}
    assert {name for group in SUBJECTS for name in group} <= names
    for group in SUBJECTS:
        assert len(set(group)) == len(group) >= 2
    # Tools that can answer each other's requests are never offered in each other's place.
    assert "get_weather_forecast" not in neighbours("get_weather_current")
    assert "describe_numbers" not in neighbours("weighted_average")
    assert neighbours("check_prime") == [
        "describe_numbers",
        "greatest_common_divisor",
        "sort_numbers",
    ]
    assert neighbours("generate_password") == []


def test_an_offer_is_one_to_most_neighbours() -> None:
    from random import Random

    rng = Random(3)
    sizes = Counter(len(near_miss_offer(rng, "search_flights", 2)) for _ in range(200))
    assert set(sizes) == {1, 2} and min(sizes.values()) > 40
    offered = {n for _ in range(50) for n in near_miss_offer(rng, "search_flights", 3)}
    assert offered == {"search_hotels", "search_restaurants"}
    assert near_miss_offer(rng, "generate_password", 3) == []


@pytest.fixture(scope="module")
def near() -> list[SyntheticExample]:
    return generate_examples(400, 4, typed_rate=0.5, no_tool_rate=0.3, near_miss_rate=1.0)


def test_withheld_requests_with_neighbours_are_offered_only_those(
    near: list[SyntheticExample],
) -> None:
    withheld = [e for e in near if e.kind == "withheld"]
    with_neighbours = [e for e in withheld if neighbours(_gold_tool(e))]
    assert len(with_neighbours) >= 15
    for example in with_neighbours:
        gold = _gold_tool(example)
        offered = {t.name for t in example.trajectory.tools}
        assert gold not in offered
        assert offered <= set(neighbours(gold)), (gold, offered)
        turns = [m for m in example.trajectory.messages if isinstance(m, AssistantMessage)]
        assert len(turns) == 1 and not turns[0].tool_calls
        assert "none of them fits" in turns[0].content
    # Requests whose tool has no neighbours are still offered unrelated tools.
    others = [e for e in withheld if not neighbours(_gold_tool(e))]
    assert others and all(_gold_tool(e) not in {t.name for t in e.trajectory.tools} for e in others)


def test_off_by_default_and_the_rest_of_the_data_unchanged(
    near: list[SyntheticExample],
) -> None:
    plain = generate_examples(60, 4, typed_rate=0.5, no_tool_rate=0.3)
    again = generate_examples(60, 4, typed_rate=0.5, no_tool_rate=0.3, near_miss_rate=0.0)
    assert [e.trajectory for e in plain] == [e.trajectory for e in again]
    # Only "no tool fits" requests change when near misses are on.
    for before, after in zip(plain, near[:60], strict=True):
        assert before.kind == after.kind
        if before.kind != "withheld":
            assert before.template == after.template
            assert before.trajectory == after.trajectory
    with pytest.raises(ValueError, match="near_miss_rate"):
        generate_examples(5, 0, near_miss_rate=1.5)


def _near_miss_count(data: DataConfig) -> int:
    split = load_split(data)
    count = 0
    for trajectory in split.train + split.heldout:
        template = template_of(trajectory)
        assert template is not None
        offered = {t.name for t in trajectory.tools}
        declines = "none of them fits" in str(trajectory.messages[-1].content)
        near = neighbours(GOLD[template.split("#", 1)[0]])
        count += declines and bool(offered) and offered <= set(near)
    return count


def test_config_reaches_the_split() -> None:
    options = {"synthetic_count": 200, "no_tool_rate": 0.5, "typed_rate": 0.5}
    on = _near_miss_count(DataConfig(**options, near_miss_rate=1.0))
    off = _near_miss_count(DataConfig(**options))
    assert on >= 20 and on > 3 * off, (on, off)
    with pytest.raises(ValueError):
        DataConfig(near_miss_rate=-0.1)


def test_pairs_follow_each_near_miss_with_its_fitting_twin(
    near: list[SyntheticExample],
) -> None:
    paired = generate_examples(
        400, 4, typed_rate=0.5, no_tool_rate=0.3, near_miss_rate=1.0, near_miss_pairs=True
    )
    twins = [e for e in paired if e.trajectory.id.split("|", 1)[0].endswith("t")]
    # Without the twins the data is exactly the unpaired data.
    assert [e.trajectory for e in paired if e not in twins] == [e.trajectory for e in near]
    near_misses = [
        e
        for e in near
        if e.kind == "withheld"
        and {t.name for t in e.trajectory.tools} <= set(neighbours(_gold_tool(e)))
    ]
    assert len(twins) == len(near_misses) >= 15
    for example in near_misses:
        at = paired.index(example)
        twin = paired[at + 1]
        gold = _gold_tool(example)
        assert twin.template == example.template
        before, after = example.trajectory.messages, twin.trajectory.messages
        # The same request, values and all; only the tool list and the answer differ.
        assert [m for m in before if not isinstance(m, AssistantMessage)] == [
            m for m in after[: len(before) - 1] if not isinstance(m, AssistantMessage)
        ]
        offered = [t.name for t in twin.trajectory.tools]
        assert sorted(offered) == sorted([gold, *(t.name for t in example.trajectory.tools)])
        calls = [c.name for m in after if isinstance(m, AssistantMessage) for c in m.tool_calls]
        assert gold in calls and twin.kind != "withheld"


def test_pairs_reach_the_split_and_stay_together() -> None:
    options = {"synthetic_count": 200, "no_tool_rate": 0.5, "typed_rate": 0.5}
    split = load_split(DataConfig(**options, near_miss_rate=1.0, near_miss_pairs=True))
    for part in (split.train, split.heldout):
        ids = {t.id.split("|", 1)[0] for t in part}
        twins = {i for i in ids if i.endswith("t")}
        assert twins and {i[:-1] for i in twins} <= ids
