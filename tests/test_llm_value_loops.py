"""The real model caught repeating itself inside a string: the string is closed, not run on
until the token budget cuts the call unreadable. And a first call with invented values is
written again from exactly those values."""

from __future__ import annotations

import threading

import pytest
from llama_cpp import LlamaGrammar
from tool_spec_support import spec

from hanlin.llm.call_grounding import Grounding
from hanlin.llm.call_proposals import LlamaProposer, call_of, proposal_grammar
from hanlin.llm.local_calls import invented_starts
from hanlin.llm.local_model import LocalModel
from hanlin.llm.value_loops import unlooped

# One JSON string of letters and spaces, whatever its length.
STRING = LlamaGrammar.from_string('root ::= "\\"" [a-z ]+ "\\""', verbose=False)
LINE = 'Song: "' + " ".join(["na"] * 120) + '"\n'
# A JSON list of such strings.
LIST = LlamaGrammar.from_string(
    'root ::= "[" item ("," " "? item)* "]"\nitem ::= "\\"" [a-z ]+ "\\""', verbose=False
)
ITEMS = "Words: [" + ", ".join(['"hey"'] * 40) + "]\n"


@pytest.mark.local_model
def test_a_string_the_model_loops_in_is_closed_unless_the_question_holds_the_run() -> None:
    llama = LocalModel(n_threads=1).load().llama
    written = {}
    for question in ("Sing the song.", LINE):
        proposer = LlamaProposer(llama, STRING, {"temperature": 0.0}, threading.Event(), question)
        proposal = proposer.propose(proposer.tokenize(LINE * 2 + "Song: "), 80)
        written[question] = proposal
    looped = written["Sing the song."]
    assert looped.finish_reason == "stop"
    assert looped.text.startswith('"na na na') and looped.text.endswith('"')
    assert len(looped.text) < 40
    # The same model copying a run the question holds is left alone: it fills the budget.
    copied = written[LINE]
    assert copied.finish_reason == "length" and copied.text.count("na") > 60


@pytest.mark.local_model
def test_a_list_the_model_keeps_adding_one_item_to_is_closed() -> None:
    llama = LocalModel(n_threads=1).load().llama
    written = {}
    for question in ("List words.", ITEMS):
        proposer = LlamaProposer(llama, LIST, {"temperature": 0.0}, threading.Event(), question)
        written[question] = proposer.propose(proposer.tokenize(ITEMS * 2 + "Words: "), 120)
    # Primed to write "hey" forty times, the model is stopped at the third.
    assert written["List words."].finish_reason == "stop"
    assert written["List words."].text == '["hey", "hey", "hey"]'
    # Where the question holds the run, it is left to write on.
    assert written[ITEMS].text.count("hey") > 10
    assert unlooped({"words": ["hey", "hey", "hey"]}, "List words.") == {"words": ["hey"]}


@pytest.mark.local_model
def test_a_first_call_is_changed_only_where_its_values_were_invented() -> None:
    tool = spec(
        "court_case_fetch",
        "Fetch a court case record from the archive.",
        case_id="string",
        year="integer",
    )
    llama = LocalModel(n_threads=1).load().llama
    question = "Get the record of the court case filed in 2019."
    proposer = LlamaProposer(
        llama, proposal_grammar(tool), {"temperature": 0.0}, threading.Event(), question
    )
    prefix = proposer.tokenize(f"Question: {question}\nTool call:\n")
    first = proposer.propose(prefix, 80)
    call = call_of(first.text)
    assert call is not None
    starts = invented_starts(first.text, Grounding(question), frozenset())
    # Whatever the model wrote as the case ID is not in the question; 2019 is, if written.
    invented = [key for key, value in call["arguments"].items() if value != 2019]
    assert len(starts) == len(invented) >= 1
    changes = proposer.changes(first, starts)
    assert len(changes) == len(starts)
    for step, token in changes:
        # Each change forbids the token the model began an invented value with...
        assert first.tokens[step] == token
        again = proposer.propose(prefix, 80, (step, token))
        # ...so the call written again differs from the first at that very step.
        assert again.tokens[:step] == first.tokens[:step]
        assert again.tokens[step] not in proposer.spellings(token)
