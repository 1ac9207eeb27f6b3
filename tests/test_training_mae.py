"""MAE: erroneous steps found from the feedback that follows them, as eq. 8.1 requires."""

from __future__ import annotations

import pytest

from hanlin.agents.agent import Agent
from hanlin.llm.chat_model import ChatResult, Completed
from hanlin.llm.messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from hanlin.llm.scripted import ScriptedModel
from hanlin.llm.tool_errors import ToolCallError, ToolErrorKind
from hanlin.runtime.runner import Runner
from hanlin.training.data.error_steps import (
    erroneous_steps,
    error_in_text,
    explain_erroneous_steps,
    normalise,
    without_erroneous_steps,
)
from hanlin.training.data.recorded_runs import trajectory_from_runner
from hanlin.training.data.samples import split_into_samples
from hanlin.training.data.synthetic import generate_examples
from hanlin.training.data.tool_catalogue import catalogue_registry, catalogue_tool
from hanlin.training.data.trajectory import Trajectory


def _trajectory(*feedback: str, calls_per_turn: int = 1) -> Trajectory:
    """Query, then one turn per feedback text (plain tool output, no error flag), then an answer."""
    messages: list[Message] = [SystemMessage(content="s"), UserMessage(content="find papers")]
    for n, text in enumerate(feedback):
        calls = [
            ToolCall(id=f"c{n}-{k}", name="get_paper_details", arguments={})
            for k in range(calls_per_turn)
        ]
        messages.append(AssistantMessage(tool_calls=calls))
        messages += [
            ToolMessage(tool_call_id=c.id, name=c.name, content=text if k == 0 else "{}")
            for k, c in enumerate(calls)
        ]
    messages.append(AssistantMessage(content="done"))
    return Trajectory(id="t", messages=messages)


def test_mae_flags_exactly_the_injected_steps_on_300_synthetic_trajectories() -> None:
    examples = generate_examples(300, 0)
    truth = {(e.trajectory.id, i) for e in examples for i in e.injected}
    found = {(e.trajectory.id, i) for e in examples for i in erroneous_steps(e.trajectory)}
    assert len(truth) >= 40
    hits = len(truth & found)
    precision, recall = hits / len(found), hits / len(truth)
    assert (precision, recall) == (1.0, 1.0)


def test_mae_needs_no_error_flag_on_synthetic_feedback_either() -> None:
    """Drop is_error/error_kind: hanlin's error text alone identifies the same steps."""
    examples = generate_examples(300, 0)
    for example in examples:
        stripped = [
            m.model_copy(update={"is_error": False, "error_kind": None})
            if isinstance(m, ToolMessage)
            else m
            for m in example.trajectory.messages
        ]
        bare = example.trajectory.model_copy(update={"messages": stripped})
        assert erroneous_steps(bare) == set(example.injected)


@pytest.mark.parametrize(
    "feedback",
    [
        "name getPaperByDetail is not defined",
        "TypeError: get_paper_details() missing 1 positional argument: 'query'",
        "get_paper_details() got an unexpected keyword argument 'paperID'",
        "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.example.com')",
        "400 Client Error: Bad Request for url: https://api.example.com/papers",
        '{"error": "quota exhausted"}',
        "{'error': 'Invalid API call'}",
        "Response error",
        'Traceback (most recent call last):\n  File "x.py", line 1',
        "KeyError: 'related_searches'",
        "HTTP 503 Service Unavailable",
        "Error (missing_parameter): get_paper_details is missing the required parameter paper_id.",
    ],
)
def test_reference_and_common_error_feedback_is_detected(feedback: str) -> None:
    trajectory = _trajectory(feedback)
    assert erroneous_steps(trajectory) == {2}
    assert error_in_text(feedback) in explain_erroneous_steps(trajectory)[2]


@pytest.mark.parametrize(
    "feedback",
    [
        '{"title":"Error-Correcting Codes for Noisy Channels","year":1950}',
        '{"city":"Paris","condition":"light rain","temperature":8.0}',
        "42",
        '{"status":"created","event_id":"evt-00412"}',
    ],
)
def test_ordinary_results_are_not_errors(feedback: str) -> None:
    assert erroneous_steps(_trajectory(feedback)) == set()
    assert error_in_text(feedback) is None


def test_normalisation_matches_the_reference() -> None:
    flat = normalise("Missing 1 positional-argument: 'query' 查询!")
    assert flat == "missing1positionalargumentquery查询"
    assert error_in_text("MISSING 1 POSITIONAL ARGUMENT") is not None


def test_a_turn_with_several_calls_is_erroneous_if_any_call_failed() -> None:
    trajectory = _trajectory('{"ok": 1}', "name foo is not defined", calls_per_turn=2)
    assert erroneous_steps(trajectory) == {5}  # the second turn: its first call failed
    assert 2 not in erroneous_steps(trajectory)


def test_the_last_turn_is_never_erroneous() -> None:
    messages: list[Message] = [
        UserMessage(content="q"),
        AssistantMessage(content="name x is not defined"),
    ]
    assert erroneous_steps(Trajectory(id="t", messages=messages)) == set()


async def test_runtime_feedback_for_an_unreadable_reply_marks_that_turn() -> None:
    class Garbled(ScriptedModel):
        async def stream(self, messages, *, tools=(), options=None):  # type: ignore[override]
            if not self.calls:
                self.calls.append(list(messages))
                error = ToolCallError(kind=ToolErrorKind.UNPARSABLE, message="broken JSON")
                yield Completed(
                    result=ChatResult(
                        message=AssistantMessage(content="<tool_call>{oops"), tool_errors=[error]
                    )
                )
                return
            async for item in super().stream(messages, tools=tools, options=options):
                yield item

    runner = Runner(
        Agent(
            name="a",
            model=Garbled(["It is 8 degrees."]),
            tools=[catalogue_tool("get_weather_current")],
        )
    )
    await runner.run("t", "Weather in Paris?")
    trajectory = await trajectory_from_runner(runner, "t")
    assert erroneous_steps(trajectory) == {2}
    assert "runtime feedback" in explain_erroneous_steps(trajectory)[2]
    assert [s.step for s in split_into_samples(trajectory, mask_erroneous=True)] == [4]


async def test_flags_on_tool_messages_count_whatever_the_text() -> None:
    registry = catalogue_registry(["get_weather_current"])
    failed = await registry.execute(
        ToolCall(id="c0", name="get_weather_current", arguments={"city": 3})
    )
    turns = [
        (failed.to_message(), "invalid_value"),
        (
            ToolMessage(
                tool_call_id="c1",
                name="get_weather_current",
                content="not now",
                is_error=True,
                error_kind="rejected",
            ),
            "rejected",
        ),
        (
            ToolMessage(
                tool_call_id="c2", name="get_weather_current", content="no luck", is_error=True
            ),
            "an error",
        ),
    ]
    messages: list[Message] = [UserMessage(content="weather?")]
    for n, (result, _) in enumerate(turns):
        messages += [
            AssistantMessage(
                tool_calls=[ToolCall(id=f"c{n}", name="get_weather_current", arguments={})]
            ),
            result,
        ]
    messages.append(AssistantMessage(content="sorry"))
    reasons = explain_erroneous_steps(Trajectory(id="t", messages=messages))
    assert reasons == {
        1: "get_weather_current: tool reported invalid_value",
        3: "get_weather_current: tool reported rejected",
        5: "get_weather_current: tool reported an error",
    }


def test_without_erroneous_steps_leaves_the_clean_path() -> None:
    example = next(
        e for e in generate_examples(200, 2, error_rate=0.6) if e.kind == "parallel" and e.injected
    )
    clean = without_erroneous_steps(example.trajectory)
    assert erroneous_steps(clean) == set()
    removed = len(example.trajectory.messages) - len(clean.messages)
    assert removed == 3  # the failed turn and the results of its two calls
    assert all(not (isinstance(m, ToolMessage) and m.is_error) for m in clean.messages)
