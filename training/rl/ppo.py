"""PPO on the tool-use reward with a KL penalty to the frozen SFT model (eq. 8.8).

As in the reference trainer: each prompt asks for the single next call; the sampled
response is scored by ``score_tool_call`` (clipped to ``±reward_clip``) and the score is
added at the last response token; every token also gets ``-beta * (logp - logp_ref)``;
advantages come from GAE (gamma 1, lambda 0.95); policy and value losses are clipped.

The critic is a linear value head on the policy's last hidden states, *detached*: one
model in memory instead of the reference's second 135M critic (which roughly doubles the
cost of every step on a CPU), while the value loss still cannot move the policy's weights,
as with a separate critic, and actor and critic keep their own learning rates.
TRL (1.16) has no PPO trainer left, and its former one wanted a reward *model*; this file
is the whole algorithm instead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from random import Random
from typing import Any

from pydantic import BaseModel
from tqdm.auto import tqdm

from hanlin.training.config import TrainingConfig
from hanlin.training.data.encoding import prompt_ids
from hanlin.training.data.samples import TrainingSample
from hanlin.training.evaluation.evaluate import generate
from hanlin.training.model_io import frozen_copy, load_for_training, save_for_serving
from hanlin.training.rl.reward import score_tool_call

Tensor = Any  # torch.Tensor; torch is imported lazily


def masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    return (values * mask).sum() / mask.sum().clamp(min=1)


def gae(
    rewards: Tensor, values: Tensor, mask: Tensor, gamma: float, lam: float
) -> tuple[Tensor, Tensor]:
    """Advantages and returns over ``[batch, T]`` response tokens (``mask`` 1 on real ones)."""
    import torch

    rewards, values = rewards * mask, values * mask
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.shape[1])):
        following = values[:, t + 1] if t + 1 < rewards.shape[1] else torch.zeros_like(running)
        delta = rewards[:, t] + gamma * following - values[:, t]
        running = (delta + gamma * lam * running) * mask[:, t]
        advantages[:, t] = running
    return advantages, (advantages + values) * mask


def clipped_policy_loss(
    logp: Tensor, old_logp: Tensor, advantages: Tensor, mask: Tensor, clip: float
) -> tuple[Tensor, Tensor]:
    """PPO's clipped surrogate (to minimise) and the fraction of tokens it clipped."""
    ratio = (logp - old_logp).exp()
    unclipped = -advantages * ratio
    clipped = -advantages * ratio.clamp(1.0 - clip, 1.0 + clip)
    return masked_mean(unclipped.maximum(clipped), mask), masked_mean(
        (clipped > unclipped).float(), mask
    )


def clipped_value_loss(
    values: Tensor, old_values: Tensor, returns: Tensor, mask: Tensor, clip: float
) -> Tensor:
    moved = old_values + (values - old_values).clamp(-clip, clip)
    return 0.5 * masked_mean(((values - returns) ** 2).maximum((moved - returns) ** 2), mask)


def kl_rewards(
    scores: Tensor, logp: Tensor, ref_logp: Tensor, mask: Tensor, beta: float, reward_clip: float
) -> Tensor:
    """Per-token rewards: ``-beta * (logp - logp_ref)``, plus the clipped score at the end."""
    import torch

    rewards = -beta * (logp - ref_logp) * mask
    last = mask.sum(dim=1).long().clamp(min=1) - 1
    rows = torch.arange(rewards.shape[0], device=rewards.device)
    rewards[rows, last] += scores.clamp(-reward_clip, reward_clip)
    return rewards


@dataclass
class Rollout:
    input_ids: Tensor  # [B, W + T]: left-padded prompts, then right-padded responses
    attention_mask: Tensor
    width: int  # W, where responses start
    mask: Tensor  # [B, T]: 1 on response tokens
    texts: list[str]
    scores: Tensor  # [B] raw rewards
    categories: list[str]


def rollout(
    model: Any,
    tokenizer: Any,
    samples: Sequence[TrainingSample],
    *,
    max_new_tokens: int,
    temperature: float,
) -> Rollout:
    """Sample one response per prompt and score it."""
    import torch

    prompts = [prompt_ids(tokenizer, s.tools, s.context) for s in samples]
    made = generate(
        model,
        tokenizer,
        prompts,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        batch_size=len(prompts),
    )
    pad = tokenizer.pad_token_id
    width = max(len(p) for p in prompts)
    length = max(max(len(g.response_ids) for g in made), 1)
    rows, attention, mask = [], [], []
    for g in made:
        left, right = width - len(g.prompt_ids), length - len(g.response_ids)
        rows.append([pad] * left + g.prompt_ids + g.response_ids + [pad] * right)
        attention.append([0] * left + [1] * (len(g.prompt_ids) + len(g.response_ids)) + [0] * right)
        mask.append([1] * len(g.response_ids) + [0] * right)
    rewards = [
        score_tool_call(g.text, s.target, s.tools) for g, s in zip(made, samples, strict=False)
    ]
    device = next(model.parameters()).device
    return Rollout(
        input_ids=torch.tensor(rows, device=device),
        attention_mask=torch.tensor(attention, device=device),
        width=width,
        mask=torch.tensor(mask, device=device, dtype=torch.float32),
        texts=[g.text for g in made],
        scores=torch.tensor([r.score for r in rewards], device=device),
        categories=[r.category.value for r in rewards],
    )


def response_logprobs(
    model: Any, batch: Rollout, *, hidden: bool = False
) -> tuple[Tensor, Tensor | None]:
    """Log-probabilities of the response tokens (and the hidden states that predicted them)."""
    import torch

    positions = (batch.attention_mask.cumsum(-1) - 1).clamp(min=0)
    out = model(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        position_ids=positions,
        output_hidden_states=hidden,
    )
    span = slice(batch.width - 1, batch.input_ids.shape[1] - 1)
    logits = out.logits[:, span, :].float()
    targets = batch.input_ids[:, batch.width :]
    logp = torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    states = out.hidden_states[-1][:, span, :] if hidden else None
    return logp, states


@dataclass
class RlSetup:
    """What PPO and GRPO both start from: the policy, its frozen copy, the usable prompts."""

    model: Any
    tokenizer: Any
    reference: Any
    prompts: list[TrainingSample]
    device: Any


def prepare_rl(
    config: TrainingConfig,
    prompts: Sequence[TrainingSample],
    model: Any,
    tokenizer: Any,
    max_prompt_length: int,
) -> RlSetup:
    import torch

    torch.manual_seed(config.seed)
    if model is None or tokenizer is None:
        model, tokenizer = load_for_training(config.model.base)
    usable = [
        s for s in prompts if len(prompt_ids(tokenizer, s.tools, s.context)) <= max_prompt_length
    ]
    if not usable:
        raise ValueError(f"no prompt fits max_prompt_length={max_prompt_length}")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)
    return RlSetup(
        model=model,
        tokenizer=tokenizer,
        reference=frozen_copy(model),
        prompts=usable,
        device=device,
    )


class PromptCycle:
    """Shuffled passes over the prompts; a fresh pass starts when too few are left."""

    def __init__(self, prompts: Sequence[TrainingSample], seed: int) -> None:
        self.prompts = list(prompts)
        self.rng = Random(seed)
        self.order: list[TrainingSample] = []

    def take(self, count: int) -> list[TrainingSample]:
        if len(self.order) < count:
            self.order = self.rng.sample(self.prompts, len(self.prompts))
        chosen, self.order = self.order[:count], self.order[count:]
        return chosen


class PpoResult(BaseModel):
    model_path: Path | None
    log_path: Path
    history: list[dict[str, Any]]
    wall_s: float


def run_ppo(
    config: TrainingConfig,
    prompts: Sequence[TrainingSample],
    *,
    model: Any = None,
    tokenizer: Any = None,
    output_dir: Path | None = None,
    save: bool = True,
    progress: bool = True,
) -> PpoResult:
    """PPO from ``model`` (the SFT policy; also the frozen reference) on ``prompts``."""
    import torch

    ppo = config.ppo
    out = Path(output_dir or config.output_dir / "ppo")
    setup = prepare_rl(config, prompts, model, tokenizer, ppo.max_prompt_length)
    model, tokenizer, reference, device = (
        setup.model,
        setup.tokenizer,
        setup.reference,
        setup.device,
    )
    head = torch.nn.Linear(model.config.hidden_size, 1).to(device)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    actor = torch.optim.AdamW(model.parameters(), lr=ppo.lr_actor, weight_decay=0.0)
    critic = torch.optim.AdamW(head.parameters(), lr=ppo.lr_critic, weight_decay=0.0)
    cycle = PromptCycle(setup.prompts, config.seed)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "ppo_log.jsonl"
    history: list[dict[str, Any]] = []
    started = time.perf_counter()
    with log_path.open("w", encoding="utf-8") as log:
        for step in tqdm(range(1, ppo.steps + 1), desc="ppo", unit="step", disable=not progress):
            chosen = cycle.take(ppo.prompts_per_step)
            model.eval()
            batch = rollout(
                model,
                tokenizer,
                chosen,
                max_new_tokens=ppo.max_new_tokens,
                temperature=ppo.temperature,
            )
            with torch.no_grad():
                old_logp, states = response_logprobs(model, batch, hidden=True)
                ref_logp, _ = response_logprobs(reference, batch)
                old_values = head(states).squeeze(-1)
                rewards = kl_rewards(
                    batch.scores, old_logp, ref_logp, batch.mask, ppo.beta, ppo.reward_clip
                )
                advantages, returns = gae(rewards, old_values, batch.mask, ppo.gamma, ppo.lam)
            for _ in range(ppo.ppo_epochs):
                logp, states = response_logprobs(model, batch, hidden=True)
                values = head(states.detach()).squeeze(-1)
                policy_loss, clipped = clipped_policy_loss(
                    logp, old_logp, advantages, batch.mask, ppo.clip
                )
                value_loss = clipped_value_loss(
                    values, old_values, returns, batch.mask, ppo.value_clip
                )
                actor.zero_grad()
                critic.zero_grad()
                (policy_loss + value_loss).backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), ppo.max_grad_norm)
                actor.step()
                critic.step()
            kl = ((old_logp - ref_logp) * batch.mask).sum(dim=1).mean().item()
            record = {
                "step": step,
                "reward": batch.scores.mean().item(),
                "kl": kl,
                "policy_loss": policy_loss.item(),
                "value_loss": value_loss.item(),
                "clip_fraction": clipped.item(),
                "response_tokens": batch.mask.sum(dim=1).mean().item(),
                "categories": batch.categories,
                "elapsed_s": round(time.perf_counter() - started, 3),
            }
            history.append(record)
            log.write(json.dumps(record) + "\n")
            log.flush()
    model_path = None
    if save:
        model_path = save_for_serving(model, tokenizer, out / "model")
        torch.save(head.state_dict(), out / "value_head.pt")
    return PpoResult(
        model_path=model_path,
        log_path=log_path,
        history=history,
        wall_s=time.perf_counter() - started,
    )
