"""Answer parsing and voting, including each defect of the reference scripts that is fixed."""

from __future__ import annotations

import pytest

from hanlin.agents.answer_parsing import (
    boxed_contents,
    majority_vote,
    normalize_reference,
    numbers_in,
    parse_choice,
    parse_last_number,
    parse_number_answer,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Twice 8 is 16, plus 2 is \\boxed{18}.", "18"),
        ("first \\boxed{3} then corrected: \\boxed{4}", "4"),
        ("\\boxed{\\frac{1}{2}}", "0.5"),
        ("\\boxed{\\frac{1}{3}}", "1/3"),
        ("\\boxed{-7}", "-7"),
        ("\\boxed{1,234}", "1234"),
        ("\\boxed{\\$18.00}", "18"),
        ("\\boxed{x = 5}", "5"),
        ("set {5} has 9 elements", "9"),  # plain braces are not a boxed answer
        ("\\boxed{no number} but 12 at the end", "12"),
    ],
)
def test_number_answers(text: str, expected: str) -> None:
    assert parse_number_answer(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The result is 1,234.", "1234"),  # not 234 (reference fallback) nor 1.234 (arithmetic)
        ("The result is -12.", "-12"),
        ("so 18 - 7 = 11", "11"),
        ("It comes to 3/4", "0.75"),
        ("It takes 1 1/2 hours", "1.5"),
        ("costs $1,000.50 in total", "1000.5"),
        ("0.50", "0.5"),
        ("no numbers here", None),
    ],
)
def test_last_number(text: str, expected: str | None) -> None:
    assert parse_last_number(text) == expected


def test_boxed_contents_balances_nested_braces() -> None:
    assert boxed_contents("a \\boxed{\\frac{2}{4}} b \\boxed{{1}+{2}}") == [
        "\\frac{2}{4}",
        "{1}+{2}",
    ]
    assert boxed_contents("\\boxed{unclosed") == []


def test_numbers_keep_a_sign_only_when_attached() -> None:
    assert numbers_in("5-3 and -3 and 2.5") == ["5", "3", "-3", "2.5"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Step (i) then (ii). So the answer is (C).", "C"),
        ("(2) is a step; I pick B) in the end", "B"),
        ("The answer is D", "D"),
        ("Answer: a", None),  # lower case letters are words, not choices
        ("Final: \\boxed{E}", "E"),
        ("the answer is a number", None),
        ("I would say 42", None),  # no number fallback for choices
    ],
)
def test_choices(text: str, expected: str | None) -> None:
    assert parse_choice(text) == expected


def test_vote_abstains_on_none_and_breaks_ties_by_first_appearance() -> None:
    assert majority_vote(["3", None, None, "3"]) == "3"
    assert majority_vote([None, None]) is None
    assert majority_vote(["9", "4", "4", "9"]) == "9"
    assert majority_vote([None, "4", "9"]) == "4"


def test_gold_answers_are_normalized_like_predictions() -> None:
    assert normalize_reference("He has 1,200 left.\n#### 1,200") == "1200"
    assert normalize_reference("#### -5") == "-5"
    assert normalize_reference("b", "choice") == "B"
