"""Dates read as dates, and written the way a tool asks for them.

A question says "December 13, 2019"; the tool's parameter asks for "YYYY-MM-DD". A 135M model
copies the question's form, which the tool cannot read, or writes the ISO form, which shares
no word with the question ("12" is not in "December 13, 2019"), so the grounding checks took
it for made up. Dates are therefore compared as dates, whatever their written form, and a
date a string parameter holds is rewritten in the pattern the parameter states: JSON
Schema's ``"format": "date"`` (RFC 3339 full-date, what pydantic writes for a ``date``
field), or a pattern its description names ("in the format YYYY-MM-DD", "MM/DD/YYYY").

Only whole dates are read (day, month and year), in forms that cannot be misread: ISO
("2019-12-13") and those that name the month ("December 13, 2019", "Dec. 13th 2019",
"13 December 2019", "the 2nd of March 2023"). "03/10/2022" is March or October depending on
the reader, so it is neither read nor rewritten; a value in a pattern with a time of day is
left alone too.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(\d{4})"
_ISO = re.compile(r"(?<![\d-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\d])")
_BEFORE_YEAR = r"(?:,\s*|\s+)"
_MONTH_FIRST = re.compile(rf"\b({_MONTH})\b\.?\s*{_DAY}{_BEFORE_YEAR}{_YEAR}\b", re.IGNORECASE)
_DAY_FIRST = re.compile(
    rf"\b{_DAY}\s+(?:of\s+)?({_MONTH})\b\.?{_BEFORE_YEAR}{_YEAR}\b", re.IGNORECASE
)
# A date pattern a description names, its three parts in any order with one separator; one
# followed by a time of day ("YYYY-MM-DDTHH:MM:SS") is a date-time, not a date.
_PATTERN = re.compile(
    r"\b(YYYY|MM|DD)([-/.])(YYYY|MM|DD)\2(YYYY|MM|DD)\b(?![T ]?[Hh]{2})", re.IGNORECASE
)
_STRFTIME = {"yyyy": "%Y", "mm": "%m", "dd": "%d"}


def _date(year: str, month: int | str, day: str) -> dt.date | None:
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None


def _found(text: str) -> list[tuple[int, int, dt.date]]:
    """Each whole date ``text`` writes: where it starts and ends, and the date."""
    found = []
    for match in _ISO.finditer(text):
        date = _date(match[1], match[2], match[3])
        if date:
            found.append((match.start(), match.end(), date))
    for match in _MONTH_FIRST.finditer(text):
        date = _date(match[3], _MONTHS[match[1].lower()], match[2])
        if date:
            found.append((match.start(), match.end(), date))
    for match in _DAY_FIRST.finditer(text):
        date = _date(match[3], _MONTHS[match[2].lower()], match[1])
        if date:
            found.append((match.start(), match.end(), date))
    return sorted(found, key=lambda hit: hit[0])


def date_spans(text: str) -> list[tuple[int, int]]:
    """Where each whole date ``text`` writes starts and ends."""
    return [(start, end) for start, end, _date in _found(text)]


def stated_dates(text: str) -> list[dt.date]:
    """The whole dates ``text`` writes, in order."""
    return [date for _start, _end, date in _found(text)]


def as_date(value: str) -> dt.date | None:
    """``value`` read as one date, when that is all it is (spaces and a final full stop
    aside)."""
    text = value.strip().rstrip(".")
    found = _found(text)
    if len(found) == 1 and found[0][0] == 0 and found[0][1] == len(text):
        return found[0][2]
    return None


def date_pattern(schema: Any) -> str | None:
    """The ``strftime`` pattern a string parameter asks its dates in, if it names one."""
    if not isinstance(schema, Mapping) or schema.get("type") not in (None, "string"):
        return None
    if schema.get("format") == "date":
        return "%Y-%m-%d"
    match = _PATTERN.search(str(schema.get("description") or ""))
    if match is None:
        return None
    parts = [match[1].lower(), match[3].lower(), match[4].lower()]
    if sorted(parts) != ["dd", "mm", "yyyy"]:
        return None
    return match[2].join(_STRFTIME[part] for part in parts)


def dated(arguments: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """``arguments`` with each string value that is a date written in the pattern its
    parameter asks for."""
    properties = schema.get("properties") or {}
    out = dict(arguments)
    for key, value in arguments.items():
        pattern = date_pattern(properties.get(key)) if isinstance(properties, Mapping) else None
        date = as_date(value) if pattern and isinstance(value, str) else None
        if pattern and date is not None:
            out[key] = date.strftime(pattern)
    return out
