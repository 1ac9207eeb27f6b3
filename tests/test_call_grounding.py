"""Whether a call's values come from the question: the check that keeps or drops a call."""

from __future__ import annotations

from hanlin.llm.call_grounding import Grounding, question_numbers, value_atoms

SCHEMA = {
    "type": "object",
    "properties": {
        "amount": {"type": "number"},
        "currency": {"type": "string", "enum": ["EUR", "USD"]},
        "city": {"type": "string"},
        "express": {"type": "boolean"},
    },
    "required": ["amount", "city"],
}


def test_numbers_are_read_as_written_and_scaled() -> None:
    numbers = question_numbers("Pay $1,500 at 4% over three years, twice 2.5 million, 7,8 and 9")
    assert {1500.0, 4.0, 0.04, 3.0, 2.5, 2_500_000.0, 7.0, 8.0, 9.0} <= numbers
    assert 1.0 not in numbers and 0.0 not in numbers


def test_enum_choices_and_booleans_are_not_values_to_check() -> None:
    atoms = list(value_atoms({"a": True, "b": "EUR", "c": [1, {"d": "Oslo"}]}, {"EUR"}))
    assert atoms == [1.0, "Oslo"]


def test_a_call_with_the_questions_values_is_grounded() -> None:
    grounding = Grounding("Send 250 to the office in Lisbon, express please.")
    assert grounding.is_grounded({"amount": 250, "city": "lisbon", "express": True}, SCHEMA)


def test_a_call_with_invented_values_is_not() -> None:
    grounding = Grounding("What is the tallest mountain in Europe?")
    assert not grounding.is_grounded({"amount": 1, "city": "Paris", "currency": "EUR"}, SCHEMA)


def test_a_call_that_needs_no_values_is_grounded() -> None:
    grounding = Grounding("What time is it?")
    assert grounding.is_grounded({}, {"type": "object", "properties": {}})


def test_a_half_copied_name_is_not_read_from_the_question() -> None:
    grounding = Grounding("Ship it to Porto and to Braga.")
    assert grounding.holds("Porto")
    assert not grounding.holds("Portugal Braga")


def test_a_further_call_must_bring_a_value_no_earlier_call_used() -> None:
    grounding = Grounding("Send 250 to Lisbon and 300 to Porto.")
    first = {"amount": 250, "city": "Lisbon"}
    assert grounding.novel_values({"amount": 300, "city": "Porto"}, [first], SCHEMA) == [
        300.0,
        "Porto",
    ]
    assert grounding.novel_values({"amount": 250, "city": "LISBON"}, [first], SCHEMA) == []
    assert grounding.novel_values({"amount": 999, "city": "Lisbon"}, [first], SCHEMA) == []


def test_words_the_model_read_off_the_tool_or_single_letters_are_not_new() -> None:
    grounding = Grounding("Integrate the function y = x^3 from 0 to 2.")
    schema = {"type": "object", "properties": {"function": {"type": "string"}}}
    first = {"function": "x^3"}
    assert grounding.novel_values({"function": "y"}, [first], schema) == []
    known = {"integrate", "function"}
    assert grounding.novel_values({"function": "function"}, [first], schema, known) == []
    assert 3.0 not in question_numbers("y = x^3")  # an exponent is not a stated value


def test_a_date_written_another_way_brings_only_its_new_words() -> None:
    grounding = Grounding("Book it for 2025-03-14, in Lisbon.")
    schema = {"type": "object", "properties": {"date": {"type": "string"}}}
    first = {"date": "2025-03-14", "city": "Lisbon"}
    assert grounding.novel_values({"date": "14 2025", "city": "Lisbon"}, [first], schema) == []
