"""TL-Training on SmolLM2-135M: base vs plain SFT vs MAE+PKT vs MAE+PKT+PPO, on equal data.

Every variant trains on the same synthetic split and is scored on the same held-out
queries (phrasings never seen in training) with TS / PI / CF and the mean reward.

    python benchmarks/tool_learning.py                          # CPU budget (~35 min, 2 cores)
    python benchmarks/tool_learning.py --config training/configs/smollm2_gpu.toml
    python benchmarks/tool_learning.py --train-samples 32 --heldout 12 --ppo-steps 4  # quicker
    python benchmarks/tool_learning.py --config ... --reuse --stages mae_pkt_name  # add one
    python benchmarks/tool_learning.py --config ... --seed 1 --stages sft,mae_pkt  # a repeat
    python benchmarks/tool_learning.py --config ... --stages base,sft,mae_pkt \
        --bfcl simple,irrelevance --bfcl-limit 30                 # BFCL too (auto policy)
    python benchmarks/tool_learning.py --config ... --reuse --no-heldout --bfcl simple  # BFCL only

Stages beyond the four compared: ``mae`` and ``pkt`` (each part alone, ``--ablation``) and
``mae_pkt_name`` (PKT with every token of the tool name as a key token). The budget options
override the config's sizes; left out, the config decides. ``--seed`` repeats a run with
another training seed (the order samples are seen in) on the same data and held-out turns; its
models go to ``<output_dir>/seed<N>`` and its results to ``tool_learning_seed<N>.json``.
Results go to ``benchmarks/results/tool_learning.json``; curves and predictions to the
run's output folder.

``--bfcl`` scores every stage's model on BFCL categories as well (``bfcl.evaluate`` through
the transformers backend, one item at a time; with ``--bfcl-batch N`` the in-memory model in
batches of N, which is how the GPU run fits its time). BFCL is for evaluation only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import RESULTS as RESULTS_DIR
from common import print_table, write_results

from hanlin.training.config import TrainingConfig, load_config
from hanlin.training.curves import plot_curves
from hanlin.training.data.pipeline import (
    heldout_samples,
    load_split,
    rl_prompts,
    sft_samples,
    use_threads,
)
from hanlin.training.evaluation.evaluate import evaluate_model
from hanlin.training.evaluation.significance import compare_paired, wilson_interval
from hanlin.training.evaluation.tool_metrics import METRICS, metric_hits
from hanlin.training.model_io import load_for_training
from hanlin.training.rl.ppo import run_ppo
from hanlin.training.sft import run_sft, sft_folder

ROOT = Path(__file__).resolve().parents[1]


def hardware() -> dict[str, Any]:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        names = [
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
    }


def budgeted(config: TrainingConfig, args: argparse.Namespace) -> TrainingConfig:
    def given(**values: Any) -> dict[str, Any]:
        return {key: value for key, value in values.items() if value is not None}

    data = config.data.model_copy(
        update=given(
            synthetic_count=args.trajectories,
            heldout_count=args.heldout_count,
            max_train_samples=args.train_samples,
            max_heldout_samples=args.heldout,
        )
    )
    sft = config.sft.model_copy(
        update=given(epochs=args.epochs, max_steps=args.max_steps, max_length=args.max_length)
    )
    ppo = config.ppo.model_copy(update=given(steps=args.ppo_steps))
    update: dict[str, Any] = {"data": data, "sft": sft, "ppo": ppo}
    if args.seed is not None and args.seed != config.seed:
        update.update(seed=args.seed, output_dir=config.output_dir / f"seed{args.seed}")
    return config.model_copy(update=update)


SFT_STAGES: dict[str, tuple[str, str]] = {  # stage -> (SFT variant, PKT key scope)
    "sft": ("plain", "divergence"),
    "mae_pkt": ("mae_pkt", "divergence"),
    "mae": ("mae", "divergence"),
    "pkt": ("pkt", "divergence"),
    "mae_pkt_name": ("mae_pkt", "name"),
}
STAGES = ("base", *SFT_STAGES, "mae_pkt_ppo")
MAIN_STAGES = ("base", "sft", "mae_pkt", "mae_pkt_ppo")
ABLATION_STAGES = ("mae", "pkt")


def predictions_path(config: TrainingConfig, name: str) -> Path:
    return config.output_dir / "eval" / f"{name}.jsonl"


def evaluate(
    name: str, model: Any, tokenizer: Any, config: TrainingConfig, samples: list[Any]
) -> tuple[dict[str, Any], list[dict[str, bool]]]:
    """Scores with a 95 % Wilson interval per metric, and each turn's hits for pairing."""
    result = evaluate_model(
        model,
        tokenizer,
        samples,
        max_new_tokens=config.eval.max_new_tokens,
        batch_size=config.eval.batch_size,
        predictions_path=predictions_path(config, name),
    )
    hits = [metric_hits(record.category) for record in result.records]
    return (
        {
            **result.scores.model_dump(),
            **intervals(hits),
            "eval_wall_s": round(result.wall_s, 1),
            "seconds_per_eval_sample": round(result.seconds_per_sample, 2),
        },
        hits,
    )


def intervals(hits: list[dict[str, bool]]) -> dict[str, list[float]]:
    return {
        f"{metric}_ci95": [
            round(bound, 3)
            for bound in wilson_interval(sum(hit[metric] for hit in hits), len(hits))
        ]
        for metric in METRICS
    }


def earlier_hits(
    config: TrainingConfig, name: str, samples: list[Any]
) -> list[dict[str, bool]] | None:
    """Per-turn hits of a stage an earlier run scored on these same held-out turns."""
    path = predictions_path(config, name)
    if not path.is_file():
        return None
    records = logged(path)
    if [r["trajectory_id"] for r in records] != [s.trajectory_id for s in samples]:
        return None
    return [metric_hits(r["category"]) for r in records]


def logged(log_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]


def stage_config(config: TrainingConfig, name: str) -> TrainingConfig:
    variant, scope = SFT_STAGES[name]
    return config.model_copy(
        update={"sft": config.sft.model_copy(update={"variant": variant, "pkt_keys": scope})}
    )


def sft_stage(
    config: TrainingConfig, split: Any, name: str, reuse: bool, sizes: dict[str, Any]
) -> tuple[Any, Any, dict[str, Any]]:
    """Train stage ``name`` from the base, or with ``reuse`` load what an earlier run saved."""
    variant, _ = SFT_STAGES[name]
    run = stage_config(config, name)
    samples = sft_samples(split, config.data, variant)  # type: ignore[arg-type]
    sizes[f"{name}_train_samples"] = len(samples)
    folder = sft_folder(run)
    if reuse and (folder / "model").is_dir():
        model, tokenizer = load_for_training(folder / "model")
        log = logged(folder / "sft_log.jsonl")
        return (
            model,
            tokenizer,
            {
                "train_wall_s": log[-1]["elapsed_s"],
                "steps": log[-1]["step"],
                "seconds_per_sft_step": round(log[-1]["elapsed_s"] / len(log), 2),
                "final_loss": log[-1]["loss"],
                "reused": True,
            },
        )
    model, tokenizer = load_for_training(config.model.base)
    trained = run_sft(run, samples, model=model, tokenizer=tokenizer)
    plot_curves(trained.log_path, trained.log_path.with_suffix(".png"), keys=["loss"])
    return (
        model,
        tokenizer,
        {
            "train_wall_s": round(trained.wall_s, 1),
            "steps": trained.steps,
            "seconds_per_sft_step": round(trained.seconds_per_step, 2),
            "final_loss": trained.losses[-1],
        },
    )


def ppo_stage(
    config: TrainingConfig,
    split: Any,
    start: tuple[Any, Any] | None,
    reuse: bool,
    sizes: dict[str, Any],
) -> tuple[Any, Any, dict[str, Any]]:
    """PPO from the MAE+PKT model (in memory, else saved), or with ``reuse`` the policy an
    earlier run saved."""
    prompts = rl_prompts(split, config.data)
    sizes["ppo_prompts"] = len(prompts)
    folder = config.output_dir / "ppo"
    if reuse and (folder / "model").is_dir():
        model, tokenizer = load_for_training(folder / "model")
        log = logged(folder / "ppo_log.jsonl")
        return (
            model,
            tokenizer,
            {
                "train_wall_s": log[-1]["elapsed_s"],
                "steps": len(log),
                "seconds_per_ppo_step": round(log[-1]["elapsed_s"] / len(log), 2),
                "final_kl": log[-1]["kl"],
                "reused": True,
            },
        )
    if start is None:
        saved = sft_folder(stage_config(config, "mae_pkt")) / "model"
        if not saved.is_dir():
            raise SystemExit(
                f"PPO starts from the MAE+PKT model; run the mae_pkt stage first "
                f"({saved} does not exist)"
            )
        start = load_for_training(saved)
    model, tokenizer = start
    ppo = run_ppo(config, prompts, model=model, tokenizer=tokenizer)
    plot_curves(ppo.log_path, ppo.log_path.with_suffix(".png"))
    return (
        model,
        tokenizer,
        {
            "train_wall_s": round(ppo.wall_s, 1),
            "steps": len(ppo.history),
            "seconds_per_ppo_step": round(ppo.wall_s / len(ppo.history), 2),
            "final_kl": ppo.history[-1]["kl"],
        },
    )


def on_device(model: Any) -> Any:
    """The base model on the GPU when there is one (trained models are there already)."""
    import torch

    return model.to("cuda") if torch.cuda.is_available() else model


def bfcl_stage(
    name: str, model: Any, tokenizer: Any, config: TrainingConfig, args: argparse.Namespace
) -> dict[str, Any]:
    """BFCL report of stage ``name``: batched on the model in memory, or through the
    transformers backend on what the stage saved (the base: its GGUF or folder)."""
    from tool_learning_bfcl import bfcl_batched, bfcl_through_backend

    categories = [c.strip() for c in args.bfcl.split(",") if c.strip()]
    if args.bfcl_batch:
        if args.bfcl_policy != "auto":
            raise SystemExit("--bfcl-batch scores the auto policy only")
        return bfcl_batched(
            model,
            tokenizer,
            categories=categories,
            limit=args.bfcl_limit,
            batch_size=args.bfcl_batch,
        )
    if name == "base":
        path: Path | str = config.model.base
    elif name == "mae_pkt_ppo":
        path = config.output_dir / "ppo" / "model"
    else:
        path = sft_folder(stage_config(config, name)) / "model"
    return bfcl_through_backend(
        path, categories=categories, limit=args.bfcl_limit, policy=args.bfcl_policy
    )


def paired_against(baseline: list[dict[str, bool]], hits: list[dict[str, bool]]) -> dict[str, Any]:
    return {
        metric: compare_paired(
            [h[metric] for h in hits], [h[metric] for h in baseline]
        ).model_dump()
        for metric in METRICS
    }


def save(
    output: str,
    results: dict[str, dict[str, Any]],
    hits: dict[str, list[dict[str, bool]]],
    sizes: dict[str, Any],
    config: TrainingConfig,
    started: float,
) -> Path:
    """Written after every stage, so a long run that stops early keeps what it measured."""
    for name, result in results.items():
        if name != "sft" and "sft" in hits and name in hits:
            result["paired_vs_sft"] = paired_against(hits["sft"], hits[name])
    ordered = {name: results[name] for name in STAGES if name in results}
    return write_results(
        output,
        {
            "results": ordered,
            "data": sizes,
            "hardware": hardware(),
            "total_wall_s": round(time.perf_counter() - started, 1),
            "config": config.model_dump(mode="json"),
            "note": "synthetic tool-use queries; held-out phrasings never seen in training; "
            "ci95: Wilson intervals; paired_vs_sft: McNemar's exact test on the same turns",
        },
    )


def kept_results(
    output: str, config: TrainingConfig, samples: list[Any], rerun: Sequence[str]
) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, bool]]], dict[str, Any], float]:
    """Results of stages not run now, from the results file, where their predictions show
    they were scored on these same held-out turns; with that run's data sizes and time."""
    path = RESULTS_DIR / f"{output}.json"
    if not path.is_file():
        return {}, {}, {}, 0.0
    earlier_run = json.loads(path.read_text())
    results, hits = {}, {}
    for name, result in earlier_run.get("results", {}).items():
        earlier = earlier_hits(config, name, samples)
        if name not in rerun and earlier is not None and result.get("count") == len(samples):
            results[name], hits[name] = result, earlier
    if not results:
        return {}, {}, {}, 0.0
    return results, hits, earlier_run.get("data", {}), float(earlier_run.get("total_wall_s", 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "training/configs/smollm2_cpu.toml")
    parser.add_argument("--trajectories", type=int, help="Synthetic trajectories.")
    parser.add_argument(
        "--heldout-count", type=int, help="Synthetic trajectories drawn for the held-out side only."
    )
    parser.add_argument("--train-samples", type=int, help="SFT samples (cap).")
    parser.add_argument("--epochs", type=float, help="SFT epochs.")
    parser.add_argument("--max-steps", type=int, help="SFT optimiser steps (cap).")
    parser.add_argument("--max-length", type=int, help="SFT tokens per sample.")
    parser.add_argument("--ppo-steps", type=int, help="PPO steps.")
    parser.add_argument("--heldout", type=int, help="Held-out samples (cap).")
    parser.add_argument(
        "--stages",
        type=lambda text: text.split(","),
        help=f"Comma-separated stages among {', '.join(STAGES)} "
        f"(default: {','.join(MAIN_STAGES)}).",
    )
    parser.add_argument(
        "--ablation", action="store_true", help="Also train MAE alone and PKT alone."
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Load models an earlier run of this config saved instead of "
        "retraining, and keep its results for stages not run now.",
    )
    parser.add_argument(
        "--seed", type=int, help="Training seed (the data and held-out turns stay the config's)."
    )
    parser.add_argument(
        "--output",
        help="Results name (default: tool_learning, or tool_learning_seed<N> with another --seed).",
    )
    parser.add_argument(
        "--bfcl", help="Also score each stage on these BFCL categories, e.g. simple,irrelevance."
    )
    parser.add_argument("--bfcl-limit", type=int, default=30, help="First N items per category.")
    parser.add_argument("--bfcl-policy", default="auto", help="A bfcl.py policy (default auto).")
    parser.add_argument(
        "--bfcl-batch",
        type=int,
        default=0,
        help="Score BFCL on the in-memory model in batches of N (0: through the backend).",
    )
    parser.add_argument(
        "--no-heldout", action="store_true", help="Skip the held-out synthetic evaluation."
    )
    parser.add_argument(
        "--base-model", help="The base model (GGUF or folder) instead of the config's."
    )
    args = parser.parse_args()
    stages = list(args.stages or MAIN_STAGES) + (list(ABLATION_STAGES) if args.ablation else [])
    unknown = sorted(set(stages) - set(STAGES))
    if unknown:
        parser.error(f"unknown stages {unknown}; choose among {', '.join(STAGES)}")
    configured = load_config(args.config)
    if args.base_model:
        configured = configured.model_copy(
            update={"model": configured.model.model_copy(update={"base": args.base_model})}
        )
    config = budgeted(configured, args)
    if args.output is None:
        repeat = config.seed != configured.seed
        args.output = f"tool_learning_seed{config.seed}" if repeat else "tool_learning"
    use_threads(config)
    split = load_split(config.data)
    heldout = heldout_samples(split, config.data)
    results, hits, sizes, earlier_wall = (
        kept_results(args.output, config, heldout, [] if args.no_heldout else stages)
        if args.reuse
        else ({}, {}, {}, 0.0)
    )
    sizes.update(
        {
            "train_trajectories": len(split.train),
            "heldout_trajectories": len(split.heldout),
            "heldout_samples": len(heldout),
        }
    )

    started = time.perf_counter() - earlier_wall  # total_wall_s covers every merged run
    mae_pkt: tuple[Any, Any] | None = None
    for name in (stage for stage in STAGES if stage in stages):
        if name == "base":
            model, tokenizer = load_for_training(config.model.base)
            model = on_device(model)
            stats: dict[str, Any] = {}
        elif name == "mae_pkt_ppo":
            model, tokenizer, stats = ppo_stage(config, split, mae_pkt, args.reuse, sizes)
        else:
            model, tokenizer, stats = sft_stage(config, split, name, args.reuse, sizes)
            if name == "mae_pkt":
                mae_pkt = (model, tokenizer)
        if args.no_heldout:
            results[name] = {**results.get(name, {}), **stats}
        else:
            scores, hits[name] = evaluate(name, model, tokenizer, config, heldout)
            results[name] = {**scores, **stats}
        if args.bfcl:
            results[name]["bfcl"] = bfcl_stage(name, model, tokenizer, config, args)
        path = save(args.output, results, hits, sizes, config, started)
    print_table(
        ["variant", "TS", "TS 95% CI", "PI", "CF", "mean reward", "TS p vs sft", "BFCL"],
        [
            [
                k,
                v.get("tool_selection", "-"),
                v.get("tool_selection_ci95", "-"),
                v.get("parameter_identification", "-"),
                v.get("content_filling", "-"),
                v.get("mean_reward", "-"),
                v.get("paired_vs_sft", {}).get("tool_selection", {}).get("p_value", "-"),
                " ".join(
                    f"{c}={a['accuracy']:.2f}"
                    for c, a in v.get("bfcl", {}).get("categories", {}).items()
                )
                or "-",
            ]
            for k, v in results.items()
        ],
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
