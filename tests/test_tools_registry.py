"""The tool registry: validation errors by category, dispatch, concurrency, results."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest
from pydantic import BaseModel, Field, ValidationError
from tools_support import Color, Point, add, call, paint_points  # noqa: F401

from hanlin.llm.messages import ToolCall, ToolMessage
from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.tools import Tool, Toolkit, ToolRegistry, format_result, tool
from hanlin.tools.builtin import MATH, calculator

# ------------------------------------------------------------------ Tool subclasses


class WeatherLookup(Tool):
    """Look up the weather for a city."""

    class Args(BaseModel):
        city: str = Field(description="City name.")
        days: int = Field(1, ge=1, le=7)

    def __init__(self, units: str) -> None:
        self.units = units
        self.seen: list[str] = []

    async def run(self, args: WeatherLookup.Args) -> str:
        self.seen.append(args.city)
        return f"{args.city}: 21 {self.units} for {args.days} day(s)"


class Search(Tool):
    name = "search"
    description = "Search documents."

    class Args(BaseModel):
        query: str = Field(alias="q", description="Words to find.")

    def run(self, args: Search.Args) -> list[str]:  # sync: runs in a worker thread
        return [args.query.upper(), threading.current_thread().name]


async def test_tool_subclass_with_configuration() -> None:
    weather = WeatherLookup(units="°C")
    assert weather.name == "weather_lookup"
    assert weather.description == "Look up the weather for a city."
    assert weather.spec.parameters["properties"]["days"] == {
        "type": "integer",
        "default": 1,
        "minimum": 1,
        "maximum": 7,
    }
    registry = ToolRegistry([weather])
    result = await registry.execute(call("weather_lookup", city="Oslo", days=3))
    assert not result.is_error
    assert result.content == "Oslo: 21 °C for 3 day(s)"
    assert weather.seen == ["Oslo"]
    assert await weather.invoke({"city": "Rome"}) == "Rome: 21 °C for 1 day(s)"
    with pytest.raises(ValidationError):
        await weather.invoke({"city": "Rome", "days": 0})


async def test_alias_and_name_both_work_and_together_are_redundant() -> None:
    registry = ToolRegistry([Search()])
    by_alias = await registry.execute(call("search", q="cats"))
    by_name = await registry.execute(call("search", query="dogs"))
    assert by_alias.content.startswith('["CATS",') and by_name.content.startswith('["DOGS",')
    assert threading.current_thread().name not in by_alias.content  # ran off the loop thread
    both = await registry.execute(call("search", q="cats", query="dogs"))
    assert both.is_error and both.error is not None
    assert both.error.kind is ToolErrorKind.REDUNDANT_PARAMETER
    assert "'q', 'query' all mean 'q'" in both.error.message
    assert both.error.options == ["q"]


# ------------------------------------------------------------------ error categories


@pytest.fixture
def registry() -> ToolRegistry:
    @tool
    def explode(reason: str) -> str:
        """Always fails."""
        raise RuntimeError(f"boom: {reason}")

    return ToolRegistry([add, paint_points, explode, calculator])


async def test_unknown_tool_suggests_close_names(registry: ToolRegistry) -> None:
    result = await registry.execute(call("calculater", expression="1"))
    assert result.is_error and result.error is not None
    assert result.error.kind is ToolErrorKind.UNKNOWN_TOOL
    assert result.error.options == ["calculator"]
    assert result.content == (
        "Error (unknown_tool): There is no tool named 'calculater'. Valid options: calculator."
    )
    far = await registry.execute(call("weather"))
    assert far.error is not None and far.error.options == registry.names()


async def test_hallucinated_parameter_names_it_and_lists_valid_ones(registry: ToolRegistry) -> None:
    result = await registry.execute(call("add", a=1, bb=2, sum=True))
    error = result.error
    assert error is not None and error.kind is ToolErrorKind.HALLUCINATED_PARAMETER
    assert "add has no parameter 'bb' (did you mean 'b'?), 'sum'" in error.message
    assert "a (integer, required): The first number" in error.message
    assert error.options == ["a", "b"]
    assert error.tool_name == "add" and error.call_id == "c1"


async def test_missing_parameter_names_it(registry: ToolRegistry) -> None:
    error = registry.validate(call("add", b=3))
    assert error is not None and error.kind is ToolErrorKind.MISSING_PARAMETER
    assert error.message == ("add is missing the required parameter a (integer): The first number.")
    assert error.options == ["a"]


async def test_invalid_value_is_readable_with_expected_type(registry: ToolRegistry) -> None:
    error = registry.validate(call("add", a="seven"))
    assert error is not None and error.kind is ToolErrorKind.INVALID_VALUE
    assert "'a': Input should be a valid integer" in error.message
    assert "got 'seven'; expected integer" in error.message

    enum_error = registry.validate(call("paint", points=[{"x": 1}], finish="shiny"))
    assert enum_error is not None and enum_error.kind is ToolErrorKind.INVALID_VALUE
    assert "expected one of 'matte', 'gloss'" in enum_error.message
    assert enum_error.options == ["matte", "gloss"]

    bound = registry.validate(call("paint", points=[{"x": 1}], coats=9))
    assert bound is not None and "less than or equal to 5" in bound.message

    nested = registry.validate(call("paint", points=[{"x": "left"}]))
    assert nested is not None and "'points.0.x'" in nested.message


async def test_tool_raised_reports_type_and_message_without_traceback(
    registry: ToolRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="hanlin.tools.registry"):
        result = await registry.execute(call("explode", reason="disk full"))
    error = result.error
    assert error is not None and error.kind is ToolErrorKind.TOOL_RAISED
    assert error.message == "explode failed: RuntimeError: boom: disk full"
    assert "Traceback" not in result.content
    logged = [r for r in caplog.records if r.exc_info]
    assert logged and isinstance(logged[0].exc_info[1], RuntimeError)  # type: ignore[index]
    # The registry keeps working after a failure.
    assert (await registry.execute(call("add", a=40))).content == "42"


async def test_valid_call_validates_to_none_and_does_not_run(registry: ToolRegistry) -> None:
    ran: list[int] = []

    @tool
    def record(n: int) -> int:
        """Record n."""
        ran.append(n)
        return n

    registry.register(record)
    assert registry.validate(call("record", n=1)) is None
    assert ran == []
    assert registry.validate(call("record", n="1")) is None  # lax mode: "1" is an int


async def test_timeout_stops_waiting_for_async_and_sync_tools() -> None:
    @tool(timeout=0.2)
    async def slow_async() -> str:
        """Sleeps."""
        await asyncio.sleep(5)
        return "late"

    @tool
    def slow_sync() -> str:
        """Blocks."""
        time.sleep(1.0)
        return "late"

    registry = ToolRegistry([slow_async, slow_sync], default_timeout=0.2)
    started = time.perf_counter()
    results = await registry.execute_many([call("slow_async", "1"), call("slow_sync", "2")])
    elapsed = time.perf_counter() - started
    assert elapsed < 0.8
    for result, name in zip(results, ["slow_async", "slow_sync"], strict=True):
        assert result.error is not None and result.error.kind is ToolErrorKind.TIMED_OUT
        assert f"{name} did not finish within 0.2 s" in result.error.message


async def test_tool_raising_timeout_error_is_not_a_time_out() -> None:
    @tool(timeout=5)
    async def flaky() -> str:
        """Raises TimeoutError from inside."""
        raise TimeoutError("upstream took too long")

    result = await ToolRegistry([flaky]).execute(call("flaky"))
    assert result.error is not None and result.error.kind is ToolErrorKind.TOOL_RAISED
    assert "TimeoutError: upstream took too long" in result.error.message


# ------------------------------------------------------------------ concurrency


async def test_execute_many_runs_concurrently_in_call_order() -> None:
    def sleeper(name: str, seconds: float) -> Tool:
        async def run() -> str:
            await asyncio.sleep(seconds)
            return name

        run.__doc__ = "Sleep."
        return tool(name=name)(run)

    registry = ToolRegistry([sleeper("one", 0.3), sleeper("two", 0.3), sleeper("three", 0.3)])
    calls = [call("three", "c3"), call("one", "c1"), call("two", "c2"), call("nope", "c4")]
    started = time.perf_counter()
    results = await registry.execute_many(calls)
    elapsed = time.perf_counter() - started
    assert 0.29 <= elapsed < 0.6, elapsed  # sequential would take 0.9 s
    assert [r.call_id for r in results] == ["c3", "c1", "c2", "c4"]
    assert [r.content for r in results[:3]] == ["three", "one", "two"]
    assert results[3].is_error and not any(r.is_error for r in results[:3])
    assert all(0.29 <= r.duration_s < 0.6 for r in results[:3])


async def test_sync_tool_does_not_block_the_event_loop() -> None:
    @tool
    def blocking(seconds: float) -> str:
        """Blocks the calling thread."""
        time.sleep(seconds)
        return "done"

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    started = time.perf_counter()
    results = await ToolRegistry([blocking]).execute_many(
        [call("blocking", str(i), seconds=0.3) for i in range(3)]
    )
    elapsed = time.perf_counter() - started
    ticking.cancel()
    assert [r.content for r in results] == ["done"] * 3
    assert elapsed < 0.6, elapsed
    assert ticks >= 10  # the loop kept running while the tools slept


# ------------------------------------------------------------------ results


def test_result_formatting() -> None:
    assert format_result("plain") == "plain"
    assert format_result({"城市": "北京", "n": [1, 2]}) == '{"城市":"北京","n":[1,2]}'
    assert format_result(Point(x=1.5)) == '{"x":1.5,"y":0.0}'
    assert format_result([Point(x=1)]) == '[{"x":1.0,"y":0.0}]'
    assert format_result(42) == "42"
    assert format_result(None) == "(no output)"


async def test_long_results_are_truncated_with_marker() -> None:
    @tool
    def dump(n: int) -> str:
        """Returns n characters."""
        return "x" * n

    registry = ToolRegistry([dump], max_result_chars=100)
    result = await registry.execute(call("dump", n=12445))
    assert result.truncated
    assert result.content == "x" * 100 + "\n…[truncated 12345 more characters]"
    short = await registry.execute(call("dump", n=100))
    assert not short.truncated and short.content == "x" * 100


async def test_structured_result_and_tool_message(registry: ToolRegistry) -> None:
    result = await registry.execute(call("paint", "p1", points=[{"x": 2}], color="blue"))
    assert result.content == (
        '{"n":1,"first_x":2.0,"color":"blue","finish":"matte","coats":1,"label":null}'
    )
    assert result.to_message() == ToolMessage(
        tool_call_id="p1", name="paint", content=result.content
    )
    failed = await registry.execute(call("add", "p2"))
    message = failed.to_message()
    assert message.is_error and message.error_kind == "missing_parameter"
    assert message.content.startswith("Error (missing_parameter): add is missing")


# ------------------------------------------------------------------ registry contents


def test_register_subset_specs_and_toolkits() -> None:
    registry = ToolRegistry([add, paint_points, WeatherLookup(units="K")])
    registry.register(MATH)
    assert registry.names() == ["add", "paint", "weather_lookup", "calculator"]
    assert registry.toolkits() == ["math"]
    assert [s.name for s in registry.specs(["math", "add"])] == ["calculator", "add"]

    sub = registry.subset(["add", "math"])
    assert sub.names() == ["add", "calculator"]
    assert sub.toolkits() == ["math"]
    assert sub.default_timeout == registry.default_timeout
    assert sub.get("paint") is None and registry.get("paint") is paint_points

    with pytest.raises(KeyError, match="did you mean 'paint'"):
        registry.subset(["pain"])
    with pytest.raises(ValueError, match="already registered"):
        registry.register(tool(name="add")(add.fn))
    registry.register(add)  # the same tool again is fine
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Toolkit("add", [add]))


async def test_subset_only_executes_its_own_tools() -> None:
    sub = ToolRegistry([add, calculator]).subset(["calculator"])
    result = await sub.execute(call("add", a=1))
    assert result.error is not None and result.error.kind is ToolErrorKind.UNKNOWN_TOOL
    assert (await sub.execute(call("calculator", expression="6*7"))).content == "42"


async def test_args_model_that_allows_extra_keys_receives_them() -> None:
    class Echo(Tool):
        """Echo every argument back."""

        class Args(BaseModel):
            model_config = {"extra": "allow"}
            text: str

        def run(self, args: BaseModel) -> dict[str, object]:
            return args.model_dump()

    result = await ToolRegistry([Echo()]).execute(call("echo", text="hi", mood="calm"))
    assert result.content == '{"text":"hi","mood":"calm"}'


async def test_tool_failure_chooses_its_category_and_logs_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from hanlin.tools.failure import ToolFailure

    @tool
    def lookup(key: str) -> str:
        """Look a key up."""
        raise ToolFailure(f"no entry named {key!r}; known keys: a, b", ToolErrorKind.INVALID_VALUE)

    with caplog.at_level("INFO", logger="hanlin.tools.registry"):
        result = await ToolRegistry([lookup]).execute(
            ToolCall(id="1", name="lookup", arguments={"key": "z"})
        )
    assert result.error is not None and result.error.kind is ToolErrorKind.INVALID_VALUE
    assert (
        result.content
        == "Error (invalid_value): lookup failed: ToolFailure: no entry named 'z'; known keys: a, b"
    )
    assert all(record.exc_info is None for record in caplog.records)
