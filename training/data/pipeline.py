"""From a run config to the data every stage uses: the same split for SFT, RL and evaluation.

Synthetic data is regenerated from its seed (the same trajectories every time) and split by
phrasing, so no held-out query was seen in training; file data is read as given. Each stage
takes its samples from here, so the comparison between variants is always on equal data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hanlin.training.config import MASKED_VARIANTS, DataConfig, TrainingConfig, Variant
from hanlin.training.data.samples import TrainingSample, gold_call_samples, samples_of
from hanlin.training.data.synthetic import generate_trajectories, split_train_heldout
from hanlin.training.data.trajectory import Trajectory, read_trajectories, write_trajectories


@dataclass
class DataSplit:
    train: list[Trajectory]
    heldout: list[Trajectory]


def load_split(data: DataConfig) -> DataSplit:
    if data.train_path is not None and data.heldout_path is not None:
        for path in (data.train_path, data.heldout_path):
            if not path.is_file():
                raise FileNotFoundError(
                    f"data file {path} does not exist; "
                    "write one with `hanlin train data --config ...`"
                )
        return DataSplit(
            list(read_trajectories(data.train_path)), list(read_trajectories(data.heldout_path))
        )
    count = max(data.synthetic_count, data.heldout_count or 0)
    trajectories = generate_trajectories(
        count,
        data.seed,
        tools_per_query=data.tools_per_query,
        error_rate=data.error_rate,
        no_tool_rate=data.no_tool_rate,
        multi_tool_rate=data.multi_tool_rate,
        typed_rate=data.typed_rate,
        typed_tools_per_query=data.typed_tools_per_query,
        near_miss_rate=data.near_miss_rate,
        near_miss_pairs=data.near_miss_pairs,
    )
    drawn = data.synthetic_count
    train, heldout = split_train_heldout(
        trajectories[:drawn], data.heldout_fraction, data.seed, extra_heldout=trajectories[drawn:]
    )
    return DataSplit(train, heldout)


def write_split(split: DataSplit, folder: Path) -> tuple[Path, Path]:
    train, heldout = folder / "train.jsonl", folder / "heldout.jsonl"
    write_trajectories(train, split.train)
    write_trajectories(heldout, split.heldout)
    return train, heldout


def sft_samples(split: DataSplit, data: DataConfig, variant: Variant) -> list[TrainingSample]:
    """The SFT targets of ``variant`` (MAE variants leave erroneous turns out), capped."""
    samples = samples_of(split.train, mask_erroneous=variant in MASKED_VARIANTS)
    return samples[: data.max_train_samples] if data.max_train_samples else samples


def rl_prompts(split: DataSplit, data: DataConfig) -> list[TrainingSample]:
    """Single-next-call prompts from the training trajectories, for PPO and GRPO."""
    prompts = gold_call_samples(split.train)
    return prompts[: data.max_train_samples] if data.max_train_samples else prompts


def heldout_samples(split: DataSplit, data: DataConfig) -> list[TrainingSample]:
    golds = gold_call_samples(split.heldout)
    return golds[: data.max_heldout_samples] if data.max_heldout_samples else golds


def use_threads(config: TrainingConfig) -> None:
    """Pin torch's CPU threads when the config asks (every stage calls this first)."""
    if config.threads is None:
        return
    import torch

    os.environ.setdefault("OMP_NUM_THREADS", str(config.threads))
    torch.set_num_threads(config.threads)
