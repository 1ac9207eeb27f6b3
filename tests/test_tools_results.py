"""What a tool returns becomes text off the event loop, within its time limit, and readable."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator

from redis.asyncio import Redis
from tools_support import call

from hanlin.agents.agent import Agent
from hanlin.llm.messages import ToolMessage
from hanlin.llm.scripted import ScriptedModel
from hanlin.llm.scripted import call as scripted_call
from hanlin.llm.tool_errors import ToolErrorKind
from hanlin.runtime.runner import Runner
from hanlin.runtime.tool_journal import RedisToolJournal
from hanlin.tools import Tool, ToolRegistry, tool


async def test_generator_results_are_read_in_the_tool_thread() -> None:
    seen_in: list[str] = []

    @tool
    def rows(n: int) -> Iterator[dict[str, int]]:
        """Yields n rows."""
        for i in range(n):
            seen_in.append(threading.current_thread().name)
            yield {"i": i}

    result = await ToolRegistry([rows]).execute(call("rows", n=3))
    assert result.content == '[{"i":0},{"i":1},{"i":2}]'
    assert seen_in and threading.current_thread().name not in seen_in  # not the loop's thread


async def test_endless_generator_stops_at_the_item_limit() -> None:
    @tool
    def counter() -> Iterator[int]:
        """Counts forever."""
        n = 0
        while True:
            yield n
            n += 1

    result = await ToolRegistry([counter], max_result_chars=None).execute(call("counter"))
    limit = counter.max_items
    assert not result.is_error
    assert result.content == (
        "["
        + ",".join(str(i) for i in range(limit))
        + "]"
        + f"\n…[stopped reading after {limit} items]"
    )


async def test_async_generators_and_lazy_iterators_are_read() -> None:
    @tool
    async def words() -> AsyncIterator[str]:
        """Yields words, awaiting between them."""
        for word in ("a", "b"):
            await asyncio.sleep(0)
            yield word

    class Magnitudes(Tool):
        """Absolute values of -3..0, lazily."""

        def run(self, args: object) -> Iterator[int]:
            return map(abs, range(-3, 1))

    registry = ToolRegistry([words, Magnitudes()])
    assert (await registry.execute(call("words"))).content == '["a","b"]'
    assert (await registry.execute(call("magnitudes"))).content == "[3,2,1,0]"


class SlowText:
    """A value whose text takes a long time to make."""

    def __str__(self) -> str:
        time.sleep(1.0)
        return "slow"


async def test_turning_a_result_into_text_does_not_block_the_loop() -> None:
    @tool(timeout=5)
    async def report() -> dict[str, object]:
        """Returns a value whose text is slow to make."""
        return {"value": SlowText()}

    gaps: list[float] = []

    async def ticker() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    result = await ToolRegistry([report]).execute(call("report"))
    await asyncio.sleep(0.05)  # the ticker records the gap a blocked loop would leave
    ticking.cancel()
    assert result.content == '{"value":"slow"}'
    assert max(gaps) < 0.5, max(gaps)


async def test_a_result_whose_text_never_ends_is_timed_out() -> None:
    @tool(timeout=0.3)
    def stuck() -> SlowText:
        """Returns a value whose text takes longer than the time limit."""
        return SlowText()

    started = time.perf_counter()
    result = await ToolRegistry([stuck]).execute(call("stuck"))
    assert result.error is not None and result.error.kind is ToolErrorKind.TIMED_OUT
    assert time.perf_counter() - started < 0.8


async def test_results_that_cannot_be_written_as_text_say_so() -> None:
    @tool
    def loop_back() -> dict[str, object]:
        """Returns a dict that contains itself."""
        data: dict[str, object] = {}
        data["self"] = data
        return data

    @tool
    def huge_number() -> int:
        """Returns an integer too long for str()."""
        return 10**5000

    registry = ToolRegistry([loop_back, huge_number])
    circular = await registry.execute(call("loop_back"))
    assert circular.error is not None and circular.error.kind is ToolErrorKind.TOOL_RAISED
    assert circular.error.message.startswith(
        "loop_back returned a value of type dict that cannot be written as text: "
        "ValueError: Circular"
    )
    number = await registry.execute(call("huge_number"))
    assert number.error is not None
    assert number.error.message.startswith(
        "huge_number returned a value of type int that cannot be written as text: "
        "ValueError: Exceeds"
    )


async def test_huge_structured_result_is_cut_and_the_loop_keeps_running() -> None:
    rows = [{"row": i} for i in range(1_000_000)]  # made before the clock starts

    @tool
    def dump() -> list[dict[str, int]]:
        """Returns a million rows."""
        return rows

    gaps: list[float] = []

    async def ticker() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    result = await ToolRegistry([dump], max_result_chars=50).execute(call("dump"))
    await asyncio.sleep(0.05)  # the ticker records the gap a blocked loop would leave
    ticking.cancel()
    # Only the first 50 characters are made, in the tool's thread.
    assert max(gaps) < 0.25, max(gaps)
    assert result.duration_s < 0.25, result.duration_s
    assert result.truncated
    assert result.content == (
        '[{"row":0},{"row":1},{"row":2},{"row":3},{"row":4}'
        "\n…[truncated after 50 characters of a longer value]"
    )


@tool
def list_names() -> str:
    """Lists file names the way os.listdir decodes undecodable bytes."""
    return b"caf\xe9.txt".decode("utf-8", "surrogateescape")


@tool
def open_name() -> str:
    """Fails on a name with an undecodable byte."""
    raise FileNotFoundError(b"/data/caf\xe9".decode("utf-8", "surrogateescape"))


async def test_undecodable_text_is_escaped_so_the_run_can_be_saved(redis_url: str) -> None:
    registry = ToolRegistry([list_names, open_name])
    listed = await registry.execute(call("list_names"))
    assert listed.content == "caf\\udce9.txt"
    failed = await registry.execute(call("open_name"))
    assert (
        failed.content == "Error (tool_raised): open_name failed: FileNotFoundError: "
        "/data/caf\\udce9"
    )
    assert failed.error is not None and failed.error.message.endswith("caf\\udce9")

    client = Redis.from_url(redis_url)
    model = ScriptedModel([scripted_call("list_names", "c1"), "Final Answer: one file"])
    journal = RedisToolJournal(client, prefix=f"test:{uuid.uuid4().hex}")
    runner = Runner(Agent(name="files", model=model, tools=[list_names]), journal=journal)
    try:
        result = await runner.run("t-names", "Which files are there?")
    finally:
        await client.aclose()
    assert result.final_answer == "one file"
    observation = model.calls[1][-1]
    assert isinstance(observation, ToolMessage) and observation.content == "caf\\udce9.txt"
