"""BFCL scores for the TL-Training variants: the base and each trained model, same items.

Two ways to the same numbers. ``bfcl_through_backend`` loads a model folder (or the base
GGUF) in hanlin's transformers backend and calls ``bfcl.evaluate``: one item at a time, as
an agent would run it. ``bfcl_batched`` scores the model already in memory (on the GPU
after training) in left-padded batches: the prompt is the backend's own rendering
(``prompt_ids``), decoding is greedy up to the same token limit and stops where the backend
stops, and the turn is read and scored by the same code (``build_result``, BFCL's checker).
Only the free ``auto`` policy can be batched this way. BFCL is evaluation data: nothing
here feeds training.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bfcl import MAX_TOKENS, evaluate, summarise
from bfcl_data import available_categories, load_category
from bfcl_score import score_item

from hanlin.llm.chat_model import Usage
from hanlin.llm.local_prompt import build_result
from hanlin.training.data.encoding import prompt_ids
from hanlin.training.evaluation.evaluate import generate


def present(categories: list[str]) -> list[str]:
    """The categories the installed bfcl-eval has; an unknown one is an error."""
    have = available_categories()
    missing = [c for c in categories if c not in have]
    if missing:
        raise SystemExit(f"BFCL categories not in the installed bfcl-eval: {', '.join(missing)}")
    return categories


def bfcl_through_backend(
    model_path: str | Path, *, categories: list[str], limit: int, policy: str = "auto"
) -> dict[str, Any]:
    """``bfcl.evaluate`` on the model at ``model_path`` (a folder, GGUF or "default")."""
    from hanlin.llm.transformers_model import TransformersModel

    model = TransformersModel(str(model_path))
    report = evaluate(model, policy=policy, categories=present(categories), limit=limit)
    return {**report, "runner": "transformers backend, one item at a time"}


def bfcl_batched(
    model: Any,
    tokenizer: Any,
    *,
    categories: list[str],
    limit: int,
    batch_size: int = 32,
    max_tokens: int = MAX_TOKENS,
) -> dict[str, Any]:
    """The ``auto`` policy's report for the in-memory ``model``, generated in batches."""
    per_category: dict[str, Any] = {}
    for category in present(categories):
        items = load_category(category, limit)
        started = time.perf_counter()
        prompts = [prompt_ids(tokenizer, i.tool_specs(), i.chat_messages()) for i in items]
        generations = generate(
            model, tokenizer, prompts, max_new_tokens=max_tokens, batch_size=batch_size
        )
        scores = []
        for item, generation in zip(items, generations, strict=True):
            usage = Usage(
                prompt_tokens=len(generation.prompt_ids),
                completion_tokens=len(generation.response_ids),
            )
            finish = "length" if len(generation.response_ids) >= max_tokens else "stop"
            turn = build_result(
                generation.text, item.tool_specs(), usage=usage, finish_reason=finish
            )
            scores.append(score_item(item, turn))
        per_category[category] = summarise(scores, time.perf_counter() - started)
    return {
        "model": getattr(model, "name_or_path", "in-memory model"),
        "policy": "auto",
        "limit": limit,
        "categories": per_category,
        "runner": f"batched greedy generation, batch {batch_size}",
    }


def accuracies(report: dict[str, Any]) -> dict[str, float]:
    return {name: c["accuracy"] for name, c in report.get("categories", {}).items()}
