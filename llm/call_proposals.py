"""The model's side of writing calls: one call proposed at a time, under constraints.

A proposal is one call generated through a one-call grammar after the prompt and the calls
kept so far. A logits processor watches each step: it can forbid one token at one step (the
single-place change that turns a repeat into the next most likely distinct call), hold a
string value to text copied from the question (``value_copy``), and close a string or list
the model loops in (``value_loops``). It also records, per step, how far the model preferred
its choice over the runner-up and the log-probability of what it chose, which the writer
(``local_calls``) uses to order changes and to compare writings.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, Protocol

from hanlin.llm.chat_model import ToolSpec
from hanlin.llm.local_grammar import CALL_BLOCK, tool_call_grammar
from hanlin.llm.value_copy import KEY, Copying, QuestionSpans, copy_state
from hanlin.llm.value_loops import in_loop, item_in_loop

# Single-place changes tried after a repeated proposal, before the reply ends.
MAX_CHANGES = 3
# A change: the step, then the tokens barred at it (one, or a few tried one after another).
Forbid = tuple[int, ...]
# How far below the rest a barred token's logit is put: far beyond any logit's range.
BARRED = 1e4
# Per loaded model (by id and vocabulary size): each token's text; tokens grouped by their
# text in lower case, spaces stripped; the tokens whose text starts with a quote (those that
# close a string), and those that close a string and a list.
_VOCABULARY: dict[tuple[int, int], list[str]] = {}
_SPELLINGS: dict[tuple[int, int], dict[str, list[int]]] = {}
_CLOSING: dict[tuple[int, int], list[int]] = {}
_LIST_CLOSING: dict[tuple[int, int], list[int]] = {}


@dataclass
class Proposal:
    text: str
    finish_reason: str | None
    tokens: list[int]  # the tokens written, as far as the processor saw them
    margins: list[float]  # per step: log P(chosen) - log P(best other), unconstrained
    forbid: Forbid | None = None  # the step and the tokens it was written without there
    copy: Copying | None = None  # the values it copied from the question
    logprob: float = 0.0  # log P of the tokens chosen, unconstrained, the last one aside


def proposal_grammar(tool: ToolSpec) -> Any:
    """The one-call grammar proposals for ``tool`` are written in: every parameter must be
    written, so that one the question states is not skipped (a 135M model leaves optional
    ones out even when asked for them); those it does not state are dropped afterwards."""
    parameters = dict(tool.parameters)
    parameters["required"] = list(parameters.get("properties") or {})
    return tool_call_grammar([tool.model_copy(update={"parameters": parameters})], 1)


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
    starts = [m.end() for m in KEY.finditer(text, text.find("{", at + 11) + 1)]
    return [s + 1 if text[s : s + 1] == '"' else s for s in starts]


class Proposing(Protocol):
    """What the call writer needs from whatever proposes calls."""

    cancelled: threading.Event
    sampled: int

    def propose(
        self,
        prefix: list[int],
        budget: int,
        forbid: Forbid | None = None,
        copy: Copying | None = None,
    ) -> Proposal: ...

    def changes(self, proposal: Proposal, starts: list[int] | None = None) -> list[Forbid]: ...

    def tokenize(self, text: str) -> list[int]: ...

    def detokenize(self, tokens: list[int]) -> str: ...


class LlamaProposer:
    """One-call generations after a prefix, optionally forbidding one token at one step."""

    def __init__(
        self,
        llama: Any,
        grammar: Any,
        sampling: dict[str, Any],
        cancelled: threading.Event,
        question: str = "",
    ) -> None:
        self.llama = llama
        self.grammar = grammar
        self.sampling = sampling
        self.cancelled = cancelled
        self.question = question
        self.sampled = 0
        self._spans: QuestionSpans | None = None

    def _key(self) -> tuple[int, int]:
        return (id(self.llama), self.llama.n_vocab())

    def vocabulary(self) -> list[str]:
        """Every token's text, by token id."""
        key = self._key()
        if key not in _VOCABULARY:
            _VOCABULARY[key] = [self.detokenize([t]) for t in range(key[1])]
        return _VOCABULARY[key]

    def closing(self) -> list[int]:
        """The tokens whose text starts with a double quote."""
        key = self._key()
        if key not in _CLOSING:
            _CLOSING[key] = [t for t, text in enumerate(self.vocabulary()) if text[:1] == '"']
        return _CLOSING[key]

    def list_closing(self) -> list[int]:
        """The tokens that close a string and then a list: a quote, then a bracket."""
        key = self._key()
        if key not in _LIST_CLOSING:
            _LIST_CLOSING[key] = [
                t
                for t, text in enumerate(self.vocabulary())
                if text[:1] == '"' and text[1:].lstrip()[:1] == "]"
            ]
        return _LIST_CLOSING[key]

    def spans(self) -> QuestionSpans:
        """What a value copied from the question may go on with (built on first use)."""
        if self._spans is None:
            self._spans = QuestionSpans(self.question, self.vocabulary())
        return self._spans

    def spellings(self, token: int) -> list[int]:
        """``token`` and every token that differs from it only in case or surrounding
        spaces: forbidding "copper" alone, the model writes "Copper"."""
        key = self._key()
        vocabulary = self.vocabulary()
        if key not in _SPELLINGS:
            groups: dict[str, list[int]] = {}
            for t, text in enumerate(vocabulary):
                groups.setdefault(text.strip().lower(), []).append(t)
            _SPELLINGS[key] = groups
        text = vocabulary[token].strip().lower()
        return _SPELLINGS[key].get(text, [token]) if text else [token]

    def tokenize(self, text: str) -> list[int]:
        return list(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def detokenize(self, tokens: list[int]) -> str:
        return bytes(self.llama.detokenize(tokens)).decode("utf-8", "replace")

    def propose(
        self,
        prefix: list[int],
        budget: int,
        forbid: Forbid | None = None,
        copy: Copying | None = None,
    ) -> Proposal:
        """One call after ``prefix``; without ``forbid``'s tokens at its step, and with the
        string values of the parameters in ``copy`` copied from the question."""
        import numpy as np
        from llama_cpp import LogitsProcessorList, StoppingCriteriaList

        margins: list[float] = []
        seen: list[int] = []
        written = ""
        logprob = 0.0
        last: Any = None  # the previous step's log-probabilities

        def watch(ids: Any, logits: Any) -> Any:
            nonlocal written, logprob, last
            step = len(margins)
            if step:
                seen.append(int(ids[-1]))
                written += self.detokenize(seen[-1:])
                logprob += float(last[seen[-1]])
            values = np.asarray(logits, dtype=np.float64)
            top_value = float(values.max())
            last = values - top_value - np.log(np.exp(values - top_value).sum())
            top = np.argpartition(values, -2)[-2:]
            high, low = sorted((float(values[i]) for i in top), reverse=True)
            margins.append(high - low)
            self.sampled += 1
            if forbid is not None and step == forbid[0]:
                barring = [spelling for token in forbid[1:] for spelling in self.spellings(token)]
                logits = barred(logits, barring)
            state = copy_state(written, copy.keys) if copy else None
            if copy and state is not None:
                key, content, opened = state
                allowed = self.spans().allowed(content, opened, copy.avoided(key))
                if allowed:
                    logits = barred(logits, allowed, keep=True)
            if step and in_loop(written, self.question):
                # Looping inside a string: only a token that closes it may follow.
                logits = barred(logits, self.closing(), keep=True)
            elif step and item_in_loop(written, self.question):
                # The same list item a third time: the item and the list end here.
                logits = barred(logits, self.list_closing(), keep=True)
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
        finish = choice.get("finish_reason")
        return Proposal(choice["text"], finish, seen, margins, forbid, copy, logprob)

    def changes(self, proposal: Proposal, starts: list[int] | None = None) -> list[Forbid]:
        """(step, token) pairs to forbid, one per argument value (those starting at
        ``starts``, or all), cheapest first."""
        pieces = [self.detokenize([t]) for t in proposal.tokens]
        ends = list(accumulate(len(p) for p in pieces))
        steps: list[tuple[float, int, int]] = []
        for offset in value_starts(proposal.text) if starts is None else starts:
            step = next((i for i, end in enumerate(ends) if end > offset), None)
            if step is not None and step < len(proposal.margins):
                steps.append((proposal.margins[step], step, proposal.tokens[step]))
        return [(step, token) for _margin, step, token in sorted(steps)[:MAX_CHANGES]]


def barred(logits: Any, tokens: list[int], keep: bool = False) -> Any:
    """``logits`` with ``tokens`` (or, with ``keep``, every other token) made all but
    impossible. Lowered by ``BARRED`` rather than set to minus infinity: where the grammar
    allows none of the tokens left, it still has a token to choose, where with nothing
    finite llama.cpp's grammar aborts the whole process."""
    import numpy as np

    out = np.array(logits, dtype=np.float32, copy=True)
    if keep:
        mask = np.ones(out.shape, dtype=bool)
        mask[tokens] = False
        out[mask] -= BARRED
    else:
        out[tokens] -= BARRED
    return out
