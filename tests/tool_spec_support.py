"""Small hand-written tool specs shared by the tests of the local model's tool decisions."""

from __future__ import annotations

from hanlin.llm.chat_model import ToolSpec


def spec(name: str, description: str, **params: str) -> ToolSpec:
    """A tool whose parameters (name=JSON type) are all required."""
    properties = {key: {"type": kind} for key, kind in params.items()}
    return ToolSpec(
        name=name,
        description=description,
        parameters={"type": "object", "properties": properties, "required": list(params)},
    )


WEATHER = spec("get_weather", "Current weather for a city.", city="string")
TIMER = spec("set_timer", "Start a countdown timer.", minutes="integer")
