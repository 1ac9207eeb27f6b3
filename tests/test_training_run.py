"""SFT, saving, evaluation, curves and the ``hanlin train`` command on the real SmolLM2."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hanlin.cli.train_command import train_app
from hanlin.training.config import ConfigError, config_from_dict, load_config
from hanlin.training.data.pipeline import DataSplit, heldout_samples, load_split, sft_samples
from hanlin.training.data.samples import samples_of

HAS_TRAIN = all(
    importlib.util.find_spec(n) for n in ("torch", "transformers", "gguf", "accelerate")
)
pytestmark = pytest.mark.skipif(not HAS_TRAIN, reason="needs torch, transformers, gguf, accelerate")
TINY = Path(__file__).resolve().parents[1] / "training" / "configs" / "tiny.toml"


@pytest.fixture(scope="module")
def split() -> DataSplit:
    return load_split(load_config(TINY).data)


@pytest.fixture(scope="module")
def base() -> tuple[Any, Any]:
    from hanlin.training.model_io import load_for_training

    return load_for_training("default")


def test_config_errors_name_the_bad_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sft\.learning_rate: unknown key"):
        config_from_dict({"sft": {"learning_rate": 1e-5}})
    with pytest.raises(ConfigError, match=r"sft\.variant"):
        config_from_dict({"sft": {"variant": "lora"}})
    bad = tmp_path / "bad.toml"
    bad.write_text("[ppo]\nbeta = -1\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: ppo\.beta"):
        load_config(bad)
    with pytest.raises(ConfigError, match=r"heldout_count \(50\) must be at least"):
        config_from_dict({"data": {"synthetic_count": 100, "heldout_count": 50}})
    config = load_config(TINY)
    assert config.ppo.beta == 0.4 and config.sft.w_max == 9.0
    from hanlin.training.sft import sft_folder

    assert sft_folder(config) == config.output_dir / "sft_mae_pkt"
    named = config.model_copy(update={"sft": config.sft.model_copy(update={"pkt_keys": "name"})})
    assert sft_folder(named) == config.output_dir / "sft_mae_pkt_name"


def test_heldout_count_enlarges_only_the_heldout_side() -> None:
    data = load_config(TINY).data
    narrow = load_split(data)
    wide = load_split(data.model_copy(update={"heldout_count": 4 * data.synthetic_count}))
    assert [t.id for t in wide.train] == [t.id for t in narrow.train]
    assert len(wide.heldout) > len(narrow.heldout)
    assert [s.trajectory_id for s in sft_samples(wide, data, "mae_pkt")] == [
        s.trajectory_id for s in sft_samples(narrow, data, "mae_pkt")
    ]


def test_mae_has_fewer_targets_and_pkt_weights_key_tokens(
    split: DataSplit, base: tuple[Any, Any]
) -> None:
    from hanlin.training.sft import build_examples

    _, tokenizer = base
    plain = samples_of(split.train, mask_erroneous=False)
    masked = samples_of(split.train, mask_erroneous=True)
    assert len(masked) < len(plain)
    assert not any(s.erroneous for s in masked)
    calls = [s for s in masked if s.target.tool_calls][:3]
    weighted, _ = build_examples(calls, tokenizer, variant="pkt", max_length=2048)
    uniform, _ = build_examples(calls, tokenizer, variant="plain", max_length=2048)
    for example in weighted:
        trained = {
            w for w, label in zip(example.weights, example.labels, strict=False) if label != -100
        }
        assert 1.0 in trained and max(trained) > 1.0
    for example in uniform:
        assert {
            w for w, label in zip(example.weights, example.labels, strict=False) if label != -100
        } == {1.0}


@pytest.mark.local_model
def test_sft_loss_falls_and_the_saved_model_chats(
    split: DataSplit, base: tuple[Any, Any], tmp_path: Path
) -> None:
    import asyncio

    from hanlin.llm.chat_model import ChatOptions
    from hanlin.llm.messages import UserMessage
    from hanlin.llm.transformers_model import TransformersModel
    from hanlin.runtime.models import model_from_settings
    from hanlin.runtime.settings import ModelSettings
    from hanlin.training.curves import plot_curves
    from hanlin.training.sft import run_sft

    model, tokenizer = base
    config = load_config(TINY)
    config = config.model_copy(
        update={
            "sft": config.sft.model_copy(
                update={
                    "variant": "plain",
                    "max_steps": 6,
                    "epochs": 3,
                    "max_length": 384,
                    "lr": 1e-4,
                }
            )
        }
    )
    repeated = sft_samples(split, config.data, "plain")[:2]
    result = run_sft(
        config,
        repeated,
        model=model,
        tokenizer=tokenizer,
        output_dir=tmp_path / "sft",
        progress=False,
    )
    assert result.steps == 6 and len(result.losses) == 6
    assert sum(result.losses[-2:]) / 2 < sum(result.losses[:2]) / 2
    logged = [json.loads(line) for line in result.log_path.read_text().splitlines()]
    assert [r["step"] for r in logged] == list(range(1, 7))
    png = plot_curves(result.log_path, tmp_path / "loss.png")
    assert png.read_bytes()[:4] == b"\x89PNG"

    assert result.model_path is not None
    served = TransformersModel(str(result.model_path), n_threads=2)
    reply = asyncio.run(
        served.chat(
            [UserMessage(content="Say hello.")], options=ChatOptions(max_tokens=8, temperature=0.0)
        )
    )
    assert reply.message.content.strip()
    settings = ModelSettings(provider="local", path=str(result.model_path))
    assert isinstance(model_from_settings(settings), TransformersModel)


@pytest.mark.local_model
def test_eval_scores_three_heldout_samples(
    split: DataSplit, base: tuple[Any, Any], tmp_path: Path
) -> None:
    from hanlin.training.evaluation.evaluate import evaluate_model

    model, tokenizer = base
    samples = heldout_samples(split, load_config(TINY).data)
    assert len(samples) == 3
    result = evaluate_model(
        model,
        tokenizer,
        samples,
        max_new_tokens=24,
        batch_size=3,
        predictions_path=tmp_path / "pred.jsonl",
        progress=False,
    )
    scores = result.scores
    assert scores.count == 3
    for value in (scores.tool_selection, scores.parameter_identification, scores.content_filling):
        assert 0.0 <= value <= 1.0
    assert -2.0 <= scores.mean_reward <= 1.0
    lines = (tmp_path / "pred.jsonl").read_text().splitlines()
    assert [json.loads(line)["trajectory_id"] for line in lines] == [
        s.trajectory_id for s in samples
    ]


def test_cli_writes_data_and_rejects_bad_configs(tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text(
        TINY.read_text().replace('output_dir = "runs/tiny"', f'output_dir = "{tmp_path / "out"}"')
    )
    runner = CliRunner()
    result = runner.invoke(train_app, ["data", "--config", str(config)])
    assert result.exit_code == 0, result.output
    train = (tmp_path / "out" / "data" / "train.jsonl").read_text().splitlines()
    assert len(train) == len(load_split(load_config(config).data).train)
    bad = tmp_path / "bad.toml"
    bad.write_text("[sft]\nvariant = 'lora'\n")
    failed = runner.invoke(train_app, ["sft", "--config", str(bad)])
    assert failed.exit_code == 2 and "sft.variant" in failed.output
    missing = runner.invoke(train_app, ["ppo", "--config", str(config)])
    assert missing.exit_code == 2 and "run `hanlin train sft` first" in missing.output


@pytest.mark.local_model
async def test_a_recorded_run_trains_a_model_that_then_drives_the_agent(
    base: tuple[Any, Any], tmp_path: Path
) -> None:
    """The loop a user runs: record an agent's run, fine-tune on it, serve the result in the
    same agent. The call is learned by heart, so the check is the wiring (rendering, saving,
    loading, tool-call parsing and execution), not the model's generalisation."""
    from hanlin.agents.agent import Agent
    from hanlin.contract.events import ToolCallEvent, ToolResultEvent
    from hanlin.llm.chat_model import ChatOptions
    from hanlin.llm.scripted import ScriptedModel, call
    from hanlin.llm.transformers_model import TransformersModel
    from hanlin.runtime.runner import Runner
    from hanlin.training.data.recorded_runs import trajectory_from_runner
    from hanlin.training.data.samples import split_into_samples
    from hanlin.training.data.tool_catalogue import catalogue_tool
    from hanlin.training.sft import run_sft

    tools = [catalogue_tool("get_weather_current"), catalogue_tool("get_weather_forecast")]
    question = "Is it raining in Tokyo at the moment?"

    def agent(model: Any) -> Agent:
        return Agent(
            name="forecaster",
            model=model,
            tools=tools,
            max_steps=2,
            options=ChatOptions(max_tokens=48, temperature=0.0),
        )

    teacher = Runner(
        agent(
            ScriptedModel(
                [
                    call("get_weather_current", "c1", city="Tokyo"),
                    "Final Answer: it is raining in Tokyo.",
                ]
            )
        )
    )
    await teacher.run("lesson", question)
    samples = split_into_samples(
        await trajectory_from_runner(teacher, "lesson"), mask_erroneous=True
    )
    assert [bool(s.target.tool_calls) for s in samples] == [True, False]

    model, tokenizer = base
    config = load_config(TINY)
    config = config.model_copy(
        update={
            "sft": config.sft.model_copy(
                update={
                    "variant": "mae_pkt",
                    "max_steps": 8,
                    "epochs": 8,
                    "max_length": 512,
                    "lr": 2e-4,
                }
            )
        }
    )
    trained = run_sft(
        config,
        samples[:1],
        model=model,
        tokenizer=tokenizer,
        output_dir=tmp_path / "sft",
        progress=False,
    )
    assert trained.model_path is not None

    student = Runner(agent(TransformersModel(str(trained.model_path), n_threads=2)))
    result = await student.run("exam", question)
    calls = [e.call for e in result.events if isinstance(e, ToolCallEvent)]
    results = [e for e in result.events if isinstance(e, ToolResultEvent)]
    assert calls and calls[0].name == "get_weather_current"
    assert calls[0].arguments == {"city": "Tokyo"}
    assert results and not results[0].is_error and "Tokyo" in results[0].content
