"""GRPO on the tool-use reward: PPO without a critic, as an alternative to ``ppo``.

Each prompt is answered ``group_size`` times by sampling; a response's advantage is its
reward standardised within its group (every token of it shares that advantage); the loss
is PPO's clipped surrogate plus ``beta`` times the k3 estimate of KL to the frozen SFT
model. One update per batch, so the policy ratio starts at 1 and the clip is a guard.
It reuses PPO's rollout and log-probability code, so prompts, stopping and scoring are
the same as in PPO and evaluation. (TRL's GRPOTrainer would do the same work but renders
and tokenizes prompts its own way; this keeps training on the prompts inference sends.)
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from hanlin.training.config import TrainingConfig
from hanlin.training.data.samples import TrainingSample
from hanlin.training.model_io import save_for_serving
from hanlin.training.rl.ppo import (
    PpoResult,
    PromptCycle,
    Tensor,
    clipped_policy_loss,
    masked_mean,
    prepare_rl,
    response_logprobs,
    rollout,
)


def group_advantages(scores: Tensor, group_size: int) -> Tensor:
    """``(r - mean) / (std + 1e-4)`` within each consecutive group of ``group_size``."""
    grouped = scores.view(-1, group_size)
    mean = grouped.mean(dim=1, keepdim=True)
    std = grouped.std(dim=1, keepdim=True, unbiased=False)
    return ((grouped - mean) / (std + 1e-4)).view(-1)


def k3_kl(logp: Tensor, ref_logp: Tensor) -> Tensor:
    """Per-token ``exp(ref - logp) - (ref - logp) - 1``: non-negative, unbiased for KL."""
    gap = ref_logp - logp
    return gap.exp() - gap - 1.0


def run_grpo(
    config: TrainingConfig,
    prompts: Sequence[TrainingSample],
    *,
    model: Any = None,
    tokenizer: Any = None,
    output_dir: Path | None = None,
    save: bool = True,
    progress: bool = True,
) -> PpoResult:
    import torch

    grpo = config.grpo
    out = Path(output_dir or config.output_dir / "grpo")
    setup = prepare_rl(config, prompts, model, tokenizer, grpo.max_prompt_length)
    model, tokenizer, reference = setup.model, setup.tokenizer, setup.reference
    optimizer = torch.optim.AdamW(model.parameters(), lr=grpo.lr, weight_decay=0.0)
    cycle = PromptCycle(setup.prompts, config.seed)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "grpo_log.jsonl"
    history: list[dict[str, Any]] = []
    started = time.perf_counter()
    with log_path.open("w", encoding="utf-8") as log:
        for step in tqdm(range(1, grpo.steps + 1), desc="grpo", unit="step", disable=not progress):
            chosen = cycle.take(grpo.prompts_per_step)
            model.eval()
            batch = rollout(
                model,
                tokenizer,
                [s for s in chosen for _ in range(grpo.group_size)],
                max_new_tokens=grpo.max_new_tokens,
                temperature=grpo.temperature,
            )
            advantages = group_advantages(batch.scores, grpo.group_size)
            with torch.no_grad():
                ref_logp, _ = response_logprobs(reference, batch)
            logp, _ = response_logprobs(model, batch)
            token_advantages = advantages.unsqueeze(1).expand_as(logp)
            surrogate, clipped = clipped_policy_loss(
                logp, logp.detach(), token_advantages, batch.mask, grpo.clip
            )
            kl = masked_mean(k3_kl(logp, ref_logp), batch.mask)
            loss = surrogate + grpo.beta * kl
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            record = {
                "step": step,
                "reward": batch.scores.mean().item(),
                "kl": kl.item(),
                "loss": loss.item(),
                "clip_fraction": clipped.item(),
                "response_tokens": batch.mask.sum(dim=1).mean().item(),
                "categories": batch.categories,
                "elapsed_s": round(time.perf_counter() - started, 3),
            }
            history.append(record)
            log.write(json.dumps(record) + "\n")
            log.flush()
    model_path = save_for_serving(model, tokenizer, out / "model") if save else None
    return PpoResult(
        model_path=model_path,
        log_path=log_path,
        history=history,
        wall_s=time.perf_counter() - started,
    )
