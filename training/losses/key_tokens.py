"""Prioritized key tokens (PKT, eq. 8.2-8.4): the tokens that decide which tool is called.

When a model picks the wrong tool it usually picks one sharing a prefix with the right
one, and the choice is made at a few tokens: the first token of the name, and the token
where the name parts from a similar one. Those tokens (K) get the weight
``CLIP(|NK| / |K|, 1, w_max)`` in the loss; every other target token (NK) keeps weight 1.

Choices beyond what eq. 8.2-8.4 fix:

* Names are compared as token sequences, each tokenized in the context it has in a
  rendered call (``{"name": "<name>", ...``), as the reference compares token ids.
* K for one call: the token covering the name's first character, plus, for every other
  offered tool whose name tokens share a prefix of length L > 0 with the gold name's, the
  gold token at position L (when the gold name has one; a name that is a whole prefix of
  another adds nothing). Identical names are skipped.
* NK is every other target token, prose and end-of-turn marker included. The reference
  also leaves out of NK the token before each argument delimiter (its "para" tokens); that
  rule depends on its ``name(k='v')`` call syntax and is not carried over here.
* Several calls in one turn: K is the union of every call's key tokens, and the turn's
  other tokens are one NK shared by all, so all K tokens get the same weight. With calls of
  similar length this is each call's own ratio; it keeps the weight a property of the
  turn, the unit the loss is computed on.
* A turn with no tool call has no K: all its tokens weigh 1.

``decision=True`` is a second variant beyond the paper: where tools are offered, the token
at which the turn chooses between calling and answering in words is key too (the turn's
first token, and the first token of its first call when words come before it). The paper's
K only covers *which* tool; at 135M parameters the choice *whether* to call is the one
small models get wrong (they call on every request or on none), and without it that token
is one among the 30 to 60 of a turn, every one weighing 1.

``scope="name"`` is a variant beyond the paper: every token of the gold name is key. At
135M parameters the paper's sparse K taught which family to call (``get`` ... ``paper``)
while the tokens completing the name stayed at weight 1, and the model began inventing
names such as ``get_paper_list``; weighting the whole name targets that failure.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from hanlin.llm.chat_model import ToolSpec
from hanlin.llm.local_prompt import render_tool_call
from hanlin.llm.messages import AssistantMessage, ToolCall
from hanlin.training.data.encoding import EncodedSample

DEFAULT_MAX_WEIGHT = 9.0  # the reference's --max_weight
KeyScope = Literal["divergence", "name"]


def name_span(block: str, name: str) -> tuple[int, int]:
    """Characters of ``name`` inside a rendered call ``block`` (the JSON-escaped form)."""
    quoted = json.dumps(name, ensure_ascii=False)
    start = block.index(quoted) + 1  # the payload opens with {"name": "<name>"
    return start, start + len(quoted) - 2


def name_token_ids(tokenizer: Any, name: str) -> list[int]:
    """The ids of ``name``'s tokens as they come out inside a rendered call."""
    block = render_tool_call(ToolCall(id="probe", name=name, arguments={}))
    start, end = name_span(block, name)
    encoded = tokenizer(block, add_special_tokens=False, return_offsets_mapping=True)
    return [
        int(token)
        for token, (lo, hi) in zip(encoded["input_ids"], encoded["offset_mapping"], strict=False)
        if lo < end and hi > start
    ]


def divergence_index(gold: Sequence[int], other: Sequence[int]) -> int | None:
    """Where ``gold`` parts from ``other`` after a shared prefix, or None (no shared prefix,
    identical, or ``gold`` is a whole prefix of ``other``)."""
    shared = 0
    for a, b in zip(gold, other, strict=False):
        if a != b:
            break
        shared += 1
    if shared == 0 or shared >= len(gold) or list(gold) == list(other):
        return None
    return shared


def call_name_positions(encoded: EncodedSample, target: AssistantMessage) -> list[list[int]]:
    """For each call of ``target``, the positions of its name's tokens in ``encoded``."""
    found: list[list[int]] = []
    cursor = 0
    for call in target.tool_calls:
        block = render_tool_call(call)
        at = encoded.target_text.find(block, cursor)
        if at < 0:
            raise ValueError(
                f"the encoded target does not contain the call to {call.name!r}: it was "
                "encoded from a different assistant turn"
            )
        start, end = name_span(block, call.name)
        found.append(encoded.positions_covering(at + start, at + end))
        cursor = at + len(block)
    return found


def key_token_positions(
    encoded: EncodedSample,
    target: AssistantMessage,
    tools: Sequence[ToolSpec],
    tokenizer: Any,
    scope: KeyScope = "divergence",
    decision: bool = False,
) -> list[int]:
    """Sorted positions (in ``encoded.input_ids``) of the key tokens of every call in the turn:
    eq. 8.2-8.3 (``divergence``), or every token of each called name (``name``); with
    ``decision``, also the tokens where the turn chooses to call or to answer."""
    keys = set(decision_positions(encoded, target)) if decision and tools else set()
    if scope == "name":
        keys |= {p for positions in call_name_positions(encoded, target) for p in positions}
        return sorted(keys)
    other_names = {tool.name for tool in tools}
    cache: dict[str, list[int]] = {}
    for call, positions in zip(
        target.tool_calls, call_name_positions(encoded, target), strict=False
    ):
        if not positions:
            continue
        keys.add(positions[0])
        gold = [encoded.input_ids[p] for p in positions]
        for name in other_names - {call.name}:
            if name not in cache:
                cache[name] = name_token_ids(tokenizer, name)
            index = divergence_index(gold, cache[name])
            if index is not None:
                keys.add(positions[index])
    return sorted(keys)


def decision_positions(encoded: EncodedSample, target: AssistantMessage) -> list[int]:
    """The turn's first token, and the first token of its first call block when words come
    first: where the model chooses between calling a tool and answering in words."""
    if encoded.target_length == 0:
        return []
    positions = {encoded.target_start}
    if target.tool_calls:
        at = encoded.target_text.find(render_tool_call(target.tool_calls[0]))
        if at < 0:
            raise ValueError(
                f"the encoded target does not contain the call to {target.tool_calls[0].name!r}:"
                " it was encoded from a different assistant turn"
            )
        positions.update(encoded.positions_covering(at, at + 1))
    return sorted(positions)


def key_weight(key_count: int, other_count: int, w_max: float = DEFAULT_MAX_WEIGHT) -> float:
    """``CLIP(|NK| / |K|, 1, w_max)`` (eq. 8.4)."""
    if key_count <= 0:
        raise ValueError("the weight of key tokens needs at least one key token")
    if w_max < 1:
        raise ValueError(f"w_max must be at least 1, got {w_max}")
    return min(max(other_count / key_count, 1.0), w_max)


def pkt_weights(
    encoded: EncodedSample, key_positions: Sequence[int], w_max: float = DEFAULT_MAX_WEIGHT
) -> list[float]:
    """One weight per position: 0 on the prompt, the key weight on K, 1 on the rest."""
    keys = set(key_positions)
    outside = [p for p in keys if not encoded.target_start <= p < len(encoded.input_ids)]
    if outside:
        raise ValueError(f"key positions {sorted(outside)} are not target positions")
    weights = [0.0] * encoded.target_start + [1.0] * encoded.target_length
    if keys:
        weight = key_weight(len(keys), encoded.target_length - len(keys), w_max)
        for position in keys:
            weights[position] = weight
    return weights
