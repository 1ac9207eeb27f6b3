"""Tools and helpers shared by the registry and schema tests."""

from __future__ import annotations

import enum
from typing import Annotated, Literal, Optional

from pydantic import BaseModel, Field

from hanlin.llm.messages import ToolCall
from hanlin.tools import tool


def call(name: str, call_id: str = "c1", **arguments: object) -> ToolCall:
    return ToolCall(id=call_id, name=name, arguments=dict(arguments))


# ------------------------------------------------------------------ tools used below


@tool
def add(a: int, b: int = 2) -> int:
    """Add two integers.

    Longer text that the model does not need.

    Args:
        a: The first number.
        b: The second number,
            which defaults to two.
    """
    return a + b


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Point(BaseModel):
    x: float
    y: float = 0.0


@tool(name="paint", description="Paint points.", timeout=3.0, requires_approval=True)
async def paint_points(
    points: list[Point],
    color: Color = Color.RED,
    finish: Literal["matte", "gloss"] = "matte",
    coats: Annotated[int, Field(ge=1, le=5)] = 1,
    label: Optional[str] = None,  # noqa: UP045 - the typing.Optional spelling is supported
) -> dict[str, object]:
    """:param points: Where to paint.
    :param color: Which paint.
    """
    return {
        "n": len(points),
        "first_x": points[0].x,
        "color": color.value,
        "finish": finish,
        "coats": coats,
        "label": label,
    }
