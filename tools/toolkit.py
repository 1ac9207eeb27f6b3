"""Named groups of tools, so an agent can be given ``["math", "web"]`` instead of every name."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from hanlin.tools.tool import Tool, as_tool


class Toolkit:
    """A named, ordered group of tools. Registering it registers each tool and the group name."""

    def __init__(
        self, name: str, tools: Iterable[Tool | Callable[..., Any]], description: str = ""
    ) -> None:
        if not name:
            raise ValueError("a toolkit needs a name")
        self.name = name
        self.description = description
        self.tools: tuple[Tool, ...] = tuple(as_tool(t) for t in tools)
        seen: set[str] = set()
        for member in self.tools:
            if member.name in seen:
                raise ValueError(f"toolkit {name!r} lists tool {member.name!r} twice")
            seen.add(member.name)

    def names(self) -> list[str]:
        return [member.name for member in self.tools]

    def __iter__(self) -> Iterator[Tool]:
        return iter(self.tools)

    def __len__(self) -> int:
        return len(self.tools)

    def __repr__(self) -> str:
        return f"<Toolkit {self.name!r}: {', '.join(self.names())}>"
