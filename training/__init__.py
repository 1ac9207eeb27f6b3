"""TL-Training: tool-learning fine-tuning (MAE, PKT, PPO / GRPO) and its evaluation.

A top layer beside the UI: it records runs through the runtime and agents, and trains the
models they drive. Needs ``pip install hanlin[train]``. Names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hanlin._lazy import lazy_exports

if TYPE_CHECKING:
    from hanlin.training.config import TrainingConfig, load_config
    from hanlin.training.data.recorded_runs import trajectory_from_messages, trajectory_from_runner
    from hanlin.training.data.tool_catalogue import catalogue_registry, catalogue_tool
    from hanlin.training.evaluation.chat_eval import evaluate_chat_model, score_chat_result

_EXPORTS: dict[str, str] = {
    "evaluate_chat_model": "hanlin.training.evaluation.chat_eval",
    "score_chat_result": "hanlin.training.evaluation.chat_eval",
    "TrainingConfig": "hanlin.training.config",
    "load_config": "hanlin.training.config",
    "trajectory_from_messages": "hanlin.training.data.recorded_runs",
    "trajectory_from_runner": "hanlin.training.data.recorded_runs",
    "catalogue_registry": "hanlin.training.data.tool_catalogue",
    "catalogue_tool": "hanlin.training.data.tool_catalogue",
}
__all__ = [
    "TrainingConfig",
    "catalogue_registry",
    "catalogue_tool",
    "evaluate_chat_model",
    "load_config",
    "score_chat_result",
    "trajectory_from_messages",
    "trajectory_from_runner",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
