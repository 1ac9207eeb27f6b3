"""Lists of choices cut to the named ones, and articles the question writes in lower case."""

from __future__ import annotations

from hanlin.llm.call_grounding import Grounding
from hanlin.llm.value_trim import trimmed, without_article

AMENITIES = {
    "type": "array",
    "items": {"type": "string", "enum": ["Tennis Court", "Picnic Area", "Playground", "Wi-Fi"]},
}
SCHEMA = {"properties": {"amenities": AMENITIES, "tags": {"type": "array"}, "event": {}}}


def test_a_list_of_choices_keeps_the_ones_the_question_names() -> None:
    grounding = Grounding("Find parks in London with tennis courts and free wi-fi.")
    arguments = {"amenities": ["Tennis Court", "Picnic Area", "Playground", "Wi-Fi"]}
    assert trimmed(arguments, SCHEMA, grounding) == {"amenities": ["Tennis Court", "Wi-Fi"]}


def test_a_list_the_question_names_nothing_of_or_not_of_choices_stays() -> None:
    grounding = Grounding("Find parks in London that children will love.")
    arguments = {"amenities": ["Tennis Court", "Playground"], "tags": ["Picnic Area", "x"]}
    assert trimmed(arguments, SCHEMA, grounding) == arguments


def test_an_article_the_question_writes_in_lower_case_is_dropped() -> None:
    question = "Who was the U.S. president during the Civil War?"
    assert without_article("The Civil War", question) == "Civil War"
    assert without_article("the civil war", question) == "civil war"
    assert trimmed({"event": "The Civil War"}, SCHEMA, Grounding(question)) == {
        "event": "Civil War"
    }


def test_an_article_the_question_capitalises_or_does_not_hold_stays() -> None:
    assert without_article("The Office", "Ratings for 'The Office' on Hulu") == "The Office"
    assert without_article("The Hague", "The Hague is where?") == "The Hague"
    assert without_article("The Civil War", "Who won the war of 1812?") == "The Civil War"
    assert without_article("Theatre", "Shows at the theatre") == "Theatre"
