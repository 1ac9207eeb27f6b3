"""Whether a call's values come from the question: the check that keeps or drops a call."""

from __future__ import annotations

from hanlin.llm.call_grounding import Grounding, question_mentions, value_atoms

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
    mentions = question_mentions("Pay $1,500 at 4% over three years, twice 2.5 million, 7,8 and 9")
    numbers = set().union(*mentions)
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


QUADRATIC = {
    "type": "object",
    "properties": {k: {"type": "number"} for k in "abc"},
    "required": ["a", "b", "c"],
}


def test_a_term_subtracted_in_a_formula_is_stated_as_negative() -> None:
    quadratic = Grounding("Find the roots of x^2 - 5x + 6 = 0.")
    assert quadratic.holds(-5.0) and quadratic.holds(5.0) and not quadratic.holds(-6.0)
    assert quadratic.is_grounded({"a": 1, "b": -5, "c": 6}, QUADRATIC)
    # A sign written against its number is read as before, and a hyphen is no minus.
    assert question_mentions("from -3 to 4") == [frozenset({-3.0}), frozenset({4.0})]
    assert frozenset({-12.0}) not in question_mentions("a 34-year-old, SKU-12")
    # A copied formula spends its terms as written, a 0 and a subtracted one included.
    linear = Grounding("Solve 2x - 3 = 0 for x, then evaluate at 3.")
    assert linear.unused_after({"equation": "2x - 3 = 0"}) == [frozenset({3.0})]


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
    assert grounding.novel_values({"amount": 300, "city": "Porto"}, [first]) == [
        300.0,
        "Porto",
    ]
    assert grounding.novel_values({"amount": 250, "city": "LISBON"}, [first]) == []
    assert grounding.novel_values({"amount": 999, "city": "Lisbon"}, [first]) == []


def test_words_the_model_read_off_the_tool_or_single_letters_are_not_new() -> None:
    grounding = Grounding("Integrate the function y = x^3 from 0 to 2.")
    first = {"function": "x^3"}
    assert grounding.novel_values({"function": "y"}, [first]) == []
    known = {"integrate", "function"}
    assert grounding.novel_values({"function": "function"}, [first], known) == []
    assert frozenset({3.0}) not in question_mentions("y = x^3")  # an exponent is not a stated value


def test_a_date_written_another_way_brings_only_its_new_words() -> None:
    grounding = Grounding("Book it for 2025-03-14, in Lisbon.")
    first = {"date": "2025-03-14", "city": "Lisbon"}
    assert grounding.novel_values({"date": "14 2025", "city": "Lisbon"}, [first]) == []


def test_each_statement_of_a_number_is_one_mention_with_its_forms() -> None:
    mentions = question_mentions("Invest $5,000 at 5% for 5 years, then 2 million more.")
    assert mentions == [
        frozenset({5000.0}),
        frozenset({5.0, 0.05}),
        frozenset({5.0}),
        frozenset({2.0, 2_000_000.0}),
    ]


def test_a_percent_written_the_other_way_is_not_a_new_value() -> None:
    grounding = Grounding("Invest 5000 at an annual rate of 4% for 3 years.")
    first = {"amount": 5000, "rate": 4}
    assert grounding.novel_values({"amount": 5000, "rate": 0.04}, [first]) == []
    # "three sides: 3, 4 and 5" states 3 twice; a second call with 3, 4, 5 is no new one.
    twice = Grounding("The area of a triangle from its three sides: 3, 4 and 5.")
    sides = {"amount": [3, 4, 5]}
    assert twice.novel_values(sides, [sides]) == []


def test_a_place_with_its_region_is_stated_by_its_name() -> None:
    grounding = Grounding("Find lawyers near me in New York.")
    assert grounding.holds("New York, NY")
    assert not grounding.holds("Albany, New York")


def test_optional_values_the_question_does_not_state_are_left_out() -> None:
    schema = {
        "type": "object",
        "properties": {
            "start": {"type": "string"},
            "avoid_tolls": {"type": "boolean"},
            "scenic": {"type": "boolean"},
            "unit": {"type": "string", "enum": ["km", "miles"]},
            "stops": {"type": "integer"},
        },
        "required": ["start"],
    }
    grounding = Grounding("Fastest route from Oslo with toll roads avoided, in miles.")
    arguments = {
        "start": "Bergen",
        "avoid_tolls": False,
        "scenic": True,
        "unit": "miles",
        "stops": 2,
    }
    # The required value stays whatever it is; a boolean counts as stated by its name.
    assert grounding.unstated_optional(arguments, schema) == ["scenic", "stops"]


def test_a_number_written_inside_a_copied_string_is_not_stated_again() -> None:
    schema = {
        "type": "object",
        "properties": {"function": {"type": "string"}, "x_value": {"type": "number"}},
        "required": ["function"],
    }
    grounding = Grounding("Calculate the derivative of the function 3x^2 + 2x - 1.")
    arguments = {"function": "3x^2 + 2x - 1", "x_value": 3.0}
    assert grounding.unstated_optional(arguments, schema) == ["x_value"]
    # Stated on its own, the same number is the x value.
    at_three = Grounding("Calculate the derivative of 3x^2 + 2x - 1 at x = 3.")
    assert at_three.unstated_optional(arguments, schema) == []
    # A string the question does not state uses nothing up.
    made_up = {"function": "3x^3", "x_value": 3.0}
    assert grounding.unstated_optional(made_up, schema) == []


def test_a_name_is_stated_give_or_take_its_ending() -> None:
    grounding = Grounding("Run the regression and apply standardization, tolls excluded.")
    assert grounding.names("standardize") and grounding.names("toll")
    assert not grounding.names("is_standard_deviation")
    assert not grounding.names("species")


def test_a_plural_abbreviation_names_the_full_word() -> None:
    grounding = Grounding("Show the last match of the team and include its statistics.")
    assert grounding.names("include_stats")
    assert not Grounding("Show the state of the team and include it.").names("include_stats")


FLAGS = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "details": {"type": "boolean"},
        "include_hourly": {"type": "boolean"},
        "metric": {"type": "boolean"},
    },
}


def test_a_flag_the_question_names_is_set_the_way_it_says() -> None:
    written = {"city": "Oslo", "details": False, "include_hourly": True, "metric": False}
    asked = Grounding("A detailed forecast for Oslo, but don't include hourly figures.")
    assert asked.flagged(written, FLAGS) == {
        "city": "Oslo",
        "details": True,  # named, so asked for
        "include_hourly": False,  # named after a negation
        "metric": False,  # never named: the model's choice stands
    }
    without = Grounding("The forecast for Oslo without details.")
    assert without.flagged({"details": True}, FLAGS) == {"details": False}
    # A value that is not a boolean is left alone, whatever its name.
    assert asked.flagged({"details": "yes"}, FLAGS) == {"details": "yes"}


def test_a_call_that_takes_up_more_of_the_question_corrects_the_last() -> None:
    grounding = Grounding("What will $5000 be worth after 10 years at 5%, in Yellowstone Bank?")
    misread = {"amount": 10, "years": 10, "rate": 5, "bank": "Bear Lake Bank"}
    right = {"amount": 5000, "years": 10, "rate": 5, "bank": "Yellowstone Bank"}
    assert grounding.corrects(right, misread)
    assert not grounding.corrects(misread, right)
    assert not grounding.corrects(right, right)  # the same call again corrects nothing
    # Each statement of a number is taken up once: the first call's second 10 took none.
    assert ("number", 0) in grounding.coverage(right)
    assert ("number", 0) not in grounding.coverage(misread)
    # Calls for different stated values each take up something the other does not.
    twice = Grounding("The factorial of 5 and of 10.")
    assert not twice.corrects({"n": 10}, {"n": 5})


def test_a_number_written_as_text_is_new_only_where_its_statement_is_unused() -> None:
    grounding = Grounding("The weather at 46.6,1.9 on 2019-12-13, and in Paris.")
    first = {"coordinates": [46.6, 1.9], "date": "2019-12-13"}
    assert grounding.novel_values({"city": "46.6", "date": "2019-12-13"}, [first]) == []
    assert grounding.novel_values({"city": "Paris", "date": "2019-12-13"}, [first]) == ["Paris"]
    rooms = Grounding("Book room 12, then room 14.")
    assert rooms.novel_values({"room": "room 14"}, [{"room": "room 12"}]) == ["room 14"]


def test_the_digits_of_a_scaled_amount_are_written_as_the_amount() -> None:
    grounding = Grounding("Revenues were $1M in 2019 and $1.2M in 2020; 3 billion users.")
    schema = {
        "properties": {
            "year1": {"type": "integer"},
            "revenue1": {"type": "integer", "description": "Revenue of the first year."},
            "revenue2": {"type": "number"},
            "users_m": {"type": "number", "description": "Users, in millions."},
            "counts": {"type": "array", "items": {"type": "number"}},
        }
    }
    arguments = {"year1": 2019, "revenue1": 1, "revenue2": 1.2, "users_m": 3, "counts": [3, 7]}
    assert grounding.scaled(arguments, schema) == {
        "year1": 2019,
        "revenue1": 1_000_000,
        "revenue2": 1_200_000.0,
        "users_m": 3,
        "counts": [3_000_000_000, 7],
    }


def test_a_number_also_stated_plainly_is_left_as_written() -> None:
    grounding = Grounding("Open 2 stores with a $2M budget, at 5% for 5 years.")
    schema = {"properties": {"stores": {"type": "integer"}, "rate": {"type": "number"}}}
    assert grounding.scaled({"stores": 2, "rate": 5}, schema) == {"stores": 2, "rate": 5}


def test_a_percent_is_a_fraction_unless_its_parameter_speaks_of_percent() -> None:
    grounding = Grounding("Invest $1000 at 5% a year, with 7.5 percent fees, over 12 years.")
    schema = {
        "properties": {
            "rate": {"type": "number", "description": "The annual interest rate."},
            "fees": {"type": "number", "description": "Fees as a percentage."},
            "years": {"type": "integer"},
        }
    }
    arguments = {"rate": 5, "fees": 7.5, "years": 12}
    assert grounding.scaled(arguments, schema) == {"rate": 0.05, "fees": 7.5, "years": 12}
    whole = {"properties": {"rate": {"type": "integer", "description": "The rate."}}}
    assert grounding.scaled({"rate": 5}, whole) == {"rate": 5}


def test_a_unit_letter_is_not_a_scale() -> None:
    grounding = Grounding("A car at 20 m/s, a gas at 300K, a prize of $5k and 2 million fans.")
    schema = {"properties": {k: {"type": "number"} for k in ("speed", "temp", "prize", "fans")}}
    arguments = {"speed": 20, "temp": 300, "prize": 5, "fans": 2}
    assert grounding.scaled(arguments, schema) == {
        "speed": 20,
        "temp": 300,
        "prize": 5000,
        "fans": 2_000_000,
    }


def test_a_decimal_cut_short_is_written_in_full() -> None:
    grounding = Grounding("Revenues of $1M in 2019 and $1.2M in 2020, over 8.5 million km2.")
    schema = {
        "properties": {
            "first": {"type": "number"},
            "second": {"type": "number"},
            "area": {"type": "number"},
            "year": {"type": "integer"},
        }
    }
    arguments = {"first": 1, "second": 1, "area": 8, "year": 2019}
    fixed = grounding.untruncated(arguments, schema)
    assert fixed == {"first": 1, "second": 1.2, "area": 8.5, "year": 2019}
    assert grounding.scaled(fixed, schema) == {
        "first": 1_000_000,
        "second": 1_200_000.0,
        "area": 8_500_000.0,
        "year": 2019,
    }


def test_a_whole_number_stated_or_for_an_integer_stays_as_written() -> None:
    grounding = Grounding("Split 2.5 kg among 2 people, then 3.5 and 3.75 kg.")
    schema = {"properties": {"kg": {"type": "number"}, "people": {"type": "integer"}}}
    assert grounding.untruncated({"kg": 2, "people": 2}, schema) == {"kg": 2, "people": 2}
    assert grounding.untruncated({"kg": 3, "people": 3}, schema) == {"kg": 3, "people": 3}
    revenue = Grounding("Revenue went from $1M to $1.2M.")
    whole = {"properties": {"before": {"type": "integer"}, "after": {"type": "integer"}}}
    assert revenue.untruncated({"before": 1, "after": 1}, whole) == {
        "before": 1,
        "after": 1_200_000,
    }
