"""Loading a model to train and saving what training made, in the form hanlin serves.

The base is read as the transformers backend reads it (GGUF dequantized to float32, never
from the network), but unshared: training changes the weights, so the backend's cached
copy must not be the one trained. A saved run is a plain Hugging Face folder (weights,
config, tokenizer with its chat template), which ``TransformersModel(path)`` and
``model_from_settings`` load as they load any model folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hanlin.llm.model_files import resolve_model_path
from hanlin.llm.transformers_model import read_local_weights


class ModelLoadError(RuntimeError):
    """The model to train could not be loaded."""


def load_for_training(spec: str | Path | None = "default") -> tuple[Any, Any]:
    """(model, tokenizer) in float32, in train mode, with a pad token and a chat template."""
    resolved = resolve_model_path(None if spec in (None, "default") else str(spec))
    try:
        model, tokenizer = read_local_weights(resolved)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"transformers could not load {resolved.path}: {exc}") from exc
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    if getattr(model, "hf_quantizer", None) is not None:  # GGUF weights are float32 by now
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    model.train()
    return model, tokenizer


def save_for_serving(model: Any, tokenizer: Any, folder: Path) -> Path:
    """Write an HF folder hanlin's transformers backend loads; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    resolved = resolve_model_path(str(folder))
    if resolved.kind != "hf_folder":  # pragma: no cover - transformers changed its layout
        raise ModelLoadError(f"{folder} was saved but is not recognised as a model folder")
    return folder


def frozen_copy(model: Any) -> Any:
    """A frozen deep copy (the reference policy of PPO / GRPO)."""
    import copy

    frozen = copy.deepcopy(model)
    frozen.eval()
    for parameter in frozen.parameters():
        parameter.requires_grad_(False)
    return frozen
