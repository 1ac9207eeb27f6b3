"""Held-out tool-use evaluation: generate the next turn, score it as the reward does.

The prompt is ``encoding.prompt_ids``, the exact ids the transformers backend sends at run
time, and generation stops where inference stops (the end-of-turn marker, or a
``<tool_response>`` the model starts inventing), so the scores describe the model as hanlin
will run it. Prompts are generated in batches, left-padded, sorted by length so a batch
wastes little padding. ``generate`` is shared with PPO and GRPO, which sample instead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from tqdm.auto import tqdm

from hanlin.llm.messages import AssistantMessage
from hanlin.training.data.encoding import end_of_turn_marker, prompt_ids
from hanlin.training.data.samples import TrainingSample
from hanlin.training.evaluation.tool_metrics import ToolUseScores, scores_from_results
from hanlin.training.rl.reward import score_tool_call

INVENTED_RESULT = "<tool_response>"  # inference stops here when tools are offered


@dataclass
class Generation:
    prompt_ids: list[int]
    response_ids: list[int]  # up to and including the stop token, when one came
    text: str  # what the runtime would read: special tokens dropped, cut at a stop string


def stop_token_ids(tokenizer: Any) -> list[int]:
    """Ids that end a turn: the template's end-of-turn marker and the tokenizer's eos."""
    marker = tokenizer(end_of_turn_marker(tokenizer), add_special_tokens=False)["input_ids"]
    ids = [marker[0]] if len(marker) == 1 else []
    if tokenizer.eos_token_id is not None:
        ids.append(int(tokenizer.eos_token_id))
    if not ids:
        raise ValueError("the tokenizer has no single end-of-turn token to stop generation at")
    return sorted(set(ids))


def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[Sequence[int]],
    *,
    max_new_tokens: int,
    temperature: float = 0.0,
    batch_size: int = 4,
    on_batch: Callable[[int], object] | None = None,
) -> list[Generation]:
    """One continuation per prompt: greedy at ``temperature`` 0, sampled otherwise.
    ``on_batch`` is told how many prompts each finished batch held (for progress bars)."""
    import torch
    from transformers import GenerationConfig

    stops = stop_token_ids(tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stops[0]
    sampling = temperature > 0
    settings = GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=sampling,
        eos_token_id=stops,
        pad_token_id=pad,
        **({"temperature": temperature, "top_k": 0, "top_p": 1.0} if sampling else {}),
    )
    device = next(model.parameters()).device
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    results: dict[int, Generation] = {}
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            width = max(len(prompts[i]) for i in batch)
            ids = [[pad] * (width - len(prompts[i])) + list(prompts[i]) for i in batch]
            mask = [[0] * (width - len(prompts[i])) + [1] * len(prompts[i]) for i in batch]
            with torch.inference_mode():
                out = model.generate(
                    input_ids=torch.tensor(ids, device=device),
                    attention_mask=torch.tensor(mask, device=device),
                    generation_config=settings,
                )
            for row, index in enumerate(batch):
                response = _until_stop(out[row, width:].tolist(), stops)
                text = tokenizer.decode(response, skip_special_tokens=True)
                results[index] = Generation(list(prompts[index]), response, _cut(text))
            if on_batch is not None:
                on_batch(len(batch))
    finally:
        model.train(was_training)
    return [results[i] for i in range(len(prompts))]


class EvalRecord(BaseModel):
    trajectory_id: str
    predicted: str
    gold: AssistantMessage
    score: float
    category: str
    detail: str


class EvalResult(BaseModel):
    scores: ToolUseScores
    records: list[EvalRecord]
    wall_s: float
    seconds_per_sample: float
    predictions_path: Path | None = None


def evaluate_model(
    model: Any,
    tokenizer: Any,
    samples: Sequence[TrainingSample],
    *,
    max_new_tokens: int = 96,
    batch_size: int = 4,
    predictions_path: Path | None = None,
    progress: bool = True,
) -> EvalResult:
    """TS / PI / CF and the mean reward of greedy next turns on ``samples``."""
    if not samples:
        raise ValueError("no held-out samples to evaluate")
    started = time.perf_counter()
    prompts = [prompt_ids(tokenizer, s.tools, s.context) for s in samples]
    bar = tqdm(total=len(samples), desc="eval", unit="sample", disable=not progress)
    generations = generate(
        model,
        tokenizer,
        prompts,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        on_batch=bar.update,
    )
    bar.close()
    rewards = [
        score_tool_call(g.text, s.target, s.tools)
        for s, g in zip(samples, generations, strict=False)
    ]
    records = [
        EvalRecord(
            trajectory_id=sample.trajectory_id,
            predicted=generation.text,
            gold=sample.target,
            score=reward.score,
            category=reward.category.value,
            detail=reward.detail,
        )
        for sample, generation, reward in zip(samples, generations, rewards, strict=False)
    ]
    scores = scores_from_results(rewards)
    wall = time.perf_counter() - started
    if predictions_path is not None:
        write_records(predictions_path, records)
    return EvalResult(
        scores=scores,
        records=records,
        wall_s=wall,
        seconds_per_sample=wall / len(samples),
        predictions_path=predictions_path,
    )


def write_records(path: Path, records: Sequence[EvalRecord]) -> None:
    """One JSON line per scored turn: the prediction, the gold turn, category and detail."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(record.model_dump_json() + "\n")


def write_scores(path: Path, result: EvalResult, **extra: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        **result.scores.model_dump(),
        "wall_s": result.wall_s,
        "seconds_per_sample": result.seconds_per_sample,
        **extra,
    }
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")


def _until_stop(ids: list[int], stops: Sequence[int]) -> list[int]:
    for position, token in enumerate(ids):
        if token in stops:
            return ids[: position + 1]
    return ids


def _cut(text: str) -> str:
    at = text.find(INVENTED_RESULT)
    return text if at < 0 else text[:at]
