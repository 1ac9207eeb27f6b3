"""Writing a small local model's tool calls one at a time, each checked before it is kept.

Left to end a reply itself, SmolLM2-135M stops after one call even when the question asks
for three ("the factorial of 5, 10 and 15"); asked for another, it writes the first again.
So the model proposes one call at a time through a one-call grammar, and hanlin keeps a
proposal only when ``Grounding`` allows it: the first call must take its values from the
question, each further call must bring a value of the question that no earlier call used.
When several offered tools fit the question, the best one's calls are written first, then
each other one's under the same rule ("the weather in Oslo, and convert 100 euros to
kroner"): a further tool is called only for values the earlier calls left unused, checked
against the question without the sentences other tools fit best, and never in place of the
best tool's failed first call, unless the question asks for it apart (``FurtherTool``).

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
zeros (1000 for "$10,000") is put back to the stated number; a date is written in the
pattern its parameter asks for ("2019-12-13" for "December 13, 2019", ``value_dates``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from hanlin.llm.call_grounding import Grounding, enum_values, value_atoms, words_of
from hanlin.llm.call_proposals import (
    Forbid,
    LlamaProposer,
    Proposal,
    Proposing,
    call_of,
    value_starts,
)
from hanlin.llm.chat_model import ToolSpec
from hanlin.llm.value_copy import Copying, duplicated_strings, invented_strings
from hanlin.llm.value_dates import dated
from hanlin.llm.value_loops import unlooped
from hanlin.llm.value_trim import trimmed

# Writings of a call again with the values it made up copied from the question.
COPY_TRIES = 2
# Tokens a further call's change may bar at one numeric value, one more each time the model
# writes a number the reply has used there instead ("25" where "150" was barred, "50" wanted).
MAX_BARRED = 3
# Proposals one reply may sample in all, whatever replaces what: a bound on the time a reply
# takes, the number of calls kept being bounded separately.
MAX_PROPOSALS = 16
# A proposal writes every parameter and may run this many times the tokens left in the
# reply: what counts against ``max_tokens`` is the call kept, its unstated values dropped.
PROPOSAL_ROOM = 2


class FurtherTool(NamedTuple):
    """A fitting tool called after the best one: its proposal grammar (or, for
    ``write_calls``, its proposer), the words its values are checked against, and whether
    the question asks for it apart from the best one (a sentence of the question belongs to
    it, ``ToolSimilarity.owners``, or the question names it, ``named_apart``).

    A tool asked for apart is tried even when the best one's first call failed, and its
    calls need only bring values new to its own calls ("the life expectancy and the GDP in
    1900 and 1950" asks for 1900 and 1950 twice). Any other further tool only follows a
    kept call, and only for values no call of the reply used: a second function offered
    with the same data is not called."""

    tool: ToolSpec
    proposer: Any
    words: str
    asked: bool = False


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
class Full:
    """The reply has no room for the next call; ``shown`` is what of it the reply holds."""

    shown: str


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
    others: Sequence[FurtherTool] = (),
    whole_question: str | None = None,
) -> GroundedCalls:
    """Propose calls to ``tool`` after ``tokens`` until none passes its check or
    ``max_calls`` are kept, then to each tool of ``others`` in turn (each with its proposal
    grammar, its values checked against its words); ``on_block`` sees each kept block as it
    is kept. ``question`` is the words ``tool``'s values come from; ``whole_question`` (by
    default the same) is what the reply's first call must take most of its values from.
    ``max_tokens`` bounds the reply (the kept blocks); proposals are bounded by their
    number, ``MAX_PROPOSALS`` in all."""
    proposer = LlamaProposer(llama, grammar, sampling, cancelled, question)
    more = [
        other._replace(
            proposer=LlamaProposer(llama, other.proposer, sampling, cancelled, other.words)
        )
        for other in others
    ]
    return write_calls(
        proposer, tokens, question, tool, max_calls, max_tokens, on_block, more, whole_question
    )


def write_calls(
    proposer: Proposing,
    tokens: list[int],
    question: str,
    tool: ToolSpec,
    max_calls: int,
    max_tokens: int,
    on_block: Callable[[str], None],
    others: Sequence[FurtherTool] = (),
    whole_question: str | None = None,
) -> GroundedCalls:
    """``write_grounded_calls`` over any proposers (the model's, or scripted ones): one for
    ``tool``, and one per tool of ``others`` (``FurtherTool.proposer``)."""
    grounding = Grounding(question)
    writer = _CallWriter(proposer, grounding, tool, tokens, followed=bool(others))
    whole = grounding if whole_question in (None, question) else Grounding(whole_question)
    reply = _Reply(on_block, proposer.cancelled, whole)
    for at, further in enumerate([FurtherTool(tool, proposer, question), *others]):
        if reply.declined:
            break
        if at:
            if reply.result.out_of_tokens:
                break
            if not writer.blocks and not further.asked:
                continue  # it follows a kept call, never stands in for one
            writer = _CallWriter(
                further.proposer,
                Grounding(further.words),
                further.tool,
                tokens,
                after=writer,
                asked=further.asked,
                followed=at < len(others),
            )
        reply.write(writer, max_calls, max_tokens)
    result = reply.finish()
    result.sampled = proposer.sampled + sum(other.proposer.sampled for other in others)
    return result


class _Reply:
    """The calls a reply keeps, passed on as each becomes final (the next proposal can
    no longer replace it); the whole reply is declined instead when its first call, once
    final, takes no more than half its values from the whole question (``stated_first``): a
    value from a sentence that belongs to another tool counts ("50 shares of Apple ... the
    dividend payout if each share returns $1.30" gives the payout its 50)."""

    def __init__(
        self, on_block: Callable[[str], None], cancelled: threading.Event, whole: Grounding
    ) -> None:
        self.on_block, self.cancelled, self.whole = on_block, cancelled, whole
        self.result = GroundedCalls()
        self.shown = 0
        self.first: _CallWriter | None = None  # the writer that kept the reply's first call
        self.declined = False

    def write(self, writer: _CallWriter, max_calls: int, max_tokens: int) -> None:
        """Keep ``writer``'s calls until none passes, the reply is full or declined."""
        result = self.result
        while len(writer.blocks) < max_calls and not self.cancelled.is_set():
            if max_tokens - writer.written <= 0:
                result.out_of_tokens = True
                return
            proposal = writer.next_call(max_tokens)
            if proposal is None:
                return
            if isinstance(proposal, Full):
                result.out_of_tokens, result.cut_off = True, proposal.shown
                return
            if self.first is None and not writer.earlier:
                self.first = writer
            result.blocks = list(writer.blocks)
            for block in result.blocks[self.shown : len(writer.blocks) - 1]:
                if not self.show(block):
                    return

    def show(self, block: str) -> bool:
        """Pass ``block`` on, unless it is the first and, now final, mostly made up."""
        if self.shown == 0 and self.first is not None and not self.stated_first(self.first):
            self.declined = True
            return False
        self.on_block(block if self.shown == 0 else "\n" + block)
        self.shown += 1
        return True

    def stated_first(self, writer: _CallWriter) -> bool:
        """Whether the first call ``writer`` kept, as final, takes most of its required
        values from the question. Checked once no later proposal can replace it: the
        proposals after a first call put its misread or made-up values right ("quantity":
        1, then 3 for "3 units"), and what is left made up after them is what a question
        that does not ask for the tool leaves ("the roots of the linear equation bx + c = 0"
        gives a quadratic solver its 0, and a=1, b=1 stay invented)."""
        return self.whole.mostly_stated(writer.kept[0], writer.tool.parameters)

    def finish(self) -> GroundedCalls:
        """The reply as kept: its remaining blocks passed on, or none if declined."""
        for block in self.result.blocks[self.shown :]:
            if self.declined or not self.show(block):
                break
        if self.declined:  # nothing was shown: the reply is written in words instead
            self.result = GroundedCalls()
        return self.result


class _CallWriter:
    """The calls kept so far and how the next one is found."""

    def __init__(
        self,
        proposer: Proposing,
        grounding: Grounding,
        tool: ToolSpec,
        tokens: list[int],
        after: _CallWriter | None = None,
        asked: bool = False,
        followed: bool = False,
    ) -> None:
        """A writer for ``tool``'s calls; ``after`` is the writer of the reply's calls to
        other tools so far, which this one's follow; ``asked``: the question asks for this
        tool apart from the others (``FurtherTool``); ``followed``: other tools' calls may
        come after this one's, and the numbers left over may be theirs."""
        self.asked, self.followed = asked, followed
        self.proposer, self.grounding, self.tool = proposer, grounding, tool
        self.start = tokens
        self.kept: list[dict[str, Any]] = []  # this tool's calls
        self.earlier: list[dict[str, Any]] = []  # other tools' calls, before this one's
        self.blocks: list[str] = []  # every call of the reply
        self.sizes: list[int] = []  # tokens sampled for each kept block
        self.proposals = 0  # sampled for this reply, kept or not
        if after is not None:
            self.earlier = [*after.earlier, *after.kept]
            self.blocks, self.sizes = list(after.blocks), list(after.sizes)
            self.proposals = after.proposals
        self.prefix = self.after_blocks()
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
        forbid: Forbid | None = None,
        copy: Copying | None = None,
    ) -> Proposal:
        self.proposals += 1
        return self.proposer.propose(self.prefix, room, forbid, copy)

    def read(self, proposal: Proposal) -> dict[str, Any] | None:
        call = call_of(proposal.text)
        if call is not None:
            arguments = unlooped(call["arguments"], self.grounding.question)
            arguments = self.grounding.flagged(arguments, self.tool.parameters)
            arguments = dated(arguments, self.tool.parameters)
            arguments = trimmed(arguments, self.tool.parameters, self.grounding)
            arguments = self.grounding.repaired(arguments)
            arguments = self.grounding.untruncated(arguments, self.tool.parameters)
            call["arguments"] = self.grounding.scaled(arguments, self.tool.parameters)
        return call

    def passes(self, call: dict[str, Any] | None) -> bool:
        if call is None:
            return False
        arguments, schema = call["arguments"], self.tool.parameters
        # The calls a new one must bring a value beyond: the reply's so far, of any tool,
        # or for a tool asked for apart only its own.
        earlier = self.kept if self.asked else [*self.earlier, *self.kept]
        if self.kept:
            if extends(arguments, self.kept[-1]):
                return self.adds_stated(arguments, self.kept[-1])
            if self.grounding.corrects(self.as_kept(arguments), self.kept[-1]):
                return True
        elif not self.grounding.is_grounded(arguments, schema):
            return False
        # A further call, of this tool or a further one, must bring a value none of them used.
        return not earlier or bool(self.grounding.novel_values(arguments, earlier, self.known))

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
        self.prefix = self.after_blocks()
        return proposal

    def after_blocks(self) -> list[int]:
        """The prompt followed by the reply's kept blocks: where the next proposal starts."""
        if not self.blocks:
            return self.start
        return self.start + self.proposer.tokenize("\n".join(self.blocks) + "\n")

    def changed(self, proposal: Proposal, room: int) -> tuple[Proposal, dict[str, Any] | None]:
        """The first of ``proposal``'s single-place changes that passes, else the last tried.
        A first call with invented values is changed at each of those values; a further
        call that only repeats, at any of its values."""
        call = None
        starts = None
        if not self.kept:
            starts = invented_starts(proposal.text, self.grounding, self.enums)
        tried: list[tuple[Forbid, Proposal]] = []
        for forbid in self.proposer.changes(proposal, starts):
            if not self.may_propose():
                return proposal, None
            proposal = self.propose(room, forbid)
            call = self.read(proposal)
            if self.passes(call):
                return proposal, call
            tried.append((forbid, proposal))
        # None passed: where the model wrote a number instead, bar that one too, and so on.
        for forbid, written in tried:
            more = self.barring_more(written, forbid)
            while more is not None:
                if not self.may_propose():
                    return proposal, None
                proposal = self.propose(room, more)
                call = self.read(proposal)
                if self.passes(call):
                    return proposal, call
                more = self.barring_more(proposal, more)
        return proposal, call

    def barring_more(self, proposal: Proposal, forbid: Forbid) -> Forbid | None:
        """``forbid`` with the number the model wrote at its step barred too, for a further
        call while the question writes a number in digits that no call of the reply has
        used; else ``None``. Barred its first digit, a model writes the next number it saw
        used, not the one left over. Numbers written as words do not count ("the other two
        sides" has no value to find), nor any while other tools' calls may follow: the
        numbers left may be theirs ("primes up to 50 and the factorial of 8")."""
        step = forbid[0]
        if not self.kept or self.followed or len(forbid) > MAX_BARRED:
            return None
        if step >= len(proposal.tokens):
            return None
        token = proposal.tokens[step]
        if token in forbid[1:] or not self.proposer.detokenize([token]).strip()[:1].isdigit():
            return None
        calls = [*self.earlier, *self.kept]
        used = {str(at): call for at, call in enumerate(calls)}
        if not self.grounding.unused_after(used, in_digits=True):
            return None
        return (*forbid, token)

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
        first = not self.blocks
        return Full(self.proposer.detokenize(tokens[:budget]) if first else "")


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
