"""Writing a small local model's tool calls one at a time, each checked before it is kept.

Left to end a reply itself, SmolLM2-135M stops after one call even when the question asks
for three ("the factorial of 5, 10 and 15"); asked for another, it writes the first again.
So the model proposes one call at a time through a one-call grammar, and hanlin keeps a
proposal only when ``Grounding`` allows it: the first call must take its values from the
question, each further call must bring a value of the question that no earlier call used.

When a further proposal only repeats, the next ones each change it in one place: at the
start of one argument's value, the token the model chose is forbidden and it writes on from
there. The places are tried cheapest first, by how little the model preferred its choice
over the runner-up, which approximates the next most likely distinct call (the one-deviation
step of k-best decoding). A reply ends when no proposal passes; a first call that fails
means no call at all.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from hanlin.llm.call_grounding import Grounding, words_of
from hanlin.llm.chat_model import ToolSpec
from hanlin.llm.local_grammar import CALL_BLOCK

# Single-place changes tried after a repeated proposal, before the reply ends.
MAX_CHANGES = 3
# Per loaded model (by id and vocabulary size): tokens grouped by their text in lower case,
# spaces stripped.
_SPELLINGS: dict[tuple[int, int], dict[str, list[int]]] = {}
_VALUE_START = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:\s*')


@dataclass
class GroundedCalls:
    """What the proposals left: the kept blocks' text, the tokens sampled for all of them,
    and whether generation stopped on the token budget."""

    blocks: list[str] = field(default_factory=list)
    sampled: int = 0
    out_of_tokens: bool = False
    cut_off: str = ""  # the proposal the token budget cut short, if that ended the reply

    @property
    def text(self) -> str:
        return "\n".join(self.blocks)


@dataclass
class Proposal:
    text: str
    finish_reason: str | None
    tokens: list[int]  # the tokens written, as far as the processor saw them
    margins: list[float]  # per step: log P(chosen) - log P(best other), unconstrained


def call_of(text: str) -> dict[str, Any] | None:
    """The ``{"name", "arguments"}`` object inside one generated block, if it is whole."""
    match = CALL_BLOCK.search(text)
    if match is None:
        return None
    try:
        call = json.loads(match.group(1))
    except ValueError:
        return None
    return call if isinstance(call, dict) and isinstance(call.get("arguments"), dict) else None


def value_starts(text: str) -> list[int]:
    """Character offsets where the values of the arguments object begin: a string's first
    character, past its opening quote (the quote is the only character the grammar allows
    there, so it cannot be forbidden)."""
    at = text.find('"arguments"')
    if at < 0:
        return []
    starts = [m.end() for m in _VALUE_START.finditer(text, text.find("{", at + 11) + 1)]
    return [s + 1 if text[s : s + 1] == '"' else s for s in starts]


class _Proposer:
    """One-call generations after a prefix, optionally forbidding one token at one step."""

    def __init__(
        self, llama: Any, grammar: Any, sampling: dict[str, Any], cancelled: threading.Event
    ) -> None:
        self.llama = llama
        self.grammar = grammar
        self.sampling = sampling
        self.cancelled = cancelled
        self.sampled = 0

    def spellings(self, token: int) -> list[int]:
        """``token`` and every token that differs from it only in case or surrounding
        spaces: forbidding "copper" alone, the model writes "Copper"."""
        key = (id(self.llama), self.llama.n_vocab())
        if key not in _SPELLINGS:
            groups: dict[str, list[int]] = {}
            for t in range(self.llama.n_vocab()):
                text = self.llama.detokenize([t]).decode("utf-8", "replace").strip().lower()
                groups.setdefault(text, []).append(t)
            _SPELLINGS[key] = groups
        text = self.llama.detokenize([token]).decode("utf-8", "replace").strip().lower()
        return _SPELLINGS[key].get(text, [token]) if text else [token]

    def tokenize(self, text: str) -> list[int]:
        return list(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def propose(
        self, prefix: list[int], budget: int, forbid: tuple[int, int] | None = None
    ) -> Proposal:
        import numpy as np
        from llama_cpp import LogitsProcessorList, StoppingCriteriaList

        margins: list[float] = []
        seen: list[int] = []

        def watch(ids: Any, logits: Any) -> Any:
            step = len(margins)
            if step:
                seen.append(int(ids[-1]))
            values = np.asarray(logits, dtype=np.float64)
            top = np.argpartition(values, -2)[-2:]
            high, low = sorted((float(values[i]) for i in top), reverse=True)
            margins.append(high - low)
            self.sampled += 1
            if forbid is not None and step == forbid[0]:
                logits = np.array(logits, copy=True)
                logits[self.spellings(forbid[1])] = -np.inf
            return logits

        completion = self.llama.create_completion(
            prefix,
            max_tokens=budget,
            grammar=self.grammar,
            logits_processor=LogitsProcessorList([watch]),
            stopping_criteria=StoppingCriteriaList([lambda _i, _l: self.cancelled.is_set()]),
            **self.sampling,
        )
        choice = completion["choices"][0]
        return Proposal(choice["text"], choice.get("finish_reason"), seen, margins)

    def changes(self, proposal: Proposal) -> list[tuple[int, int]]:
        """(step, token) pairs to forbid, one per argument value, cheapest first."""
        pieces = [self.llama.detokenize([t]).decode("utf-8", "replace") for t in proposal.tokens]
        ends = list(accumulate(len(p) for p in pieces))
        steps: list[tuple[float, int, int]] = []
        for offset in value_starts(proposal.text):
            step = next((i for i, end in enumerate(ends) if end > offset), None)
            if step is not None and step < len(proposal.margins):
                steps.append((proposal.margins[step], step, proposal.tokens[step]))
        return [(step, token) for _margin, step, token in sorted(steps)[:MAX_CHANGES]]


def write_grounded_calls(
    llama: Any,
    tokens: list[int],
    grammar: Any,
    *,
    question: str,
    tool: ToolSpec,
    max_calls: int,
    max_tokens: int,
    sampling: dict[str, Any],
    cancelled: threading.Event,
    on_block: Callable[[str], None],
) -> GroundedCalls:
    """Propose calls to ``tool`` after ``tokens`` until none passes its check or
    ``max_calls`` are kept; ``on_block`` sees each kept block as it is kept. ``max_tokens``
    bounds the reply (the kept blocks); proposals that fail are bounded by their number,
    at most ``1 + MAX_CHANGES`` per call."""
    writer = _CallWriter(
        _Proposer(llama, grammar, sampling, cancelled), Grounding(question), tool, tokens
    )
    result = GroundedCalls()
    while len(writer.kept) < max_calls and not cancelled.is_set():
        budget = max_tokens - writer.written
        if budget <= 0:
            result.out_of_tokens = True
            break
        proposal = writer.next_call(budget)
        if proposal is None:
            break
        if proposal.finish_reason == "length" and call_of(proposal.text) is None:
            result.out_of_tokens = True
            result.cut_off = proposal.text
            break
        block = proposal.text.strip()
        result.blocks.append(block)
        on_block(block if len(result.blocks) == 1 else "\n" + block)
    result.sampled = writer.proposer.sampled
    return result


class _CallWriter:
    """The calls kept so far and how the next one is found."""

    def __init__(
        self, proposer: _Proposer, grounding: Grounding, tool: ToolSpec, tokens: list[int]
    ) -> None:
        self.proposer, self.grounding, self.tool = proposer, grounding, tool
        self.prefix = tokens
        self.kept: list[dict[str, Any]] = []
        self.written = 0
        # Words split at underscores too, so "set_timer" gives "set" and "timer".
        properties = " ".join(map(str, tool.parameters.get("properties", {})))
        self.known = words_of(f"{tool.name} {tool.description} {properties}")

    def passes(self, call: dict[str, Any] | None) -> bool:
        if call is None:
            return False
        arguments, schema = call["arguments"], self.tool.parameters
        if self.kept:
            return bool(self.grounding.novel_values(arguments, self.kept, schema, self.known))
        return self.grounding.is_grounded(arguments, schema)

    def next_call(self, budget: int) -> Proposal | None:
        """The next proposal that passes (then kept), or ``None``; a proposal cut off by
        the budget is returned as it is, for the caller to see why it ended."""
        proposal = self.proposer.propose(self.prefix, budget)
        call = call_of(proposal.text)
        if call is None:
            return proposal if proposal.finish_reason == "length" else None
        if self.kept and not self.passes(call):
            for forbid in self.proposer.changes(proposal):
                if self.proposer.cancelled.is_set():
                    return None
                proposal = self.proposer.propose(self.prefix, budget, forbid)
                call = call_of(proposal.text)
                if self.passes(call):
                    break
        if call is None or not self.passes(call):
            return None
        self.kept.append(call["arguments"])
        written = proposal.text.strip()
        self.written += len(proposal.tokens) + 1
        separator = "\n" if len(self.kept) > 1 else ""
        self.prefix = self.prefix + self.proposer.tokenize(separator + written + "\n")
        return proposal
