"""``hanlin train``: write the data, fine-tune (SFT, PPO, GRPO) and evaluate, from a TOML config.

    hanlin train data --config training/configs/smollm2_cpu.toml
    hanlin train sft  --config training/configs/smollm2_cpu.toml [--variant plain]
    hanlin train ppo  --config training/configs/smollm2_cpu.toml [--model runs/.../model]
    hanlin train eval --config training/configs/smollm2_cpu.toml --model runs/.../model
    hanlin train eval --config training/configs/smollm2_cpu.toml --served   # as agents run it

Every stage rebuilds the same train / held-out split from the config's ``[data]``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

train_app = typer.Typer(
    help="Tool-learning training: SFT (MAE, PKT), PPO, GRPO, evaluation.",
    no_args_is_help=True,
    add_completion=False,
)

CONFIG = typer.Option(..., "--config", "-c", help="TOML run config (see training/configs/).")
MODEL = typer.Option(None, "--model", "-m", help="Model to start from: an HF folder or .gguf.")
EVAL_MODEL = typer.Option(None, "--model", "-m", help="Model to score: an HF folder or .gguf.")
SERVED = typer.Option(
    False,
    "--served",
    help="Score the model agents use (hanlin's model "
    "settings, HANLIN_MODEL__*) through its chat backend: the embedded "
    "llama.cpp model, vLLM or another OpenAI-compatible server.",
)
EVAL_OUTPUT = typer.Option(None, help="Folder for predictions and scores.")


def _fail(message: str) -> None:
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(2)


def _prepared(config_path: Path) -> tuple[Any, Any]:
    from hanlin.llm.model_files import ModelFileError
    from hanlin.training.config import ConfigError, load_config
    from hanlin.training.data.pipeline import load_split, use_threads

    try:
        config = load_config(config_path)
        use_threads(config)
        return config, load_split(config.data)
    except (ConfigError, FileNotFoundError, ModelFileError, ValueError) as exc:
        _fail(str(exc))
        raise  # unreachable: _fail exits


def _loaded(spec: str) -> tuple[Any, Any]:
    from hanlin.llm.model_files import ModelFileError
    from hanlin.training.model_io import ModelLoadError, load_for_training

    try:
        return load_for_training(spec)
    except (ModelFileError, ModelLoadError) as exc:
        _fail(str(exc))
        raise


def _guarded(stage: Callable[[], Any]) -> Any:
    try:
        return stage()
    except ValueError as exc:
        _fail(str(exc))


@train_app.command(help="Write the train / held-out trajectories (JSON lines) and their counts.")
def data(config_path: Path = CONFIG) -> None:
    from hanlin.training.data.pipeline import write_split
    from hanlin.training.data.samples import describe

    config, split = _prepared(config_path)
    train, heldout = write_split(split, config.output_dir / "data")
    typer.echo(f"train: {train} ({len(split.train)} trajectories)")
    typer.echo(f"held-out: {heldout} ({len(split.heldout)} trajectories)")
    typer.echo(
        json.dumps({"train": describe(split.train), "heldout": describe(split.heldout)}, indent=2)
    )


@train_app.command(help="Supervised fine-tuning (variant plain, mae, pkt or mae_pkt).")
def sft(
    config_path: Path = CONFIG,
    model: str | None = MODEL,
    variant: str | None = typer.Option(None, help="Override [sft] variant."),
) -> None:
    from hanlin.training.config import ConfigError, config_from_dict
    from hanlin.training.curves import plot_curves
    from hanlin.training.data.pipeline import sft_samples
    from hanlin.training.sft import run_sft

    config, split = _prepared(config_path)
    if variant is not None:
        try:
            config = config_from_dict(
                {
                    **config.model_dump(mode="json"),
                    "sft": {**config.sft.model_dump(), "variant": variant},
                },
                origin="--variant",
            )
        except ConfigError as exc:
            _fail(str(exc))
    policy, tokenizer = _loaded(model or config.model.base)
    samples = sft_samples(split, config.data, config.sft.variant)
    result = _guarded(lambda: run_sft(config, samples, model=policy, tokenizer=tokenizer))
    plot_curves(result.log_path, result.log_path.with_suffix(".png"), keys=["loss"])
    typer.echo(
        f"sft {config.sft.variant}: {result.steps} steps on {result.examples} samples "
        f"({result.skipped} too long), final loss {result.losses[-1]:.4f}, "
        f"{result.seconds_per_step:.2f} s/step; model: {result.model_path}"
    )


def _rl(config_path: Path, model: str | None, stage: str) -> None:
    from hanlin.training.curves import plot_curves
    from hanlin.training.data.pipeline import rl_prompts
    from hanlin.training.rl.grpo import run_grpo
    from hanlin.training.rl.ppo import run_ppo
    from hanlin.training.sft import sft_folder

    config, split = _prepared(config_path)
    start = model or str(sft_folder(config) / "model")
    if model is None and not Path(start).is_dir():
        _fail(f"no SFT model at {start}: run `hanlin train sft` first or pass --model")
    policy, tokenizer = _loaded(start)
    runner = run_ppo if stage == "ppo" else run_grpo
    result = _guarded(
        lambda: runner(config, rl_prompts(split, config.data), model=policy, tokenizer=tokenizer)
    )
    plot_curves(result.log_path, result.log_path.with_suffix(".png"))
    last = result.history[-1]
    typer.echo(
        f"{stage}: {len(result.history)} steps, last reward {last['reward']:.3f}, "
        f"KL {last['kl']:.4f}; model: {result.model_path}"
    )


@train_app.command(help="PPO with a KL penalty to the SFT model, on the tool-use reward.")
def ppo(config_path: Path = CONFIG, model: str | None = MODEL) -> None:
    _rl(config_path, model, "ppo")


@train_app.command(help="GRPO (group-relative, no critic) on the tool-use reward.")
def grpo(config_path: Path = CONFIG, model: str | None = MODEL) -> None:
    _rl(config_path, model, "grpo")


@train_app.command("eval", help="Score a model's next turn on the held-out queries (TS/PI/CF).")
def evaluate(
    config_path: Path = CONFIG,
    model: str | None = EVAL_MODEL,
    served: bool = SERVED,
    output: Path | None = EVAL_OUTPUT,
) -> None:
    from hanlin.training.data.pipeline import heldout_samples
    from hanlin.training.evaluation.evaluate import write_scores

    if served == (model is not None):
        _fail(
            "give either --model (a folder or .gguf, loaded with transformers) or --served "
            "(the chat backend hanlin's model settings name)"
        )
    config, split = _prepared(config_path)
    samples = heldout_samples(split, config.data)
    if served:
        folder = output or config.output_dir / "eval" / "served"
        result, label = _served_eval(config, samples, folder)
    else:
        from hanlin.training.evaluation.evaluate import evaluate_model

        assert model is not None
        policy, tokenizer = _loaded(model)
        label, folder = model, output or config.output_dir / "eval" / Path(model).name
        result = _guarded(
            lambda: evaluate_model(
                policy,
                tokenizer,
                samples,
                max_new_tokens=config.eval.max_new_tokens,
                batch_size=config.eval.batch_size,
                predictions_path=folder / "predictions.jsonl",
            )
        )
    write_scores(folder / "scores.json", result, model=label)
    s = result.scores
    noun = "sample" if s.count == 1 else "samples"
    typer.echo(
        f"{s.count} held-out {noun}: TS {s.tool_selection:.3f}  "
        f"PI {s.parameter_identification:.3f}  CF {s.content_filling:.3f}  "
        f"mean reward {s.mean_reward:.3f}  ({result.seconds_per_sample:.2f} s/sample)"
    )
    typer.echo(f"predictions: {folder / 'predictions.jsonl'}")


def _served_eval(config: Any, samples: list[Any], folder: Path) -> tuple[Any, str]:
    import asyncio

    from hanlin.llm.chat_model import ChatOptions, ModelError
    from hanlin.llm.model_files import ModelFileError
    from hanlin.runtime.models import model_from_settings
    from hanlin.runtime.settings import load_settings
    from hanlin.training.evaluation.chat_eval import evaluate_chat_model

    settings = load_settings().model
    label = (
        f"{settings.base_url} {settings.name}"
        if settings.provider == "openai"
        else settings.path or "default local model"
    )
    try:
        chat_model = model_from_settings(settings)
        result = asyncio.run(
            evaluate_chat_model(
                chat_model,
                samples,
                concurrency=config.eval.batch_size,
                options=ChatOptions(max_tokens=config.eval.max_new_tokens, temperature=0.0),
                predictions_path=folder / "predictions.jsonl",
            )
        )
    except (ModelError, ModelFileError) as exc:
        _fail(f"the served model failed: {exc}")
        raise
    return result, label
