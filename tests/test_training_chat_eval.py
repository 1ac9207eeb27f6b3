"""Scoring a model through the chat backend agents use: the same categories as the training
evaluation, bounded concurrency, clear failures, and the embedded llama.cpp model end to end."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hanlin.cli.train_command import train_app
from hanlin.llm.chat_model import (
    BaseChatModel,
    ChatOptions,
    ChatResult,
    Completed,
    ModelError,
    StreamItem,
    ToolSpec,
)
from hanlin.llm.local_prompt import render_tool_call
from hanlin.llm.messages import AssistantMessage, Message, ToolCall, UserMessage
from hanlin.llm.scripted import ScriptedModel, call
from hanlin.llm.tool_errors import ToolCallError, ToolErrorKind
from hanlin.training.config import load_config
from hanlin.training.data.pipeline import heldout_samples, load_split
from hanlin.training.data.samples import TrainingSample
from hanlin.training.data.tool_catalogue import catalogue_tool
from hanlin.training.evaluation.chat_eval import evaluate_chat_model, score_chat_result
from hanlin.training.rl.reward import score_tool_call

TINY = Path(__file__).resolve().parents[1] / "training" / "configs" / "tiny.toml"
WEATHER = [catalogue_tool(name).spec for name in ("get_weather_current", "get_weather_forecast")]
GOLD = call("get_weather_current", "g", city="Oslo")


def sample(query: str = "Weather in Oslo now?") -> TrainingSample:
    return TrainingSample(
        trajectory_id="t",
        tools=WEATHER,
        context=[UserMessage(content=query)],
        target=GOLD,
        erroneous=False,
        step=1,
    )


def test_text_calls_are_read_as_the_training_evaluation_reads_them() -> None:
    text = render_tool_call(
        ToolCall(id="x", name="get_weather_forcast", arguments={"city": "Oslo"})
    )
    result = ChatResult(message=AssistantMessage(content=""), raw_text=text)
    scored = score_chat_result(result, GOLD, WEATHER)
    assert scored == score_tool_call(text, GOLD, WEATHER)
    assert scored.category == "hallucinated_tool"


def test_structured_calls_and_undecodable_arguments() -> None:
    right = ChatResult(message=call("get_weather_current", "a", city="Oslo"))
    assert score_chat_result(right, GOLD, WEATHER).category == "correct"
    wrong = ChatResult(message=call("get_weather_forecast", "a", city="Oslo", days=2))
    assert score_chat_result(wrong, GOLD, WEATHER).category == "wrong_tool"
    broken = ChatResult(
        message=AssistantMessage(content=""),
        tool_errors=[
            ToolCallError(
                kind=ToolErrorKind.UNPARSABLE, message="arguments are not JSON: {city: Oslo"
            )
        ],
    )
    scored = score_chat_result(broken, GOLD, WEATHER)
    assert scored.category == "unparsable" and "not JSON" in scored.detail
    prose = ChatResult(message=AssistantMessage(content="It is sunny."), raw_text="It is sunny.")
    assert score_chat_result(prose, GOLD, WEATHER).category == "wrong_tool"


class Overlapping(BaseChatModel):
    """Answers every turn correctly after a pause, counting how many turns run at once."""

    name = "overlapping"

    def __init__(self) -> None:
        self.running = 0
        self.most = 0

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions | None = None,
    ) -> AsyncIterator[StreamItem]:
        self.running += 1
        self.most = max(self.most, self.running)
        await asyncio.sleep(0.02)
        self.running -= 1
        yield Completed(result=ChatResult(message=GOLD))


async def test_scores_records_and_bounded_concurrency(tmp_path: Path) -> None:
    model = Overlapping()
    result = await evaluate_chat_model(
        model,
        [sample() for _ in range(9)],
        concurrency=3,
        predictions_path=tmp_path / "p.jsonl",
        progress=False,
    )
    assert model.most == 3
    assert result.scores.count == 9 and result.scores.content_filling == 1.0
    lines = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert len(lines) == 9 and lines[0]["category"] == "correct"
    assert '"city": "Oslo"' in lines[0]["predicted"]

    mixed = ScriptedModel(
        [
            call("get_weather_current", "a", city="Oslo"),
            call("get_weather_current", "b", city="Bergen"),
            "No idea.",
        ]
    )
    scored = await evaluate_chat_model(
        mixed, [sample(), sample(), sample()], concurrency=1, progress=False
    )
    assert [r.category for r in scored.records] == ["correct", "content_filling", "wrong_tool"]
    assert scored.scores.tool_selection == pytest.approx(2 / 3)
    assert scored.scores.content_filling == pytest.approx(1 / 3)


async def test_a_dead_backend_is_an_error_not_a_score() -> None:
    with pytest.raises(ModelError, match="script exhausted"):
        await evaluate_chat_model(ScriptedModel([]), [sample()], progress=False)
    with pytest.raises(ValueError, match="no held-out samples"):
        await evaluate_chat_model(ScriptedModel([]), [], progress=False)


@pytest.fixture(scope="module")
def tiny_heldout() -> list[TrainingSample]:
    data = load_config(TINY).data
    return heldout_samples(load_split(data), data)


@pytest.mark.local_model
async def test_the_embedded_model_is_scored_like_the_training_evaluation(
    tiny_heldout: list[TrainingSample],
) -> None:
    from hanlin.llm.local_model import LocalModel

    samples = tiny_heldout
    result = await evaluate_chat_model(
        LocalModel(n_threads=2),
        samples,
        concurrency=2,
        progress=False,
        options=ChatOptions(max_tokens=64, temperature=0.0),
    )
    assert result.scores.count == len(samples) == 3
    for record, item in zip(result.records, samples, strict=False):
        again = score_tool_call(record.predicted, item.target, item.tools)
        assert (record.category, record.score) == (again.category.value, again.score)


@pytest.mark.local_model
def test_cli_scores_the_served_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "run.toml"
    config.write_text(
        TINY.read_text()
        .replace('output_dir = "runs/tiny"', f'output_dir = "{tmp_path / "out"}"')
        .replace("max_heldout_samples = 3", "max_heldout_samples = 1")
    )
    monkeypatch.setenv("HANLIN_MODEL__PROVIDER", "local")
    monkeypatch.setenv("HANLIN_MODEL__THREADS", "2")
    runner = CliRunner()
    result = runner.invoke(train_app, ["eval", "--config", str(config), "--served"])
    assert result.exit_code == 0, result.output
    assert "1 held-out sample: TS" in result.output
    scores = json.loads((tmp_path / "out" / "eval" / "served" / "scores.json").read_text())
    assert scores["count"] == 1 and scores["model"] == "default local model"
    both = runner.invoke(train_app, ["eval", "--config", str(config), "--served", "--model", "x"])
    assert both.exit_code == 2 and "give either --model" in both.output

    monkeypatch.setenv("HANLIN_MODEL__PROVIDER", "openai")
    monkeypatch.setenv("HANLIN_MODEL__BASE_URL", "http://127.0.0.1:9/v1")
    dead = runner.invoke(train_app, ["eval", "--config", str(config), "--served"])
    assert dead.exit_code == 2 and "the served model failed" in dead.output
