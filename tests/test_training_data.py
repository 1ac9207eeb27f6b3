"""Training data: the offline tool catalogue, synthetic trajectories with real tool feedback,
recorded runs of a real Runner, and the per-turn sample split."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from random import Random

import pytest

from hanlin.agents.agent import Agent
from hanlin.llm.chat_model import ChatOptions
from hanlin.llm.local_prompt import render_tool_call, to_template_messages
from hanlin.llm.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage
from hanlin.llm.scripted import ScriptedModel, call
from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.runtime.runner import Runner
from hanlin.training.data.error_steps import erroneous_steps
from hanlin.training.data.query_templates_compound import TASKS
from hanlin.training.data.recorded_runs import (
    export_threads,
    trajectory_from_messages,
    trajectory_from_runner,
)
from hanlin.training.data.samples import describe, gold_call_samples, split_into_samples
from hanlin.training.data.synthetic import (
    ERROR_TYPES,
    KNOWABLE,
    SyntheticExample,
    corrupt_call,
    generate_examples,
    generate_trajectories,
    split_train_heldout,
    template_of,
)
from hanlin.training.data.tool_catalogue import (
    CATALOGUE,
    catalogue_registry,
    catalogue_tool,
    siblings,
)
from hanlin.training.data.trajectory import read_trajectories

EXPECTED_KIND = {
    "hallucinated_tool": {"unknown_tool"},
    "missing_parameter": {"missing_parameter"},
    "hallucinated_parameter": {"hallucinated_parameter"},
    "wrong_type": {"invalid_value"},
    "wrong_sibling": {"missing_parameter", "hallucinated_parameter", "invalid_value"},
}


@pytest.fixture(scope="module")
def examples() -> list[SyntheticExample]:
    return generate_examples(400, 7, error_rate=0.5)


def test_catalogue_has_typed_tools_in_prefix_families() -> None:
    assert len(CATALOGUE) == 24 and len(catalogue_registry()) == 24
    types = {p.get("type") for t in CATALOGUE for p in t.spec.parameters["properties"].values()}
    assert {"string", "integer", "number", "boolean"} <= types
    assert any("enum" in p for t in CATALOGUE for p in t.spec.parameters["properties"].values())
    assert set(siblings("get_paper_details")) == {"get_papers_by_keywords", "get_paper_citations"}
    assert siblings("get_weather_current") == ["get_weather_forecast"]


async def test_catalogue_tools_answer_and_fail_like_real_services() -> None:
    registry = catalogue_registry()
    arguments = {"amount": 100, "from_currency": "USD", "to_currency": "EUR"}
    ok = await registry.execute(ToolCall(id="a", name="convert_currency", arguments=arguments))
    assert ok.content == '{"amount":100.0,"from":"USD","to":"EUR","result":92.0}'
    unknown = await registry.execute(
        ToolCall(id="b", name="get_weather_current", arguments={"city": "Atlantis"})
    )
    assert unknown.is_error and unknown.error is not None
    assert unknown.error.kind == ToolErrorKind.INVALID_VALUE and "Paris" in unknown.content


def test_generation_is_deterministic_and_prefix_stable() -> None:
    first = generate_trajectories(60, seed=3)
    again, shorter = generate_trajectories(60, seed=3), generate_trajectories(20, seed=3)
    assert [t.model_dump() for t in first] == [t.model_dump() for t in again]
    assert [t.model_dump() for t in first[:20]] == [t.model_dump() for t in shorter]
    assert [t.query for t in first] != [t.query for t in generate_trajectories(60, seed=4)]
    assert all(t.source == "synthetic" and template_of(t) for t in first)


def test_offered_tools_include_gold_siblings_and_distractors(
    examples: list[SyntheticExample],
) -> None:
    for example in examples:
        offered = {tool.name for tool in example.trajectory.tools}
        assert len(offered) >= 3
        gold = {c.name for c in _final_calls(example)}
        if example.kind == "withheld":
            family = {example.template.split("#")[0], *siblings(example.template.split("#")[0])}
            assert not family & offered and example.template.split("#")[0] not in KNOWABLE
        for name in gold:
            assert name in offered and set(siblings(name)) <= offered


def _final_calls(example: SyntheticExample) -> list[ToolCall]:
    """The calls that were not erroneous: the gold path."""
    return [
        c
        for i, m in enumerate(example.trajectory.messages)
        if isinstance(m, AssistantMessage) and i not in example.injected
        for c in m.tool_calls
    ]


async def test_each_error_type_gets_the_registrys_own_feedback(
    examples: list[SyntheticExample],
) -> None:
    seen: Counter[str] = Counter()
    for example in examples:
        messages = example.trajectory.messages
        registry = catalogue_registry([t.name for t in example.trajectory.tools])
        for index, error in example.injected.items():
            turn = messages[index]
            assert isinstance(turn, AssistantMessage)
            feedback = [m for m in messages[index + 1 : index + 1 + len(turn.tool_calls)]]
            failed = [m for m in feedback if isinstance(m, ToolMessage) and m.is_error]
            assert len(failed) == 1 and failed[0].error_kind in EXPECTED_KIND[error]
            bad = next(c for c in turn.tool_calls if c.id == failed[0].tool_call_id)
            assert failed[0] == (await registry.execute(bad)).to_message()  # the real text
            retry = messages[index + 1 + len(turn.tool_calls)]
            assert isinstance(retry, AssistantMessage)
            assert len(retry.tool_calls) == len(turn.tool_calls)
            if error == "wrong_sibling":
                assert bad.name in siblings(retry.tool_calls[0].name)
            seen[error] += 1
        last = messages[-1]
        assert isinstance(last, AssistantMessage) and last.content and not last.tool_calls
    assert set(seen) == set(ERROR_TYPES) and min(seen.values()) >= 10


def test_corrupt_call_produces_each_error_on_one_call() -> None:
    registry = catalogue_registry(["get_weather_current", "get_weather_forecast", "calculator"])
    good = ToolCall(
        id="c", name="get_weather_current", arguments={"city": "Paris", "units": "celsius"}
    )
    kinds = {}
    for error in ERROR_TYPES:
        bad = corrupt_call(good, error, registry, Random(0))
        assert bad is not None
        kinds[error] = registry.validate(bad).kind.value  # type: ignore[union-attr]
    assert kinds == {
        "wrong_sibling": "missing_parameter",
        "hallucinated_tool": "unknown_tool",
        "missing_parameter": "missing_parameter",
        "hallucinated_parameter": "hallucinated_parameter",
        "wrong_type": "invalid_value",
    }
    assert (
        corrupt_call(
            ToolCall(id="d", name="calculator", arguments={"expression": "1+1"}),
            "wrong_sibling",
            registry,
            Random(0),
        )
        is None
    )  # it has no siblings


def test_mix_of_single_multi_and_no_tool_cases() -> None:
    examples = generate_examples(500, 11)
    kinds = Counter(e.kind for e in examples)
    assert kinds["single"] > 250 and kinds["chain"] + kinds["parallel"] > 80
    assert 20 < kinds["no_tool"] + kinds["withheld"] < 90
    for example in examples:
        turns = [m for m in example.trajectory.messages if isinstance(m, AssistantMessage)]
        if example.kind in {"no_tool", "withheld"}:
            assert len(turns) == 1 and not turns[0].tool_calls
        if example.kind == "chain":  # call A, read its result, then call B with it
            names = [c.name for c in _final_calls(example)]
            assert len(names) == 2 and names[0] != names[1]
    chain = next(e for e in examples if e.template.startswith("chain.papers_then_details"))
    results = [
        m for m in chain.trajectory.messages if isinstance(m, ToolMessage) and not m.is_error
    ]
    details = _final_calls(chain)[1]
    assert details.arguments["paper_id"] in results[0].content
    assert chain.trajectory.messages[-1].content.split('"')[1] in results[1].content


def test_heldout_split_keeps_phrasings_disjoint_and_clean() -> None:
    trajectories = generate_trajectories(600, 5, error_rate=0.3)
    train, heldout = split_train_heldout(trajectories, 0.25, seed=1)
    assert len(train) + len(heldout) == 600 and 0.12 < len(heldout) / 600 < 0.4
    train_templates = {template_of(t) for t in train}
    assert not train_templates & {template_of(t) for t in heldout}
    assert not {t.query for t in train} & {t.query for t in heldout}
    assert not any(erroneous_steps(t) for t in heldout)
    tasks = {str(template_of(t)).split("#")[0] for t in trajectories}
    assert tasks == {str(x).split("#")[0] for x in train_templates}  # every task is trained
    same = split_train_heldout(trajectories, 0.25, seed=1)
    assert [t.id for t in same[1]] == [t.id for t in heldout]


def test_extra_heldout_grows_the_test_set_without_touching_training() -> None:
    trajectories = generate_trajectories(400, 3, error_rate=0.3)
    train, heldout = split_train_heldout(trajectories[:100], 0.25, seed=2)
    wide_train, wide_heldout = split_train_heldout(
        trajectories[:100], 0.25, seed=2, extra_heldout=trajectories[100:]
    )
    assert [t.id for t in wide_train] == [t.id for t in train]
    assert [t.id for t in wide_heldout[: len(heldout)]] == [t.id for t in heldout]
    assert len(wide_heldout) > 2 * len(heldout)
    held = {template_of(t) for t in heldout}
    assert {template_of(t) for t in wide_heldout} == held  # no new phrasing joins the test
    assert not {template_of(t) for t in train} & held
    assert not any(erroneous_steps(t) for t in wide_heldout)


def test_samples_mask_erroneous_turns_but_keep_them_as_context(
    examples: list[SyntheticExample],
) -> None:
    example = next(e for e in examples if e.kind == "chain" and len(e.injected) == 1)
    trajectory, (bad,) = example.trajectory, example.injected
    plain = split_into_samples(trajectory, mask_erroneous=False)
    masked = split_into_samples(trajectory, mask_erroneous=True)
    assert [s.step for s in plain if s.erroneous] == [bad]
    assert bad not in [s.step for s in masked] and len(masked) == len(plain) - 1
    later = [s for s in masked if s.step > bad]
    assert later and all(s.context[bad] == trajectory.messages[bad] for s in later)
    for sample in plain:
        assert sample.context == trajectory.messages[: sample.step]
        assert sample.target == trajectory.messages[sample.step]


def test_gold_call_samples_and_statistics(examples: list[SyntheticExample]) -> None:
    trajectories = [e.trajectory for e in examples]
    golds = gold_call_samples(trajectories)
    clean = [e for e in examples if not e.injected]
    assert len(golds) == len(clean)
    assert all(g.step == 2 and isinstance(g.context[-1], UserMessage) for g in golds)
    stats = describe(trajectories)
    assert stats["trajectories"] == 400
    assert stats["erroneous_steps"] == sum(len(e.injected) for e in examples)
    assert stats["mae_samples"] == stats["samples"] - stats["erroneous_steps"]
    assert stats["no_tool"] == sum(e.kind in {"no_tool", "withheld"} for e in examples)
    assert stats["parallel_turns"] >= sum(e.kind == "parallel" for e in examples)
    assert set(stats["error_kinds"]) <= {k.value for k in ToolErrorKind}


async def test_recorded_runner_thread_becomes_a_trajectory(tmp_path: Path) -> None:
    weather = catalogue_tool("get_weather_current")
    model = ScriptedModel(
        [
            call("get_weather_curent", "c1", city="Paris"),
            call("get_weather_current", "c2", city="Paris"),
            "Final Answer: light rain, 8 degrees.",
        ]
    )
    agent = Agent(name="forecaster", model=model, tools=[weather])
    runner = Runner(agent)
    result = await runner.run("t-1", "Weather in Paris?")
    assert result.final_answer == "light rain, 8 degrees."

    trajectory = await trajectory_from_runner(runner, "t-1")
    assert trajectory.source == "recorded" and trajectory.id == "run-t-1"
    assert [t.name for t in trajectory.tools] == ["get_weather_current"]
    assert [m.role for m in trajectory.messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    assert trajectory.messages[0].content == agent.instructions
    assert erroneous_steps(trajectory) == {2}
    feedback = trajectory.messages[3]
    assert isinstance(feedback, ToolMessage) and feedback.error_kind == "unknown_tool"
    assert '"city":"Paris"' in trajectory.messages[5].content

    state = await runner.state("t-1")
    from_dicts = trajectory_from_messages(
        state["messages"], agent.registry(), trajectory_id="run-t-1", system=agent.instructions
    )
    assert from_dicts == trajectory

    path = tmp_path / "runs.jsonl"
    assert await export_threads(runner, ["t-1"], path) == 1
    assert list(read_trajectories(path)) == [trajectory]
    with pytest.raises(ValueError, match="no checkpointed messages"):
        await trajectory_from_runner(runner, "never-ran")
    with pytest.raises(TypeError, match="ToolRegistry or ToolSpecs"):
        trajectory_from_messages(
            state["messages"],
            [weather],  # type: ignore[list-item]
            trajectory_id="x",
        )


def test_every_phrasing_states_the_arguments_its_gold_call_needs() -> None:
    for task in TASKS:
        for phrasing in task.phrasings:
            fields = set(re.findall(r"{(\w+)}", phrasing.text))
            if task.kind == "no_tool":
                assert not fields and phrasing.answer
                continue
            assert fields <= set(task.slots(Random(0)))
            first = task.steps[0]
            if first.arguments is None:
                required = catalogue_tool(first.tool).spec.parameters["required"]
                assert set(required) <= fields, (task.key, phrasing.text)


def test_samples_render_in_the_local_inference_format(examples: list[SyntheticExample]) -> None:
    example = next(e for e in examples if e.kind == "single" and e.injected)
    (bad,) = example.injected
    last = split_into_samples(example.trajectory, mask_erroneous=True)[-1]
    turns = to_template_messages(last.context, last.tools, ChatOptions())
    assert turns[0].role == "system" and all(t.name in turns[0].content for t in last.tools)
    failed = next(t.content for t in turns if '"is_error": true' in t.content)
    assert failed.startswith("<tool_response>") and "Error (" in failed
    wrong = example.trajectory.messages[bad]
    assert isinstance(wrong, AssistantMessage)
    assert any(
        render_tool_call(wrong.tool_calls[0]) in t.content for t in turns if t.role == "assistant"
    )
