"""RoTBench-style tool-use accuracies over a set of predictions, plus the mean reward.

* TS (tool selection): the right tools, in order, and nothing unreadable or unknown; for a
  gold direct answer, no call at all.
* PI (parameter identification): TS, and every call's argument names equal the gold's.
* CF (content filling): PI, and every value equals the gold's (compared as the reward does).

Each is read off the reward's category, which is the first rule the prediction broke, so
the metrics and the reward can never disagree about what went wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict

from hanlin.llm.chat_model import ToolSpec
from hanlin.llm.messages import AssistantMessage
from hanlin.training.rl.reward import (
    PARAMETER_SUCCESSES,
    TOOL_SELECTION_FAILURES,
    RewardCategory,
    RewardResult,
    score_message,
    score_tool_call,
)


class Prediction(BaseModel):
    """A model's output (raw text or a parsed turn) with the gold turn and the tools offered."""

    model_config = ConfigDict(frozen=True)

    predicted: str | AssistantMessage
    gold: AssistantMessage
    tools: list[ToolSpec]


class ToolUseScores(BaseModel):
    """Accuracies as fractions in [0, 1]."""

    count: int
    tool_selection: float
    parameter_identification: float
    content_filling: float
    mean_reward: float


PredictionLike = Prediction | tuple[str | AssistantMessage, AssistantMessage, Sequence[ToolSpec]]


METRICS = ("tool_selection", "parameter_identification", "content_filling")


def metric_hits(category: str | RewardCategory) -> dict[str, bool]:
    """Which of TS / PI / CF one scored turn counts as a success."""
    category = RewardCategory(category)
    return {
        "tool_selection": category not in TOOL_SELECTION_FAILURES,
        "parameter_identification": category in PARAMETER_SUCCESSES,
        "content_filling": category == RewardCategory.CORRECT,
    }


def score_prediction(prediction: Prediction) -> RewardResult:
    if isinstance(prediction.predicted, str):
        return score_tool_call(prediction.predicted, prediction.gold, prediction.tools)
    return score_message(prediction.predicted, prediction.gold, prediction.tools)


def score_predictions(pairs: Iterable[PredictionLike]) -> ToolUseScores:
    """TS / PI / CF and the mean reward; ``pairs`` are Predictions or
    ``(predicted, gold, tools)`` tuples."""
    return scores_from_results([score_prediction(_as_prediction(pair)) for pair in pairs])


def scores_from_results(results: Sequence[RewardResult]) -> ToolUseScores:
    """TS / PI / CF and the mean reward of turns already scored."""
    if not results:
        raise ValueError("no predictions to score")
    count = len(results)
    hits = [metric_hits(r.category) for r in results]
    rates = {metric: sum(hit[metric] for hit in hits) / count for metric in METRICS}
    return ToolUseScores(count=count, mean_reward=sum(r.score for r in results) / count, **rates)


def _as_prediction(pair: PredictionLike) -> Prediction:
    if isinstance(pair, Prediction):
        return pair
    predicted, gold, tools = pair
    return Prediction(predicted=predicted, gold=gold, tools=list(tools))
