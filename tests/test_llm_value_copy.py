"""The real model writing string values under the copy constraint: whatever it would have
made up, each copied value is a span of the question from a word's start to a word's end,
and a text it must avoid is not written."""

from __future__ import annotations

import re
import threading

import pytest
from tool_spec_support import spec

from hanlin.llm.call_proposals import LlamaProposer, call_of, proposal_grammar
from hanlin.llm.local_model import LocalModel
from hanlin.llm.value_copy import Copying

TOOL = spec(
    "find_restaurants",
    "Find restaurants near a place.",
    location="string",
    cuisine="string",
    diet="string",
)
QUESTION = "Find a vegan Thai restaurant in Manhattan."


def is_span_of(value: str, question: str) -> bool:
    """Whether ``value`` is the question's own text from a word's start to a word's end."""
    pattern = r"(?<![^\W_])" + re.escape(value) + r"(?![^\W_])"
    return bool(value) and re.search(pattern, question) is not None


def is_span(value: str) -> bool:
    return is_span_of(value, QUESTION)


@pytest.mark.local_model
def test_copied_values_are_spans_of_the_question() -> None:
    llama = LocalModel(n_threads=1).load().llama
    proposer = LlamaProposer(
        llama, proposal_grammar(TOOL), {"temperature": 0.0}, threading.Event(), QUESTION
    )
    prefix = proposer.tokenize(f"Question: {QUESTION}\nTool call:\n")
    free = proposer.propose(prefix, 80)
    keys = frozenset({"location", "cuisine", "diet"})
    copied = proposer.propose(prefix, 80, None, Copying(keys))
    call = call_of(copied.text)
    assert call is not None, copied.text
    assert all(is_span(call["arguments"][key]) for key in keys), call
    # Avoiding the text the location was copied as, the model copies another span.
    first = call["arguments"]["location"].strip().lower()
    avoiding = proposer.propose(prefix, 80, None, Copying(keys, (("location", first),)))
    moved = call_of(avoiding.text)
    assert moved is not None, avoiding.text
    assert moved["arguments"]["location"].strip().lower() != first
    assert is_span(moved["arguments"]["location"])
    # Each writing is scored by the unconstrained model's log-probability of its tokens.
    assert free.logprob < 0 and copied.logprob < 0
    assert call_of(free.text) != call


@pytest.mark.local_model
def test_a_copy_the_grammar_cannot_follow_gives_way_to_the_grammar() -> None:
    # A date's grammar wants digits, which a copy never holds: with the copy's tokens the
    # only finite ones, llama.cpp's grammar would abort the process; the grammar wins.
    tool = spec(
        "book_visit",
        "Book a visit.",
        place="string",
        day={"type": "string", "format": "date"},
    )
    question = "Book a visit to the Louvre on the first of May."
    llama = LocalModel(n_threads=1).load().llama
    proposer = LlamaProposer(
        llama, proposal_grammar(tool), {"temperature": 0.0}, threading.Event(), question
    )
    prefix = proposer.tokenize(f"Question: {question}\nTool call:\n")
    written = proposer.propose(prefix, 80, None, Copying(frozenset({"place", "day"})))
    call = call_of(written.text)
    assert call is not None, written.text
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", call["arguments"]["day"])
    assert is_span_of(call["arguments"]["place"], question)
