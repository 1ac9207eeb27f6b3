"""BFCL inside the tool-learning benchmark: the batched scorer the GPU run uses gives the
transformers backend's own answers, and the SFT time budget ends a run early."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from hanlin.training.config import load_config
from hanlin.training.data.pipeline import load_split, sft_samples
from hanlin.training.model_io import load_for_training
from hanlin.training.sft import run_sft

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "training" / "configs" / "tiny_gpu.toml"
sys.path.insert(0, str(ROOT / "benchmarks"))  # the benchmark scripts import their siblings

pytestmark = pytest.mark.local_model


def test_batched_bfcl_matches_the_backend_item_by_item() -> None:
    pytest.importorskip("bfcl_eval")
    from bfcl import evaluate_async
    from tool_learning_bfcl import bfcl_batched

    from hanlin.llm.transformers_model import TransformersModel

    categories, limit, tokens = ["simple", "irrelevance"], 2, 24
    backend = asyncio.run(
        evaluate_async(
            TransformersModel(),
            policy="auto",
            categories=categories,
            limit=limit,
            max_tokens=tokens,
        )
    )
    model, tokenizer = load_for_training("default")
    batched = bfcl_batched(
        model, tokenizer, categories=categories, limit=limit, batch_size=2, max_tokens=tokens
    )
    for category in categories:
        one_by_one = backend["categories"][category]["items"]
        together = batched["categories"][category]["items"]
        assert [i["id"] for i in together] == [i["id"] for i in one_by_one]
        assert [i["correct"] for i in together] == [i["correct"] for i in one_by_one]
        assert [i.get("calls", []) for i in together] == [i.get("calls", []) for i in one_by_one]


def test_sft_stops_at_its_time_budget(tmp_path: Path) -> None:
    config = load_config(TINY)
    config = config.model_copy(
        update={"sft": config.sft.model_copy(update={"max_minutes": 1e-4, "max_steps": 50})}
    )
    split = load_split(config.data)
    result = run_sft(
        config,
        sft_samples(split, config.data, "plain"),
        output_dir=tmp_path,
        save=False,
        progress=False,
    )
    assert result.steps == 1  # the first step already outlasts 6 ms


def test_gpu_config_reads_and_fits_its_budget() -> None:
    config = load_config(ROOT / "training" / "configs" / "smollm2_gpu.toml")
    assert config.sft.mixed_precision == "bf16" and config.sft.max_minutes is not None
    assert config.data.typed_rate > 0 and config.data.no_tool_rate >= 0.2
    assert 2 * config.sft.max_minutes < 9  # both SFT runs leave time for the evaluations
