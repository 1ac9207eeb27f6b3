"""TL-Training on SmolLM2-135M: base vs plain SFT vs MAE+PKT vs MAE+PKT+PPO, on equal data.

Every variant trains on the same synthetic split and is scored on the same held-out
queries (phrasings never seen in training) with TS / PI / CF and the mean reward.

    python benchmarks/tool_learning.py                          # CPU budget (~35 min, 2 cores)
    python benchmarks/tool_learning.py --config training/configs/smollm2_gpu.toml
    python benchmarks/tool_learning.py --train-samples 32 --heldout 12 --ppo-steps 4  # quicker

The budget options override the config's sizes; left out, the config decides.
Results go to ``benchmarks/results/tool_learning.json``; curves and predictions to the
run's output folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from common import print_table, write_results

from hanlin.training.config import TrainingConfig, load_config
from hanlin.training.curves import plot_curves
from hanlin.training.evaluate import evaluate_model
from hanlin.training.model_io import load_for_training
from hanlin.training.pipeline import (
    heldout_samples,
    load_split,
    rl_prompts,
    sft_samples,
    use_threads,
)
from hanlin.training.ppo import run_ppo
from hanlin.training.sft import run_sft
from hanlin.training.significance import METRICS, compare_paired, metric_hits, wilson_interval

ROOT = Path(__file__).resolve().parents[1]


def hardware() -> dict[str, Any]:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        names = [line.split(":", 1)[1].strip() for line in
                 Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "gpu": gpu}


def budgeted(config: TrainingConfig, args: argparse.Namespace) -> TrainingConfig:
    def given(**values: Any) -> dict[str, Any]:
        return {key: value for key, value in values.items() if value is not None}

    data = config.data.model_copy(update=given(
        synthetic_count=args.trajectories, heldout_count=args.heldout_count,
        max_train_samples=args.train_samples,
        max_heldout_samples=args.heldout))
    sft = config.sft.model_copy(update=given(epochs=args.epochs, max_steps=args.max_steps,
                                             max_length=args.max_length))
    ppo = config.ppo.model_copy(update=given(steps=args.ppo_steps))
    return config.model_copy(update={"data": data, "sft": sft, "ppo": ppo})


SFT_STAGES = (("sft", "plain"), ("mae_pkt", "mae_pkt"))
ABLATION_STAGES = (("mae", "mae"), ("pkt", "pkt"))


def evaluate(name: str, model: Any, tokenizer: Any, config: TrainingConfig,
             samples: list[Any]) -> tuple[dict[str, Any], list[dict[str, bool]]]:
    """Scores with a 95 % Wilson interval per metric, and each turn's hits for pairing."""
    result = evaluate_model(model, tokenizer, samples, max_new_tokens=config.eval.max_new_tokens,
                            batch_size=config.eval.batch_size,
                            predictions_path=config.output_dir / "eval" / f"{name}.jsonl")
    hits = [metric_hits(record.category) for record in result.records]
    intervals = {f"{metric}_ci95": [round(bound, 3) for bound in wilson_interval(
        sum(hit[metric] for hit in hits), len(hits))] for metric in METRICS}
    return ({**result.scores.model_dump(), **intervals, "eval_wall_s": round(result.wall_s, 1),
             "seconds_per_eval_sample": round(result.seconds_per_sample, 2)}, hits)


def logged(log_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]


def sft_stage(config: TrainingConfig, split: Any, variant: str, reuse: bool,
              sizes: dict[str, Any], name: str) -> tuple[Any, Any, dict[str, Any]]:
    """Train ``variant`` from the base, or with ``reuse`` load what an earlier run saved."""
    run = config.model_copy(update={"sft": config.sft.model_copy(update={"variant": variant})})
    samples = sft_samples(split, config.data, variant)
    sizes[f"{name}_train_samples"] = len(samples)
    folder = config.output_dir / f"sft_{variant}"
    if reuse and (folder / "model").is_dir():
        model, tokenizer = load_for_training(folder / "model")
        log = logged(folder / "sft_log.jsonl")
        return model, tokenizer, {"train_wall_s": log[-1]["elapsed_s"], "steps": log[-1]["step"],
                                  "seconds_per_sft_step": round(log[-1]["elapsed_s"] / len(log), 2),
                                  "final_loss": log[-1]["loss"], "reused": True}
    model, tokenizer = load_for_training(config.model.base)
    trained = run_sft(run, samples, model=model, tokenizer=tokenizer)
    plot_curves(trained.log_path, trained.log_path.with_suffix(".png"), keys=["loss"])
    return model, tokenizer, {"train_wall_s": round(trained.wall_s, 1), "steps": trained.steps,
                              "seconds_per_sft_step": round(trained.seconds_per_step, 2),
                              "final_loss": trained.losses[-1]}


def ppo_stage(config: TrainingConfig, split: Any, model: Any, tokenizer: Any, reuse: bool,
              sizes: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    """PPO from the MAE+PKT model, or with ``reuse`` the policy an earlier run saved."""
    prompts = rl_prompts(split, config.data)
    sizes["ppo_prompts"] = len(prompts)
    folder = config.output_dir / "ppo"
    if reuse and (folder / "model").is_dir():
        model, tokenizer = load_for_training(folder / "model")
        log = logged(folder / "ppo_log.jsonl")
        return model, tokenizer, {"train_wall_s": log[-1]["elapsed_s"], "steps": len(log),
                                  "seconds_per_ppo_step": round(log[-1]["elapsed_s"] / len(log), 2),
                                  "final_kl": log[-1]["kl"], "reused": True}
    ppo = run_ppo(config, prompts, model=model, tokenizer=tokenizer)
    plot_curves(ppo.log_path, ppo.log_path.with_suffix(".png"))
    return model, tokenizer, {"train_wall_s": round(ppo.wall_s, 1), "steps": len(ppo.history),
                              "seconds_per_ppo_step": round(ppo.wall_s / len(ppo.history), 2),
                              "final_kl": ppo.history[-1]["kl"]}


def paired_against(baseline: list[dict[str, bool]], hits: list[dict[str, bool]]
                   ) -> dict[str, Any]:
    return {metric: compare_paired([h[metric] for h in hits],
                                   [h[metric] for h in baseline]).model_dump()
            for metric in METRICS}


def save(output: str, results: dict[str, dict[str, Any]], hits: dict[str, list[dict[str, bool]]],
         sizes: dict[str, Any], config: TrainingConfig, started: float) -> Path:
    """Written after every stage, so a long run that stops early keeps what it measured."""
    for name, result in results.items():
        if name != "sft" and "sft" in hits:
            result["paired_vs_sft"] = paired_against(hits["sft"], hits[name])
    return write_results(output, {
        "results": results, "data": sizes, "hardware": hardware(),
        "total_wall_s": round(time.perf_counter() - started, 1),
        "config": config.model_dump(mode="json"),
        "note": "synthetic tool-use queries; held-out phrasings never seen in training; "
                "ci95: Wilson intervals; paired_vs_sft: McNemar's exact test on the same turns"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "training/configs/smollm2_cpu.toml")
    parser.add_argument("--trajectories", type=int, help="Synthetic trajectories.")
    parser.add_argument("--heldout-count", type=int,
                        help="Synthetic trajectories drawn for the held-out side only.")
    parser.add_argument("--train-samples", type=int, help="SFT samples (cap).")
    parser.add_argument("--epochs", type=float, help="SFT epochs.")
    parser.add_argument("--max-steps", type=int, help="SFT optimiser steps (cap).")
    parser.add_argument("--max-length", type=int, help="SFT tokens per sample.")
    parser.add_argument("--ppo-steps", type=int, help="PPO steps.")
    parser.add_argument("--heldout", type=int, help="Held-out samples (cap).")
    parser.add_argument("--ablation", action="store_true",
                        help="Also train MAE alone and PKT alone.")
    parser.add_argument("--reuse", action="store_true",
                        help="Evaluate models an earlier run of this config saved, not retrain.")
    parser.add_argument("--output", default="tool_learning", help="Results name.")
    args = parser.parse_args()
    config = budgeted(load_config(args.config), args)
    use_threads(config)
    split = load_split(config.data)
    heldout = heldout_samples(split, config.data)
    results: dict[str, dict[str, Any]] = {}
    hits: dict[str, list[dict[str, bool]]] = {}
    sizes: dict[str, Any] = {"train_trajectories": len(split.train),
                             "heldout_trajectories": len(split.heldout),
                             "heldout_samples": len(heldout)}

    started = time.perf_counter()
    model, tokenizer = load_for_training(config.model.base)
    results["base"], hits["base"] = evaluate("base", model, tokenizer, config, heldout)
    stages = SFT_STAGES + (ABLATION_STAGES if args.ablation else ())
    for name, variant in stages:
        model, tokenizer, stats = sft_stage(config, split, variant, args.reuse, sizes, name)
        scores, hits[name] = evaluate(name, model, tokenizer, config, heldout)
        results[name] = {**scores, **stats}
        save(args.output, results, hits, sizes, config, started)
        if name == "mae_pkt":
            model, tokenizer, stats = ppo_stage(config, split, model, tokenizer, args.reuse, sizes)
            scores, hits["mae_pkt_ppo"] = evaluate("mae_pkt_ppo", model, tokenizer, config,
                                                   heldout)
            results["mae_pkt_ppo"] = {**scores, **stats}
            save(args.output, results, hits, sizes, config, started)
    print_table(["variant", "TS", "TS 95% CI", "PI", "CF", "mean reward", "TS p vs sft"],
                [[k, v["tool_selection"], v["tool_selection_ci95"],
                  v["parameter_identification"], v["content_filling"], v["mean_reward"],
                  v.get("paired_vs_sft", {}).get("tool_selection", {}).get("p_value", "-")]
                 for k, v in results.items()])
    print(f"results: {save(args.output, results, hits, sizes, config, started)}")


if __name__ == "__main__":
    main()
