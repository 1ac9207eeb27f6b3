"""A scripted proposer for the call writer's tests: the model's side, written by hand."""

from __future__ import annotations

import json
import threading
from typing import Any

from tool_spec_support import spec

from hanlin.llm.call_proposals import Forbid, Proposal
from hanlin.llm.chat_model import ToolSpec
from hanlin.llm.local_calls import write_calls
from hanlin.llm.value_copy import Copying

FORECAST = spec(
    "forecast",
    "The weather forecast for a city.",
    optional=("unit",),
    city="string",
    days="integer",
    unit={"type": "string", "enum": ["celsius", "fahrenheit"]},
)
INVEST = spec(
    "future_value",
    "The future value of an investment.",
    optional=("monthly",),
    amount="number",
    rate="number",
    years="integer",
    monthly="boolean",
)


def block(name: str, arguments: dict[str, Any]) -> str:
    return "<tool_call>\n" + json.dumps({"name": name, "arguments": arguments}) + "\n</tool_call>"


class Scripted:
    """Proposes the given calls in order, then repeats the last one. Asked to copy values,
    it writes its last proposal again, or what ``copies`` holds for those parameters (with
    the likelihood ``likelihoods`` gives it)."""

    def __init__(
        self,
        *calls: tuple[str, dict[str, Any]],
        copies: dict[frozenset[str], tuple[str, dict[str, Any]]] | None = None,
        likelihoods: dict[frozenset[str], float] | None = None,
    ) -> None:
        self.calls = [block(name, arguments) for name, arguments in calls]
        self.copies = {keys: block(*call) for keys, call in (copies or {}).items()}
        self.likelihoods = likelihoods or {}
        self.copied: list[Copying] = []
        self.last = ""
        self.cancelled = threading.Event()
        self.sampled = 0
        self.prefixes: list[list[int]] = []

    def propose(
        self,
        prefix: list[int],
        budget: int,
        forbid: Forbid | None = None,
        copy: Copying | None = None,
    ) -> Proposal:
        self.prefixes.append(prefix)
        self.sampled += 10
        if copy:
            self.copied.append(copy)
            text = self.copies.get(copy.keys, self.last)
            logprob = self.likelihoods.get(copy.keys, 0.0)
            return Proposal(text, "stop", [1] * 10, [1.0] * 10, None, copy, logprob)
        text = self.calls.pop(0) if len(self.calls) > 1 else self.calls[0]
        self.last = text
        return Proposal(text, "stop", [1] * 10, [1.0] * 10)

    def changes(self, proposal: Proposal, starts: list[int] | None = None) -> list[Forbid]:
        return []

    def tokenize(self, text: str) -> list[int]:
        return [ord(c) for c in text]

    def detokenize(self, tokens: list[int]) -> str:
        return "".join(map(chr, tokens))


def written(proposer: Scripted, question: str, tool: ToolSpec) -> tuple[list[dict], list[str]]:
    shown: list[str] = []
    result = write_calls(proposer, [0], question, tool, 4, 400, shown.append)
    calls = [json.loads(b.split("\n")[1])["arguments"] for b in result.blocks]
    assert "".join(shown) == result.text  # each kept block is shown once, in order
    return calls, shown
