"""Run configurations for SFT, PPO, GRPO and evaluation, read from TOML.

Every section forbids unknown keys, so a typo fails loudly (with the dotted key named)
instead of silently training with a default. Defaults follow the TL-Training reference
where it fixes a value (w_max 9, PPO clips 0.2, gamma 1, lambda 0.95, reward clip 5, and
beta 0.4: the value its PPO trainer really uses, since its launch script's 0.3 is never
passed on) and small-model practice elsewhere (learning rates for a 135M model).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hanlin.training.losses.key_tokens import KeyScope

Variant = Literal["plain", "mae", "pkt", "mae_pkt"]
MASKED_VARIANTS = frozenset({"mae", "mae_pkt"})
WEIGHTED_VARIANTS = frozenset({"pkt", "mae_pkt"})


class ConfigError(ValueError):
    """A configuration file that cannot be read or holds a bad value; names the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Section):
    """Synthetic trajectories (``count``, ``seed``) or JSON-lines files (``train_path``).

    ``heldout_count`` draws more synthetic trajectories for the held-out side only: the
    split and the training data stay those of the first ``synthetic_count``, and the extra
    ones count where their phrasing is held out, so a bigger test set needs no retraining.
    """

    synthetic_count: int = Field(200, ge=1)
    heldout_count: int | None = Field(None, ge=1)
    seed: int = 0
    heldout_fraction: float = Field(0.2, ge=0.0, lt=1.0)
    tools_per_query: tuple[int, int] = (3, 6)
    error_rate: float = Field(0.2, ge=0.0, le=1.0)
    no_tool_rate: float = Field(0.1, ge=0.0, le=1.0)
    multi_tool_rate: float = Field(0.25, ge=0.0, le=1.0)
    # share drawn from the typed catalogue (numbers, flags, lists, nested objects), with
    # typed_tools_per_query tools offered; 0 keeps the service catalogue's data unchanged
    typed_rate: float = Field(0.0, ge=0.0, le=1.0)
    typed_tools_per_query: tuple[int, int] = (1, 3)
    # share of the "no tool fits" requests offered tools of their own subject that cannot
    # serve them (training/data/near_misses.py) instead of unrelated ones
    near_miss_rate: float = Field(0.0, ge=0.0, le=1.0)
    # each near miss followed by the same request with its fitting tool added, answered by
    # calls: a minimal pair in which only the tool list differs
    near_miss_pairs: bool = False
    train_path: Path | None = None
    heldout_path: Path | None = None
    max_train_samples: int | None = Field(None, ge=1)
    max_heldout_samples: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _paths_together(self) -> DataConfig:
        if (self.train_path is None) != (self.heldout_path is None):
            raise ValueError("give both train_path and heldout_path, or neither (synthetic data)")
        if self.heldout_count is not None and self.heldout_count < self.synthetic_count:
            raise ValueError(
                f"heldout_count ({self.heldout_count}) must be at least "
                f"synthetic_count ({self.synthetic_count})"
            )
        return self


class ModelConfig(_Section):
    """``base``: ``default`` (the embedded SmolLM2 GGUF), a ``.gguf`` file or an HF folder."""

    base: str = "default"


class SftConfig(_Section):
    variant: Variant = "mae_pkt"
    w_max: float = Field(9.0, ge=1.0)
    pkt_keys: KeyScope = "divergence"  # "name": every token of the tool name is key
    # beyond the paper: the token choosing between a call and words is key too
    decision_key: bool = False
    lr: float = Field(2e-5, gt=0)
    epochs: float = Field(1.0, gt=0)
    max_steps: int | None = Field(None, ge=1)
    batch_size: int = Field(1, ge=1)
    grad_accumulation: int = Field(1, ge=1)
    max_length: int = Field(1024, ge=16)
    warmup_ratio: float = Field(0.03, ge=0.0, lt=1.0)
    weight_decay: float = Field(0.01, ge=0.0)
    max_grad_norm: float = Field(1.0, gt=0)
    # "bf16" on a GPU that has it: about twice the speed of float32 for the same steps
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"
    # stop early (and save) once this much training time has passed: a fixed time budget
    max_minutes: float | None = Field(None, gt=0)


class PpoConfig(_Section):
    """PPO with a per-token KL penalty to the frozen SFT model (eq. 8.8)."""

    beta: float = Field(0.4, ge=0.0)  # the reference trainer's kl_ctl
    clip: float = Field(0.2, gt=0)
    value_clip: float = Field(0.2, gt=0)
    gamma: float = Field(1.0, ge=0.0, le=1.0)
    lam: float = Field(0.95, ge=0.0, le=1.0)
    reward_clip: float = Field(5.0, gt=0)
    lr_actor: float = Field(1e-6, gt=0)
    lr_critic: float = Field(1e-4, gt=0)
    steps: int = Field(20, ge=1)
    prompts_per_step: int = Field(2, ge=1)
    ppo_epochs: int = Field(1, ge=1)
    max_new_tokens: int = Field(64, ge=1)
    temperature: float = Field(0.7, gt=0)
    max_prompt_length: int = Field(1024, ge=16)
    max_grad_norm: float = Field(1.0, gt=0)


class GrpoConfig(_Section):
    group_size: int = Field(4, ge=2)
    beta: float = Field(0.04, ge=0.0)
    clip: float = Field(0.2, gt=0)
    lr: float = Field(1e-6, gt=0)
    steps: int = Field(10, ge=1)
    prompts_per_step: int = Field(1, ge=1)
    max_new_tokens: int = Field(64, ge=1)
    temperature: float = Field(0.9, gt=0)
    max_prompt_length: int = Field(1024, ge=16)


class EvalConfig(_Section):
    max_new_tokens: int = Field(96, ge=1)
    batch_size: int = Field(4, ge=1)


class TrainingConfig(_Section):
    output_dir: Path = Path("runs/tool_learning")
    seed: int = 0
    threads: int | None = Field(None, ge=1)
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    sft: SftConfig = SftConfig()
    ppo: PpoConfig = PpoConfig()
    grpo: GrpoConfig = GrpoConfig()
    eval: EvalConfig = EvalConfig()


def config_from_dict(raw: dict[str, Any], *, origin: str = "config") -> TrainingConfig:
    try:
        return TrainingConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or '(top level)'}: "
            f"{'unknown key' if error['type'] == 'extra_forbidden' else error['msg']}"
            for error in exc.errors()
        )
        raise ConfigError(f"{origin}: {problems}") from None


def load_config(path: Path) -> TrainingConfig:
    """Read a TOML run config; relative data paths and ``output_dir`` stay relative to the
    working directory, as the command line uses them."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return config_from_dict(raw, origin=str(path))
