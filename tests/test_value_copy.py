"""Copying a string value from the question: where a call stands, which tokens may follow,
which values were made up and which text two arguments share."""

from __future__ import annotations

from hanlin.llm.call_grounding import Grounding
from hanlin.llm.value_copy import (
    QuestionSpans,
    copy_state,
    duplicated_strings,
    invented_strings,
)

HEAD = '<tool_call>\n{"name": "find", "arguments": {"city": '
QUESTION = "Find a Thai restaurant for 10 in Manhattan, New York."
VOCABULARY = [
    *('"', ' "', '"Man', "Man", "hattan", "hat", " New", " York", "chester", '",', "x\\"),
    *(".", '"}', "10", "1", ",", "man"),
]


def spans() -> QuestionSpans:
    return QuestionSpans(QUESTION, VOCABULARY)


def allowed(content: str, opened: bool, avoid: str | None = None) -> set[str]:
    return {VOCABULARY[t] for t in spans().allowed(content, opened, avoid)}


def test_copy_state_follows_the_value_being_written() -> None:
    keys = frozenset({"city"})
    assert copy_state(HEAD, keys) == ("city", "", False)
    assert copy_state(HEAD + '"', keys) == ("city", "", True)
    assert copy_state(HEAD + '"Man', keys) == ("city", "Man", True)
    assert copy_state(HEAD + '"Manhattan", ', keys) is None  # closed
    assert copy_state(HEAD + '"Manhattan", "cuisine": "Th', keys) is None  # another key
    # The call's own "name" is no parameter, even for a tool with a "name" parameter.
    assert copy_state('<tool_call>\n{"name": "', frozenset({"name"})) is None


def test_only_spans_of_the_question_starting_at_a_word_may_be_written() -> None:
    # Before the opening quote: the quote, alone or with the start of a span.
    assert allowed("", False) == {'"', ' "', '"Man'}
    # Inside: "Man" begins "Manhattan"; "hat" begins no word, "chester" makes no span.
    assert allowed("", True) == {"Man"}
    assert allowed("Man", True) == {"hattan", "hat"}
    # A copy closes only where its span ends at a word's end, never after a comma.
    assert allowed("Manhattan", True) == {'"', '",', '"}', ","}
    assert allowed("Manhattan,", True) == {" New"}
    # The question's own letter case: "man" is not "Man".
    assert "man" not in allowed("", True)
    assert allowed("Manhattan, New", True) == {'"', '",', '"}', " York"}
    # A full stop would lead where no copy may end; and no digits are copied.
    assert allowed("Manhattan, New York", True) == {'"', '",', '"}'}
    assert not {"10", "1"} & {text for _token, text in spans().candidates}
    assert allowed("Manhat", True) == set()  # "manhathat" is no span, "manhat" ends no word
    # A text to avoid may be passed through but not closed on.
    assert allowed("Manhattan", True, avoid="manhattan") == {","}
    assert allowed("Manhattan", True, avoid="manhattan new york") == {'"', '",', '"}', ","}
    assert "x\\" not in {text for _token, text in spans().candidates}  # no escapes


def test_made_up_strings_are_those_the_question_does_not_state() -> None:
    grounding = Grounding(QUESTION)
    arguments = {
        "city": "Manchester",
        "cuisine": "Thai",
        "date": "2024-01-01",  # digits: a reformatted date is no invention
        "mode": "fast",  # an enum choice: the grammar holds it
        "limit": 5,
        "open": True,
        "where": "Manhattan, NY",  # "name, region" is stated by its name
    }
    assert invented_strings(arguments, grounding, {"fast", "slow"}) == ["city"]


def test_a_text_two_arguments_hold_counts_against_the_question() -> None:
    question = "Find a sushi restaurant in Boston."
    assert duplicated_strings({"cuisine": "Boston", "location": "boston "}, question) == {
        "cuisine": "boston",
        "location": "boston",
    }
    assert duplicated_strings({"cuisine": "sushi", "location": "Boston"}, question) == {}
    assert duplicated_strings({"a": "Boston", "b": "Boston"}, "Boston to Boston") == {}
    # Punctuation does not set two copies apart.
    assert set(duplicated_strings({"a": "China", "b": "china."}, "Cases in China.")) == {"a", "b"}
