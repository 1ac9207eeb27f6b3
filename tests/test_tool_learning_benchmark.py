"""The tool-learning benchmark's run options: a repeat under another seed never overwrites."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from hanlin.training.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def _benchmark() -> ModuleType:
    sys.path.insert(0, str(ROOT / "benchmarks"))  # the script imports its sibling ``common``
    try:
        spec = importlib.util.spec_from_file_location(
            "tool_learning_bench", ROOT / "benchmarks" / "tool_learning.py"
        )
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def _options(**given: object) -> argparse.Namespace:
    names = (
        "trajectories",
        "heldout_count",
        "train_samples",
        "heldout",
        "epochs",
        "max_steps",
        "max_length",
        "ppo_steps",
        "seed",
    )
    return argparse.Namespace(**{name: given.get(name) for name in names})


def test_another_seed_trains_into_its_own_folder_on_the_same_data() -> None:
    bench = _benchmark()
    config = load_config(ROOT / "training/configs/smollm2_cpu_long.toml")
    repeat = bench.budgeted(config, _options(seed=1))
    assert repeat.seed == 1
    assert repeat.output_dir == config.output_dir / "seed1"
    assert repeat.data == config.data  # same trajectories, same held-out turns
    assert bench.sft_folder(bench.stage_config(repeat, "sft")) != bench.sft_folder(
        bench.stage_config(config, "sft")
    )


def test_the_configured_seed_and_budget_overrides_keep_the_folder() -> None:
    bench = _benchmark()
    config = load_config(ROOT / "training/configs/smollm2_cpu_long.toml")
    same = bench.budgeted(config, _options(seed=config.seed, train_samples=8, epochs=0.5))
    assert same.output_dir == config.output_dir and same.seed == config.seed
    assert same.data.max_train_samples == 8 and same.sft.epochs == 0.5
