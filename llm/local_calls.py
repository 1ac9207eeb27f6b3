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
means no call at all. A proposal that repeats the last kept call and adds a value the
question states ("in Celsius", left out the first time), or takes up all the question the
last call did and more (a misread "$5000" put right), replaces it, so each call is shown
once the next proposal has been judged.

What a kept call says is tidied against the question too: the grammar makes the model write
every parameter, and the optional ones the question does not state are dropped (the tool's
default applies, not the model's guess); a number short of or over a stated one by a run of
zeros (1000 for "$10,000") is put back to the stated number.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, Protocol

from hanlin.llm.call_grounding import Grounding, enum_values, value_atoms, words_of
from hanlin.llm.chat_model import ToolSpec
from hanlin.llm.local_grammar import CALL_BLOCK, tool_call_grammar
from hanlin.llm.value_copy import (
    KEY,
    Copying,
    QuestionSpans,
    copy_state,
    duplicated_strings,
    invented_strings,
)
from hanlin.llm.value_loops import in_loop, item_in_loop, unlooped

# Single-place changes tried after a repeated proposal, before the reply ends.
MAX_CHANGES = 3
# How far below the rest a barred token's logit is put: far beyond any logit's range.
BARRED = 1e4
# Writings of a call again with the values it made up copied from the question.
COPY_TRIES = 2
# Proposals one reply may sample in all, whatever replaces what: a bound on the time a reply
# takes, the number of calls kept being bounded separately.
MAX_PROPOSALS = 16
# A proposal writes every parameter and may run this many times the tokens left in the
# reply: what counts against ``max_tokens`` is the call kept, its unstated values dropped.
PROPOSAL_ROOM = 2
# Per loaded model (by id and vocabulary size): each token's text; tokens grouped by their
# text in lower case, spaces stripped; the tokens whose text starts with a quote (those that
# close a string), and those that close a string and a list.
_VOCABULARY: dict[tuple[int, int], list[str]] = {}
_SPELLINGS: dict[tuple[int, int], dict[str, list[int]]] = {}
_CLOSING: dict[tuple[int, int], list[int]] = {}
_LIST_CLOSING: dict[tuple[int, int], list[int]] = {}


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
    forbid: tuple[int, int] | None = None  # the (step, token) it was written without
    copy: Copying | None = None  # the values it copied from the question
    logprob: float = 0.0  # log P of the tokens chosen, unconstrained, the last one aside


def proposal_grammar(tool: ToolSpec) -> Any:
    """The one-call grammar proposals for ``tool`` are written in: every parameter must be
    written, so that one the question states is not skipped (a 135M model leaves optional
    ones out even when asked for them); those it does not state are dropped afterwards."""
    parameters = dict(tool.parameters)
    parameters["required"] = list(parameters.get("properties") or {})
    return tool_call_grammar([tool.model_copy(update={"parameters": parameters})], 1)


@dataclass
class Full:
    """The reply has no room for the next call; ``shown`` is what of it the reply holds."""

    shown: str


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
        forbid: tuple[int, int] | None = None,
        copy: Copying | None = None,
    ) -> Proposal: ...

    def changes(
        self, proposal: Proposal, starts: list[int] | None = None
    ) -> list[tuple[int, int]]: ...

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
        forbid: tuple[int, int] | None = None,
        copy: Copying | None = None,
    ) -> Proposal:
        """One call after ``prefix``; without ``forbid``'s token at its step, and with the
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
                logits = barred(logits, self.spellings(forbid[1]))
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

    def changes(self, proposal: Proposal, starts: list[int] | None = None) -> list[tuple[int, int]]:
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
    proposer = LlamaProposer(llama, grammar, sampling, cancelled, question)
    return write_calls(proposer, tokens, question, tool, max_calls, max_tokens, on_block)


def write_calls(
    proposer: Proposing,
    tokens: list[int],
    question: str,
    tool: ToolSpec,
    max_calls: int,
    max_tokens: int,
    on_block: Callable[[str], None],
) -> GroundedCalls:
    """``write_grounded_calls`` over any proposer (the model's, or a scripted one)."""
    writer = _CallWriter(proposer, Grounding(question), tool, tokens)
    cancelled = proposer.cancelled
    result = GroundedCalls()
    shown = 0  # blocks passed to on_block: each once the next proposal cannot replace it

    def show_final() -> None:
        nonlocal shown
        for block in result.blocks[shown : len(writer.blocks) - 1]:
            on_block(block if shown == 0 else "\n" + block)
            shown += 1

    while len(writer.kept) < max_calls and not cancelled.is_set():
        if max_tokens - writer.written <= 0:
            result.out_of_tokens = True
            break
        proposal = writer.next_call(max_tokens)
        if proposal is None:
            break
        if isinstance(proposal, Full):
            result.out_of_tokens = True
            result.cut_off = proposal.shown
            break
        result.blocks = list(writer.blocks)
        show_final()
    for block in result.blocks[shown:]:
        on_block(block if shown == 0 else "\n" + block)
        shown += 1
    result.sampled = writer.proposer.sampled
    return result


class _CallWriter:
    """The calls kept so far and how the next one is found."""

    def __init__(
        self, proposer: Proposing, grounding: Grounding, tool: ToolSpec, tokens: list[int]
    ) -> None:
        self.proposer, self.grounding, self.tool = proposer, grounding, tool
        self.start = tokens
        self.prefix = tokens
        self.kept: list[dict[str, Any]] = []
        self.blocks: list[str] = []
        self.sizes: list[int] = []  # tokens sampled for each kept block
        self.proposals = 0  # sampled for this reply, kept or not
        # Words split at underscores too, so "set_timer" gives "set" and "timer".
        properties = " ".join(map(str, tool.parameters.get("properties", {})))
        self.known = words_of(f"{tool.name} {tool.description} {properties}")
        self.enums = enum_values(tool.parameters)
        self.required = frozenset(tool.parameters.get("required") or ())

    @property
    def written(self) -> int:
        return sum(self.sizes)

    def propose(
        self,
        room: int,
        forbid: tuple[int, int] | None = None,
        copy: Copying | None = None,
    ) -> Proposal:
        self.proposals += 1
        return self.proposer.propose(self.prefix, room, forbid, copy)

    def read(self, proposal: Proposal) -> dict[str, Any] | None:
        call = call_of(proposal.text)
        if call is not None:
            arguments = unlooped(call["arguments"], self.grounding.question)
            arguments = self.grounding.flagged(arguments, self.tool.parameters)
            call["arguments"] = self.grounding.repaired(arguments)
        return call

    def passes(self, call: dict[str, Any] | None) -> bool:
        if call is None:
            return False
        arguments, schema = call["arguments"], self.tool.parameters
        if not self.kept:
            return self.grounding.is_grounded(arguments, schema)
        if extends(arguments, self.kept[-1]):
            return self.adds_stated(arguments, self.kept[-1])
        if self.grounding.corrects(self.as_kept(arguments), self.kept[-1]):
            return True
        return bool(self.grounding.novel_values(arguments, self.kept, self.known))

    def as_kept(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The arguments a call is kept with: its optional values the question does not
        state dropped (the tool's defaults apply)."""
        unstated = self.grounding.unstated_optional(arguments, self.tool.parameters)
        return {key: value for key, value in arguments.items() if key not in unstated}

    def replaces(self, arguments: dict[str, Any]) -> bool:
        """Whether a passing call takes the last kept one's place: it is that call with a
        stated value added, or with a misread one put right."""
        if not self.kept:
            return False
        earlier = self.kept[-1]
        corrects = self.grounding.corrects(self.as_kept(arguments), earlier)
        return extends(arguments, earlier) or corrects

    def adds_stated(self, arguments: dict[str, Any], earlier: dict[str, Any]) -> bool:
        unused = self.grounding.unused_after(earlier)
        return any(
            self.grounding.states(key, value, unused)
            for key, value in arguments.items()
            if key not in earlier
        )

    def next_call(self, max_tokens: int) -> Proposal | Full | None:
        """The next proposal that passes (then kept), or ``None``; ``Full`` when the reply
        cannot hold it (cut off, or its kept call longer than the tokens left)."""
        budget = max_tokens - self.written
        room = budget * PROPOSAL_ROOM
        if self.proposals >= MAX_PROPOSALS:
            return None
        proposal = self.propose(room)
        call = self.read(proposal)
        if call is None:
            return (
                self.full(proposal.tokens, budget) if proposal.finish_reason == "length" else None
            )
        if not self.passes(call):
            proposal, call = self.changed(proposal, room)
        if call is None or not self.passes(call):
            return None
        proposal, call = self.copied(proposal, call, room)
        replaces = self.replaces(call["arguments"])
        block = proposal.text.strip()
        call = {"name": call["name"], "arguments": self.as_kept(call["arguments"])}
        if call != call_of(block):  # repaired or pruned: the block says what is kept
            block = f"<tool_call>\n{json.dumps(call)}\n</tool_call>"
        size = len(self.proposer.tokenize(block)) + 1
        if replaces:
            # The last call again with a stated value it left out or misread: this proposal
            # takes its place rather than asking for the same thing twice.
            budget += self.sizes[-1]
        if size > budget:
            return self.full(self.proposer.tokenize(block), budget)
        if replaces:
            self.kept.pop(), self.blocks.pop(), self.sizes.pop()
        self.kept.append(call["arguments"])
        self.blocks.append(block)
        self.sizes.append(size)
        self.prefix = self.start + self.proposer.tokenize("\n".join(self.blocks) + "\n")
        return proposal

    def changed(self, proposal: Proposal, room: int) -> tuple[Proposal, dict[str, Any] | None]:
        """The first of ``proposal``'s single-place changes that passes, else the last tried.
        A first call with invented values is changed at each of those values; a further
        call that only repeats, at any of its values."""
        call = None
        starts = None
        if not self.kept:
            starts = invented_starts(proposal.text, self.grounding, self.enums)
        for forbid in self.proposer.changes(proposal, starts):
            if not self.may_propose():
                return proposal, None
            proposal = self.propose(room, forbid)
            call = self.read(proposal)
            if self.passes(call):
                break
        return proposal, call

    def copied(
        self, proposal: Proposal, call: dict[str, Any], room: int
    ) -> tuple[Proposal, dict[str, Any]]:
        """The passing ``call`` with the strings it made up copied from the question, then
        with a text it holds twice set apart (``value_copy``)."""
        proposal, call = self.uninvented(proposal, call, room)
        return self.undoubled(proposal, call, room)

    def uninvented(
        self, proposal: Proposal, call: dict[str, Any], room: int
    ) -> tuple[Proposal, dict[str, Any]]:
        """``call`` written again with the strings it made up copied from the question, when
        that passes too and makes up only some of the same ones; else as it was. A value
        written freely after a copied one may drift to a made-up one in turn ("Alameda
        County" moving from the entity to the county): it is copied too, in a second try."""
        invented = set(self.invented(call["arguments"]))
        keys = set(invented)
        for _try in range(COPY_TRIES):
            if not keys or not self.may_propose():
                break
            again = self.propose(room, proposal.forbid, Copying(frozenset(keys)))
            copy = self.read(again)
            if copy is None or not self.passes(copy):
                break
            left = set(self.invented(copy["arguments"]))
            if left < invented and self.taken(copy) >= self.taken(call):
                return again, copy
            if left <= keys:
                break
            keys |= left
        return proposal, call

    def undoubled(
        self, proposal: Proposal, call: dict[str, Any], room: int
    ) -> tuple[Proposal, dict[str, Any]]:
        """``call`` with a text two of its arguments hold, the question once, left to one
        of them: each is written again as a copy that may not be that text, and of those
        that pass, make up nothing new and take up more of the question, the one the model
        finds likelier is kept."""
        doubled = duplicated_strings(call["arguments"], self.grounding.question)
        invented = len(self.invented(call["arguments"]))
        copied = proposal.copy.keys if proposal.copy else frozenset()
        best: tuple[Proposal, dict[str, Any]] | None = None
        for key, text in doubled.items():
            if not self.may_propose():
                break
            copying = Copying(copied | {key}, ((key, text),))
            again = self.propose(room, proposal.forbid, copying)
            copy = self.read(again)
            if copy is None or not self.passes(copy):
                continue
            args = copy["arguments"]
            if key in duplicated_strings(args, self.grounding.question):
                continue
            # A text set apart must bring a word of the question no argument held
            # ("sushi"), not a piece of the same one ("Tim" of "Tim Burton") or words with
            # no value ("in it").
            if len(self.invented(args)) > invented or not self.taken(copy) > self.taken(call):
                continue
            if best is None or again.logprob > best[0].logprob:
                best = (again, copy)
        return best or (proposal, call)

    def taken(self, call: dict[str, Any]) -> frozenset[tuple[str, Any]]:
        """What of the question ``call`` takes up as it would be kept. A copy must keep all
        of it: a value written after a copied one may drift ("1871 to 1871" for "1871 to
        1945")."""
        return self.grounding.coverage(self.as_kept(call["arguments"]))

    def invented(self, arguments: dict[str, Any]) -> list[str]:
        return invented_strings(arguments, self.grounding, self.enums, self.required)

    def may_propose(self) -> bool:
        return self.proposals < MAX_PROPOSALS and not self.proposer.cancelled.is_set()

    def full(self, tokens: list[int], budget: int) -> Full:
        """A first call is shown as far as the reply's tokens hold it; a later one not."""
        return Full(self.proposer.detokenize(tokens[:budget]) if not self.kept else "")


def invented_starts(text: str, grounding: Grounding, enums: AbstractSet[str]) -> list[int]:
    """Where the values of a proposed call begin that hold nothing the question states
    (booleans, enum choices and empty values aside): where a model that invented them went
    wrong."""
    decoder = json.JSONDecoder()
    starts = []
    for start in value_starts(text):
        at = start - 1 if text[start - 1 : start] == '"' else start
        try:
            value, _end = decoder.raw_decode(text, at)
        except ValueError:
            continue
        atoms = list(value_atoms(value, enums))
        if atoms and not any(grounding.holds(atom) for atom in atoms):
            starts.append(start)
    return starts


def extends(arguments: dict[str, Any], earlier: dict[str, Any]) -> bool:
    """Whether ``arguments`` hold every value of ``earlier`` and more."""
    return len(arguments) > len(earlier) and all(
        key in arguments and arguments[key] == value for key, value in earlier.items()
    )
