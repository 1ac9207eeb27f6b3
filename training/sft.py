"""Supervised fine-tuning with MAE (eq. 8.1) and PKT (eq. 8.5) as options.

* ``plain``: every assistant turn is a target, every target token weighs 1.
* ``mae``: turns the tool feedback marks as erroneous are no targets (they stay as context).
* ``pkt``: key tokens of the tool name weigh ``CLIP(|NK|/|K|, 1, w_max)``.
* ``mae_pkt``: both.

The loop runs on accelerate's ``Accelerator``, so one script serves a CPU, one GPU or many::

    hanlin train sft --config training/configs/smollm2_cpu.toml
    accelerate launch --multi_gpu --num_processes 4 -m hanlin.cli.main \\
        train sft --config training/configs/smollm2_gpu.toml

Each optimiser step's loss goes to ``sft_log.jsonl`` in the output folder, the model to
``model/`` (a folder ``TransformersModel`` loads).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from tqdm.auto import tqdm

from hanlin.training.config import WEIGHTED_VARIANTS, TrainingConfig, Variant
from hanlin.training.data.encoding import IGNORE_INDEX, EncodingError, encode_sample
from hanlin.training.data.samples import TrainingSample
from hanlin.training.losses.key_tokens import KeyScope, key_token_positions, pkt_weights
from hanlin.training.losses.weighted_loss import pad_batch, weighted_token_loss
from hanlin.training.model_io import load_for_training, save_for_serving


@dataclass
class SftExample:
    input_ids: list[int]
    labels: list[int]
    weights: list[float]


class SftResult(BaseModel):
    model_path: Path | None
    log_path: Path
    losses: list[float]
    steps: int
    examples: int
    skipped: int
    wall_s: float
    seconds_per_step: float


def sft_folder(config: TrainingConfig) -> Path:
    """Where an SFT run of ``config`` saves: one folder per variant and PKT key scope, so
    runs that differ in either never overwrite each other (and PPO finds its start)."""
    sft = config.sft
    suffix = "" if sft.pkt_keys == "divergence" else f"_{sft.pkt_keys}"
    suffix += "_decision" if sft.decision_key else ""
    return config.output_dir / f"sft_{sft.variant}{suffix}"


def build_examples(
    samples: Sequence[TrainingSample],
    tokenizer: Any,
    *,
    variant: Variant,
    max_length: int,
    w_max: float = 9.0,
    pkt_keys: KeyScope = "divergence",
    decision_key: bool = False,
) -> tuple[list[SftExample], int]:
    """Encoded examples and how many samples were skipped (target longer than max_length)."""
    examples, skipped = [], 0
    for sample in samples:
        try:
            encoded = encode_sample(
                tokenizer, sample.tools, sample.context, sample.target, max_length=max_length
            )
        except EncodingError:
            skipped += 1
            continue
        if variant in WEIGHTED_VARIANTS:
            keys = key_token_positions(
                encoded,
                sample.target,
                sample.tools,
                tokenizer,
                scope=pkt_keys,
                decision=decision_key,
            )
            weights = pkt_weights(encoded, keys, w_max)
        else:
            weights = [0.0] * encoded.target_start + [1.0] * encoded.target_length
        examples.append(SftExample(encoded.input_ids, encoded.labels, weights))
    return examples, skipped


def collate(examples: Sequence[SftExample], pad_id: int) -> dict[str, Any]:
    import torch

    ids = [e.input_ids for e in examples]
    return {
        "input_ids": torch.tensor(pad_batch(ids, pad_id)),
        "attention_mask": torch.tensor(pad_batch([[1] * len(i) for i in ids], 0)),
        "labels": torch.tensor(pad_batch([e.labels for e in examples], IGNORE_INDEX)),
        "weights": torch.tensor(pad_batch([e.weights for e in examples], 0.0)),
    }


def run_sft(
    config: TrainingConfig,
    samples: Sequence[TrainingSample],
    *,
    model: Any = None,
    tokenizer: Any = None,
    output_dir: Path | None = None,
    save: bool = True,
    progress: bool = True,
) -> SftResult:
    """Fine-tune ``model`` (or the configured base) on ``samples``, in place."""
    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from torch.utils.data import DataLoader
    from transformers import get_cosine_schedule_with_warmup

    sft = config.sft
    out = Path(output_dir or sft_folder(config))
    if model is None or tokenizer is None:
        model, tokenizer = load_for_training(config.model.base)
    set_seed(config.seed)
    examples, skipped = build_examples(
        samples,
        tokenizer,
        variant=sft.variant,
        max_length=sft.max_length,
        w_max=sft.w_max,
        pkt_keys=sft.pkt_keys,
        decision_key=sft.decision_key,
    )
    if not examples:
        raise ValueError(f"none of the {len(samples)} samples fits max_length={sft.max_length}")
    accelerator = Accelerator(
        gradient_accumulation_steps=sft.grad_accumulation, mixed_precision=sft.mixed_precision
    )
    deadline = None if sft.max_minutes is None else time.perf_counter() + 60 * sft.max_minutes
    loader = DataLoader(
        examples,
        batch_size=sft.batch_size,
        shuffle=True,  # type: ignore[arg-type]
        collate_fn=lambda batch: collate(batch, tokenizer.pad_token_id),
        generator=torch.Generator().manual_seed(config.seed),
    )
    total = math.ceil(len(loader) * sft.epochs / sft.grad_accumulation)
    total = min(total, sft.max_steps) if sft.max_steps else total
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=sft.lr, weight_decay=sft.weight_decay, betas=(0.9, 0.95)
    )
    scheduler = get_cosine_schedule_with_warmup(optimizer, int(sft.warmup_ratio * total), total)
    model.train()
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "sft_log.jsonl"
    losses: list[float] = []
    window: list[float] = []
    started = time.perf_counter()
    bar = tqdm(
        total=total,
        desc=f"sft {sft.variant}",
        unit="step",
        disable=not progress or not accelerator.is_main_process,
    )
    with log_path.open("w", encoding="utf-8") as log:
        epoch = 0
        while len(losses) < total:
            for batch in loader:
                with accelerator.accumulate(model):
                    logits = model(
                        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
                    ).logits
                    loss = weighted_token_loss(logits, batch["labels"], batch["weights"])
                    accelerator.backward(loss)
                    if accelerator.sync_gradients:
                        accelerator.clip_grad_norm_(model.parameters(), sft.max_grad_norm)
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad()
                window.append(accelerator.gather(loss.detach()).mean().item())
                if not accelerator.sync_gradients:
                    continue
                losses.append(sum(window) / len(window))
                window = []
                record = {
                    "step": len(losses),
                    "epoch": epoch,
                    "loss": losses[-1],
                    "lr": scheduler.get_last_lr()[0],
                    "elapsed_s": round(time.perf_counter() - started, 3),
                }
                if accelerator.is_main_process:
                    log.write(json.dumps(record) + "\n")
                    log.flush()
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.4f}")
                if len(losses) >= total:
                    break
                if deadline is not None and time.perf_counter() > deadline:
                    total = len(losses)  # the time budget ends the run here
                    break
            epoch += 1
    bar.close()
    wall = time.perf_counter() - started
    model_path = None
    accelerator.wait_for_everyone()
    if save and accelerator.is_main_process:
        model_path = save_for_serving(accelerator.unwrap_model(model), tokenizer, out / "model")
    return SftResult(
        model_path=model_path,
        log_path=log_path,
        losses=losses,
        steps=len(losses),
        examples=len(examples),
        skipped=skipped,
        wall_s=wall,
        seconds_per_step=wall / max(len(losses), 1),
    )
