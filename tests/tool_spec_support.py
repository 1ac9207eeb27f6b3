"""Small hand-written tool specs shared by the tests of the local model's tool decisions."""

from __future__ import annotations

from typing import Any

from hanlin.llm.chat_model import ToolSpec


def spec(
    name: str, description: str, optional: tuple[str, ...] = (), **params: str | dict[str, Any]
) -> ToolSpec:
    """A tool whose parameters (name=JSON type, or name=schema) are required unless named in
    ``optional``."""
    properties = {
        key: {"type": kind} if isinstance(kind, str) else kind for key, kind in params.items()
    }
    required = [key for key in params if key not in optional]
    return ToolSpec(
        name=name,
        description=description,
        parameters={"type": "object", "properties": properties, "required": required},
    )


WEATHER = spec("get_weather", "Current weather for a city.", city="string")
TIMER = spec("set_timer", "Start a countdown timer.", minutes="integer")
