"""The README's tool example runs as written."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def block_after(heading: str) -> str:
    text = README.read_text()
    section = text[text.index(heading):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def test_define_a_tool_example_runs() -> None:
    namespace: dict[str, object] = {}
    exec(compile(block_after("### Define a tool"), "README-define-a-tool", "exec"), namespace)
    registry = namespace["registry"]
    assert registry.names() == ["get_weather", "lookup"]  # type: ignore[attr-defined]
    from hanlin.llm.messages import ToolCall

    result = asyncio.run(registry.execute(ToolCall(id="1", name="lookup", arguments={"key": "a"})))  # type: ignore[attr-defined]
    assert result.content == "1"
    weather = asyncio.run(registry.execute(ToolCall(id="2", name="get_weather", arguments={"city": "Paris"})))  # type: ignore[attr-defined]
    assert weather.content == '{"city":"Paris","temperature":21,"unit":"celsius"}'
