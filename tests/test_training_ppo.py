"""PPO and GRPO pieces on hand-made tensors, and one real step of each on SmolLM2."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

HAS_TRAIN = all(importlib.util.find_spec(n) for n in ("torch", "transformers", "gguf"))
pytestmark = pytest.mark.skipif(not HAS_TRAIN, reason="needs torch, transformers and gguf")
TINY = Path(__file__).resolve().parents[1] / "training" / "configs" / "tiny.toml"


def test_gae_matches_a_hand_computation() -> None:
    import torch

    from hanlin.training.rl.ppo import gae

    rewards = torch.tensor([[0.0, 0.0, 1.0, 7.0], [0.5, -1.0, 0.0, 0.0]])
    values = torch.tensor([[0.2, 0.4, 0.6, 9.0], [0.1, 0.3, 9.0, 9.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
    advantages, returns = gae(rewards, values, mask, gamma=1.0, lam=0.5)
    # row 0: deltas 0.2, 0.2, 0.4 (past the end counts nothing); A_t = d_t + 0.5 * A_{t+1}
    expected0 = [0.2 + 0.5 * (0.2 + 0.5 * 0.4), 0.2 + 0.5 * 0.4, 0.4, 0.0]
    # row 1: deltas 0.5 + 0.3 - 0.1 = 0.7 and -1.0 - 0.3 = -1.3
    expected1 = [0.7 + 0.5 * -1.3, -1.3, 0.0, 0.0]
    assert torch.allclose(advantages, torch.tensor([expected0, expected1]), atol=1e-6)
    assert torch.allclose(returns, (advantages + values) * mask)
    full, _ = gae(rewards, values, mask, gamma=1.0, lam=1.0)
    assert full[0, 0].item() == pytest.approx(1.0 - 0.2)  # lambda 1: return minus V_0


def test_clipped_losses_stop_the_gradient_outside_the_trust_region() -> None:
    import torch

    from hanlin.training.rl.ppo import clipped_policy_loss, clipped_value_loss

    old = torch.zeros(1, 3)
    logp = torch.tensor([[math.log(1.5), math.log(1.1), math.log(0.5)]], requires_grad=True)
    advantages = torch.tensor([[1.0, 1.0, -1.0]])
    mask = torch.ones(1, 3)
    loss, clipped = clipped_policy_loss(logp, old, advantages, mask, clip=0.2)
    # ratio 1.5 with A>0 is clipped to 1.2; 1.1 stays; 0.5 with A<0 clipped to 0.8
    assert loss.item() == pytest.approx((-1.2 - 1.1 + 0.8) / 3, abs=1e-6)
    assert clipped.item() == pytest.approx(2 / 3)
    loss.backward()
    assert logp.grad is not None
    assert logp.grad[0, 0].item() == 0.0 and logp.grad[0, 2].item() == 0.0
    assert logp.grad[0, 1].item() == pytest.approx(-1.1 / 3)

    values = torch.tensor([[1.0, 0.0]])
    old_values = torch.tensor([[0.0, 0.0]])
    returns = torch.tensor([[2.0, 0.1]])
    vloss = clipped_value_loss(values, old_values, returns, torch.ones(1, 2), clip=0.2)
    # token 0: max((1-2)^2, (0.2-2)^2) = 3.24; token 1: 0.01
    assert vloss.item() == pytest.approx(0.5 * (3.24 + 0.01) / 2)


def test_kl_rewards_and_group_advantages() -> None:
    import torch

    from hanlin.training.rl.grpo import group_advantages, k3_kl
    from hanlin.training.rl.ppo import kl_rewards

    logp = torch.tensor([[-1.0, -2.0, -3.0], [-1.0, -1.0, 0.0]])
    ref = torch.tensor([[-1.5, -2.0, -2.0], [-1.0, -2.0, 0.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    rewards = kl_rewards(torch.tensor([1.0, -9.0]), logp, ref, mask, beta=0.4, reward_clip=5.0)
    assert torch.allclose(rewards, torch.tensor([[-0.2, 0.0, 0.4 + 1.0], [0.0, -0.4 - 5.0, 0.0]]))
    advantages = group_advantages(torch.tensor([1.0, -1.0, 0.5, 0.5]), group_size=2)
    assert torch.allclose(advantages, torch.tensor([1.0, -1.0, 0.0, 0.0]), atol=1e-3)
    assert (k3_kl(logp, ref) >= 0).all() and k3_kl(logp, logp).abs().max() == 0


@pytest.mark.local_model
def test_one_ppo_and_one_grpo_step_on_smollm2(tmp_path: Path) -> None:
    import torch

    from hanlin.training.config import load_config
    from hanlin.training.data.pipeline import load_split, rl_prompts
    from hanlin.training.model_io import load_for_training
    from hanlin.training.rl.grpo import run_grpo
    from hanlin.training.rl.ppo import run_ppo
    from hanlin.training.rl.reward import REWARDS

    config = load_config(TINY)
    config = config.model_copy(
        update={
            "ppo": config.ppo.model_copy(update={"max_new_tokens": 12, "lr_actor": 1e-5}),
            "grpo": config.grpo.model_copy(update={"max_new_tokens": 8}),
        }
    )
    prompts = rl_prompts(load_split(config.data), config.data)
    model, tokenizer = load_for_training("default")
    before = model.lm_head.weight.detach().clone()
    result = run_ppo(
        config,
        prompts,
        model=model,
        tokenizer=tokenizer,
        output_dir=tmp_path / "ppo",
        save=False,
        progress=False,
    )
    (step,) = result.history
    assert len(step["categories"]) == 2
    assert step["reward"] in {sum(pair) / 2 for pair in _pairs(REWARDS.values())}
    assert math.isfinite(step["kl"]) and math.isfinite(step["value_loss"])
    assert 1 <= step["response_tokens"] <= 12
    assert not torch.equal(before, model.lm_head.weight)
    assert (tmp_path / "ppo" / "ppo_log.jsonl").read_text().count("\n") == 1

    grpo = run_grpo(
        config,
        prompts,
        model=model,
        tokenizer=tokenizer,
        output_dir=tmp_path / "grpo",
        save=False,
        progress=False,
    )
    (gstep,) = grpo.history
    assert len(gstep["categories"]) == config.grpo.group_size
    assert math.isfinite(gstep["kl"]) and math.isfinite(gstep["loss"])


def _pairs(values: object) -> list[tuple[float, float]]:
    items = list(values)  # type: ignore[call-overload]
    return [(a, b) for a in items for b in items]
