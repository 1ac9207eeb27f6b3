"""Scoring a model as agents run it: TS / PI / CF and the reward through ``ChatModel.chat``.

``evaluate_model`` scores a transformers model while it is trained (token ids in, ids out).
Agents use other backends too: the embedded llama.cpp model, vLLM or any OpenAI-compatible
server, a trained folder. This scores any of them through the call the runtime makes, so
the numbers include the backend's own prompt rendering and tool-call reading. Turns are
sent a few at a time, as a server would batch them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from hanlin.llm.chat_model import ChatModel, ChatOptions, ChatResult, ToolSpec
from hanlin.llm.local_prompt import render_tool_call
from hanlin.llm.messages import AssistantMessage
from hanlin.llm.toolcalls.parsing import parse_tool_calls
from hanlin.training.data.samples import TrainingSample
from hanlin.training.evaluation.evaluate import EvalRecord, EvalResult, write_records
from hanlin.training.evaluation.tool_metrics import scores_from_results
from hanlin.training.rl.reward import (
    REWARDS,
    RewardCategory,
    RewardResult,
    score_message,
    score_tool_call,
)


def score_chat_result(
    result: ChatResult, gold: AssistantMessage, tools: Sequence[ToolSpec]
) -> RewardResult:
    """The reward of one backend turn.

    Calls the model wrote into its text (local backends, servers without a tool parser) are
    read from that text exactly as ``score_tool_call`` reads raw output, so a backend and
    the training evaluation agree. Calls a server returned as structured ``tool_calls`` are
    judged as they came; arguments it could not decode make the turn unparsable.
    """
    written = parse_tool_calls(result.raw_text, list(tools)) if result.raw_text else None
    if written is not None and (written.calls or written.errors):
        return score_tool_call(result.raw_text, gold, tools)
    if result.tool_errors:
        category = RewardCategory.UNPARSABLE
        return RewardResult(
            score=REWARDS[category], category=category, detail=result.tool_errors[0].message
        )
    return score_message(result.message, gold, tools)


def shown(result: ChatResult) -> str:
    """What the model produced, for the predictions file."""
    if result.raw_text:
        return result.raw_text
    return result.message.content + "".join(render_tool_call(c) for c in result.message.tool_calls)


async def evaluate_chat_model(
    model: ChatModel,
    samples: Sequence[TrainingSample],
    *,
    options: ChatOptions | None = None,
    concurrency: int = 4,
    predictions_path: Path | None = None,
    progress: bool = True,
) -> EvalResult:
    """Greedy next turns of ``model`` on ``samples``, scored. A backend failure (a dead
    server, a missing model) is raised as the backend's ``ModelError``: a partial score
    would look like a bad model."""
    if not samples:
        raise ValueError("no held-out samples to evaluate")
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    settings = options or ChatOptions(max_tokens=96, temperature=0.0)
    gate = asyncio.Semaphore(concurrency)
    bar = tqdm(total=len(samples), desc="eval", unit="sample", disable=not progress)
    started = time.perf_counter()

    async def one(sample: TrainingSample) -> tuple[ChatResult, RewardResult]:
        async with gate:
            result = await model.chat(sample.context, tools=sample.tools, options=settings)
        bar.update(1)
        return result, score_chat_result(result, sample.target, sample.tools)

    try:
        turns = await asyncio.gather(*(one(sample) for sample in samples))
    finally:
        bar.close()
    wall = time.perf_counter() - started
    records = [
        EvalRecord(
            trajectory_id=sample.trajectory_id,
            predicted=shown(result),
            gold=sample.target,
            score=reward.score,
            category=reward.category.value,
            detail=reward.detail,
        )
        for sample, (result, reward) in zip(samples, turns, strict=False)
    ]
    if predictions_path is not None:
        write_records(predictions_path, records)
    return EvalResult(
        scores=scores_from_results([reward for _, reward in turns]),
        records=records,
        wall_s=wall,
        seconds_per_sample=wall / len(samples),
        predictions_path=predictions_path,
    )
