"""Dates read whatever their written form, and rewritten in the pattern a parameter asks for."""

from __future__ import annotations

import datetime as dt

from hanlin.llm.call_grounding import Grounding
from hanlin.llm.value_dates import as_date, date_pattern, dated, stated_dates

DAY = dt.date(2019, 12, 13)


def test_whole_dates_are_read_in_forms_that_name_the_month_or_are_iso() -> None:
    for written in ("December 13, 2019", "Dec. 13th 2019", "13 December 2019", "2019-12-13"):
        assert as_date(written) == DAY, written
    assert as_date("Mar.10,2022") == dt.date(2022, 3, 10)
    text = "Plan a picnic on the 4th of march 2023 or on June 30th, 2023."
    assert stated_dates(text) == [dt.date(2023, 3, 4), dt.date(2023, 6, 30)]


def test_what_could_be_misread_or_is_not_a_whole_date_is_not_read() -> None:
    assert as_date("03/10/2022") is None  # March or October, depending on the reader
    assert as_date("December 2019") is None  # no day
    assert as_date("February 30, 2020") is None  # no such day
    assert as_date("December 13, 2019 at noon") is None  # more than a date
    assert stated_dates("Room 2019-13-45 is booked.") == []


def test_the_pattern_comes_from_the_schema_format_or_the_description() -> None:
    assert date_pattern({"type": "string", "format": "date"}) == "%Y-%m-%d"
    described = {"type": "string", "description": "The day, in the format 'YYYY-MM-DD'."}
    assert date_pattern(described) == "%Y-%m-%d"
    assert date_pattern({"type": "string", "description": "As MM/DD/YYYY."}) == "%m/%d/%Y"
    assert date_pattern({"type": "string", "description": "dd.mm.yyyy"}) == "%d.%m.%Y"
    # A date-time pattern, a pattern that repeats a part, and a number are not dates.
    assert date_pattern({"type": "string", "description": "ISO 'YYYY-MM-DDTHH:MM:SS'"}) is None
    assert date_pattern({"type": "string", "description": "YYYY-MM-MM"}) is None
    assert date_pattern({"type": "integer", "format": "date"}) is None
    assert date_pattern({"type": "string", "description": "The city."}) is None


def test_a_date_is_rewritten_in_its_parameters_pattern_and_nothing_else_is() -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "date": {"type": "string", "description": "Day in the format YYYY-MM-DD."},
            "until": {"type": "string", "description": "Last day, MM/DD/YYYY."},
            "note": {"type": "string"},
        },
    }
    arguments = {
        "city": "Oslo",
        "date": "December 13, 2019",
        "until": "2019-12-20",
        "note": "December 13, 2019",
    }
    assert dated(arguments, schema) == {
        "city": "Oslo",
        "date": "2019-12-13",
        "until": "12/20/2019",
        "note": "December 13, 2019",  # no pattern asked for: left as written
    }
    assert dated({"date": "next Friday"}, schema) == {"date": "next Friday"}


def test_a_date_in_another_form_is_stated_by_the_question() -> None:
    grounding = Grounding("What was the weather in Paris on December 13, 2019?")
    assert grounding.holds("2019-12-13")
    assert not grounding.holds("2019-12-14")
    assert grounding.holds("Paris")
