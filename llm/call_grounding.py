"""Whether a tool call's argument values come from the user's words.

A small model forced to call writes a call whatever the question; when nothing fits, the
values it fills in are invented (a radius of 1, a date of 2022-01-01). A call that fits takes
its values from the question. Two checks follow from that:

* ``is_grounded``: some value of a required argument appears in the question, or the call
  needs no values at all. A call that fails is an invention and is not made.
* ``novel_values``: the values of a further call that appear in the question but in no
  earlier call of the same reply. Several calls in one reply are kept only while each brings
  such a value: "the factorial of 5, 10 and 15" gives three, "the area of a 10 by 5
  triangle" gives one, however often the model would repeat it.

Values chosen from an ``enum`` and booleans say nothing about the question and are skipped.
Numbers match as numbers ("1,500", "4%" as 4 or 0.04, "2 million", "three"), strings when
every word of theirs appears in the question (case aside), so a name the model half-copied
("Tayloun 5" for "Taylor Swift and Maroon 5") is not taken for one it read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

_NUMBER = re.compile(
    r"(?<![\w.^])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?"
    r"(?:\s*(%|percent|k\b|thousand|million|billion|m\b|bn\b))?",
    re.IGNORECASE,
)
_SCALE = {
    "%": 0.01,
    "percent": 0.01,
    "k": 1e3,
    "thousand": 1e3,
    "million": 1e6,
    "m": 1e6,
    "billion": 1e9,
    "bn": 1e9,
}
_NUMBER_WORDS = {
    word: value
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
} | {"thirty": 30, "forty": 40, "fifty": 50, "hundred": 100, "dozen": 12, "half": 0.5}
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def question_numbers(question: str) -> set[float]:
    """Every number the question states, each as written and, with a scale word or a percent
    sign, also scaled."""
    found: set[float] = set()
    for match in _NUMBER.finditer(question):
        digits = match.group(0)
        unit = match.group(1)
        if unit:
            digits = digits[: match.start(1) - match.start(0)]
        digits = digits.replace(",", "").strip()
        if not digits or digits in {"-", "+", "."} or not any(c.isdigit() for c in digits):
            continue
        try:
            value = float(digits)
        except ValueError:
            continue
        found.add(value)
        if unit:
            found.add(value * _SCALE[unit.lower()])
    for word in _WORD.findall(question.lower()):
        if word in _NUMBER_WORDS:
            found.add(float(_NUMBER_WORDS[word]))
    return found


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _enum_values(schema: Any) -> set[str]:
    """Every enum value anywhere in a JSON schema, as text."""
    values: set[str] = set()
    if isinstance(schema, Mapping):
        for key, value in schema.items():
            if key == "enum" and isinstance(value, list):
                values.update(str(v) for v in value)
            else:
                values |= _enum_values(value)
    elif isinstance(schema, list):
        for item in schema:
            values |= _enum_values(item)
    return values


def value_atoms(value: Any, enums: AbstractSet[str] = frozenset()) -> Iterator[float | str]:
    """The numbers and strings inside an argument value, enum choices and booleans left out."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int | float):
        if math.isfinite(value):
            yield float(value)
    elif isinstance(value, str):
        text = value.strip()
        if text and text not in enums:
            yield text
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from value_atoms(item, enums)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from value_atoms(item, enums)


class Grounding:
    """The question's numbers and words, read once, against which calls are checked."""

    def __init__(self, question: str) -> None:
        self.numbers = question_numbers(question)
        self.words = set(_words(question))

    def holds(self, atom: float | str) -> bool:
        """Whether the question states this value."""
        if isinstance(atom, float):
            return any(math.isclose(atom, n, rel_tol=1e-9, abs_tol=1e-12) for n in self.numbers)
        words = _words(atom)
        return bool(words) and all(word in self.words for word in words)

    def is_grounded(self, arguments: Mapping[str, Any], schema: Mapping[str, Any]) -> bool:
        """Whether a call's required values come, at least in part, from the question."""
        enums = _enum_values(schema)
        required = schema.get("required") or list(arguments)
        atoms = [a for key in required for a in value_atoms(arguments.get(key), enums)]
        return not atoms or any(self.holds(a) for a in atoms)

    def novel_values(
        self,
        arguments: Mapping[str, Any],
        earlier: Iterable[Mapping[str, Any]],
        schema: Mapping[str, Any],
        known_words: AbstractSet[str] = frozenset(),
    ) -> list[float | str]:
        """Values of this call stated in the question and new to the reply: a number no
        earlier call holds, or a string with a word no earlier call holds. Words of one
        letter and ``known_words`` (the tool's own name and description) are never new: a
        model that writes "function" into a ``function`` argument read it off the tool."""
        enums = _enum_values(schema)
        seen_numbers: set[float] = set()
        seen_words: set[str] = set(known_words)
        for call in earlier:
            for atom in value_atoms(call, enums):
                if isinstance(atom, float):
                    seen_numbers.add(atom)
                else:
                    seen_words.update(_words(atom))
                    seen_numbers |= question_numbers(atom)
        novel: list[float | str] = []
        for atom in value_atoms(arguments, enums):
            if not self.holds(atom):
                continue
            if isinstance(atom, float):
                fresh = not any(math.isclose(atom, n, rel_tol=1e-9) for n in seen_numbers)
            else:
                fresh = any(len(w) > 1 and w not in seen_words for w in _words(atom))
            if fresh:
                novel.append(atom)
        return novel


def words_of(text: str) -> set[str]:
    """The lower-case words of ``text``, as the checks compare them."""
    return set(_words(text))
