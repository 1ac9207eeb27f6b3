"""Whether a tool call's argument values come from the user's words.

A small model forced to call writes a call whatever the question; when nothing fits, the
values it fills in are invented (a radius of 1, a date of 2022-01-01). A call that fits takes
its values from the question. Three checks follow from that:

* ``is_grounded``: some value of a required argument appears in the question, or the call
  needs no values at all. A call that fails is an invention and is not made.
* ``mostly_stated``: more than half of them do. The reply's first call must meet it once
  final, after later proposals had their chance to put misread values right.
* ``novel_values``: the values of a further call that appear in the question but in no
  earlier call of the same reply. Several calls in one reply are kept only while each brings
  such a value: "the factorial of 5, 10 and 15" gives three, "the area of a 10 by 5
  triangle" gives one, however often the model would repeat it.

Booleans say nothing about the question and are skipped; so are ``enum`` choices when
judging a first call (the model picks one whatever the question), while a further call may
differ in one the question states ("in celsius and in fahrenheit").
Numbers match as numbers ("1,500", "4%" as 4 or 0.04, "2 million", "three"), strings when
every word of theirs appears in the question (case aside), so a name the model half-copied
("Tayloun 5" for "Taylor Swift and Maroon 5") is not taken for one it read; a string shaped
"name, region" needs only its name ("Boston, MA" for "in Boston"), and a date when the question
states that day in any form ``value_dates`` reads ("2019-12-13" for "December 13, 2019").
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from hanlin.llm.value_dates import as_date, stated_dates

_NUMBER = re.compile(
    r"(?<![\w.^])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?"
    r"(?:\s*(%|percent|k\b|thousand|million|billion|m\b|bn\b))?",
    re.IGNORECASE,
)
# A minus between two terms, spaced as in "x^2 - 5x": what follows it is a negative term.
_SUBTRACTED = re.compile(r"[\w)^]\s+[-−]\s+$")
# An amount with a scale: a currency sign before it and a letter after ("$1.2M", "€5k"), or
# the scale written out ("3 billion").
_AMOUNT = re.compile(
    r"(?<![\w.])[$€£¥]\s?(\d[\d,]*(?:\.\d+)?)\s?(k|m|bn)\b"
    r"|(?<![\w.])(\d[\d,]*(?:\.\d+)?)\s*(thousand|million|billion)\b",
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
# Words by which a parameter says it counts in a scale: "revenue in millions", "amount_k".
_SCALE_WORDS = frozenset(
    "k thousand thousands m mn million millions b bn billion billions scale scaled".split()
)
_NUMBER_WORDS = {
    word: value
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
} | {"thirty": 30, "forty": 40, "fifty": 50, "hundred": 100, "dozen": 12, "half": 0.5}
# Words that carry no value of their own: "The Battle of Hastings" after "Battle of
# Hastings" asks for nothing new.
_FUNCTION_WORDS = frozenset(
    "a an the of in on at to for from by with and or as is are be this that it its "
    "i me my we our you your please".split()
)
# Words that turn a flag the question names off: "without details", "don't include stats".
_NEGATIONS = frozenset("no not without excluding exclude except never don doesn".split())
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def question_mentions(question: str, words: bool = True) -> list[frozenset[float]]:
    """Each number the question states, once per time it is stated, as the set of values it
    may be written as: the digits, and with a scale word or a percent sign also the scaled
    value ("5%" is 5 or 0.05, "2 million" is 2 or 2000000); then, unless ``words`` is false,
    the numbers it writes as words ("three")."""
    found = [
        frozenset({value, value * _SCALE[unit]} if unit else {value, -value} if term else {value})
        for value, unit, term in _written_numbers(question)
    ]
    for word in _WORD.findall(question.lower()) if words else ():
        if word in _NUMBER_WORDS:
            found.append(frozenset({float(_NUMBER_WORDS[word])}))
    return found


def _written_numbers(question: str) -> Iterator[tuple[float, str, bool]]:
    """Each number the question writes in digits, with the scale word or percent sign after
    it in lower case ("" for none), and whether it is a term subtracted in a formula (the
    -5 of "x^2 - 5x + 6")."""
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
        yield value, (unit or "").lower(), bool(_SUBTRACTED.search(question, 0, match.start()))


def _same_number(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def enum_values(schema: Any) -> set[str]:
    """Every enum value anywhere in a JSON schema, as text."""
    values: set[str] = set()
    if isinstance(schema, Mapping):
        for key, value in schema.items():
            if key == "enum" and isinstance(value, list):
                values.update(str(v) for v in value)
            else:
                values |= enum_values(value)
    elif isinstance(schema, list):
        for item in schema:
            values |= enum_values(item)
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
        self.question = question
        self.mentions = question_mentions(question)
        self.numbers: set[float] = set().union(*self.mentions)
        self.ordered = _words(question)
        self.words = set(self.ordered)
        self.dates = set(stated_dates(question))

    def holds(self, atom: float | str) -> bool:
        """Whether the question states this value."""
        if isinstance(atom, float):
            return any(_same_number(atom, n) for n in self.numbers)
        if self.dates and as_date(atom) in self.dates:
            return True  # "2019-12-13" for "on December 13, 2019"
        # "Los Angeles, CA" for "in Los Angeles": a place written as "name, region" is
        # stated when its name is; any other string needs all of its words.
        words = _words(atom.split(",", 1)[0]) or _words(atom)
        return bool(words) and all(word in self.words for word in words)

    def is_grounded(self, arguments: Mapping[str, Any], schema: Mapping[str, Any]) -> bool:
        """Whether a call's required values come, at least in part, from the question."""
        atoms = _required_atoms(arguments, schema)
        return not atoms or any(self.holds(a) for a in atoms)

    def mostly_stated(self, arguments: Mapping[str, Any], schema: Mapping[str, Any]) -> bool:
        """Whether more than half of a call's required values (booleans and enum choices
        aside) are stated in the question."""
        atoms = _required_atoms(arguments, schema)
        return 2 * sum(self.holds(a) for a in atoms) > len(atoms) if atoms else True

    def unstated_optional(
        self, arguments: Mapping[str, Any], schema: Mapping[str, Any]
    ) -> list[str]:
        """The optional arguments the question says nothing about: left out, the tool's own
        default applies instead of a value the model made up. A boolean counts as stated
        when its name is ("with toll roads avoided" states ``avoid_tolls``); any other value
        when one of its values appears in the question, a number only where no other
        argument of the call took that statement of it (x=4, y=5 leave no 4 for z; a
        function "3x^2 + 1" leaves no 3 for x)."""
        required = set(schema.get("required") or ())
        # A stated number fills one argument, required ones first.
        unused = self.unused_after({k: v for k, v in arguments.items() if k in required})
        unstated = []
        for key, value in arguments.items():
            if key in required:
                continue
            if not self.states(key, value, unused):
                unstated.append(key)
        return unstated

    def restated(self, value: float) -> float | None:
        """The stated number ``value`` miscopies by a run of zeros, the nearest in size when
        no other is as near:
        a small model counting repeated digits writes 1000 for "$10,000" or 200 for
        "$2000". Both must be whole numbers, the larger ending in 000."""
        value = float(value)
        if self.holds(value) or not value.is_integer() or value == 0:
            return None
        size = math.log10(abs(value))
        fits = sorted(
            (round(abs(math.log10(abs(n)) - size)), n)
            for mention in self.mentions
            for n in mention
            if n.is_integer() and n != 0 and _zeros_apart(value, n)
        )
        if not fits or (len(fits) > 1 and fits[1][0] == fits[0][0] and fits[1][1] != fits[0][1]):
            return None
        return fits[0][1]

    def repaired(self, value: Any) -> Any:
        """``value`` with each number ``restated`` fixes put back, whole numbers as ints."""
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int | float):
            fixed = self.restated(value) if math.isfinite(value) else None
            return value if fixed is None else (int(fixed) if isinstance(value, int) else fixed)
        if isinstance(value, dict):
            return {key: self.repaired(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.repaired(item) for item in value]
        return value

    def scaled(self, arguments: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
        """``arguments`` with each number that is only the digits of a scaled amount written
        as the amount, which a small model copying the digits it sees leaves as they are:
        "revenues of $1M" is 1000000, not 1; "a rate of 5%" is 0.05, unless its parameter
        speaks of percent. Left alone: a parameter that counts in that scale ("revenue in
        millions", "rate in percent"), a number the question also states unscaled, and a
        letter that may be a unit ("20 m/s", "300K": only "$1M", "€5k" and scales written
        out count).
        A rate whose description is silent is read as a fraction, as financial and
        statistical libraries take it (numpy-financial's ``rate``, a probability)."""
        amounts = scaled_amounts(self.question)
        plain = {n for m in self.mentions if len(m) == 1 for n in m}
        properties = schema.get("properties") or {}
        out = dict(arguments)
        for key, value in arguments.items():
            spec = properties.get(key) if isinstance(properties, Mapping) else None
            if not isinstance(spec, Mapping):
                continue
            said = f"{key} {spec.get('description', '')}".replace("_", " ").lower()
            kinds = set()
            if _SCALE_WORDS.isdisjoint(_words(said)):
                kinds.add("scale")
            if spec.get("type") != "integer" and "%" not in said and "percent" not in said:
                kinds.add("percent")
            usable = [(digits, amount) for digits, amount, kind in amounts if kind in kinds]
            out[key] = _scaled_value(value, usable, plain)
        return out

    def untruncated(
        self, arguments: Mapping[str, Any], schema: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``arguments`` with each whole number that cuts a stated decimal short written in
        full: 8 for "8.5 million", or a second 1 for "$1.2M" once "$1M" gave the first. A
        135M model closes a number after its whole part as often as not. Only where no
        statement left unused holds the number as written and exactly one holds a decimal
        with that whole part; an integer parameter takes it only as a whole amount
        ("$1.2M" as 1200000)."""
        unused = list(self.mentions)
        properties = schema.get("properties") or {}
        out = dict(arguments)
        for key, value in arguments.items():
            spec = properties.get(key) if isinstance(properties, Mapping) else None
            whole = isinstance(spec, Mapping) and spec.get("type") == "integer"
            out[key] = _untruncated(value, unused, whole)
        return out

    def unused_after(
        self, arguments: Mapping[str, Any], in_digits: bool = False
    ) -> list[frozenset[float]]:
        """The question's statements of numbers (with ``in_digits``, those written in
        digits) that ``arguments`` leave unused. A string the question states uses up the
        numbers written in it: the 3 of "3x^2 + 2x - 1", copied as the function, is not
        there to be an x value as well."""
        unused = question_mentions(self.question, words=False) if in_digits else list(self.mentions)
        for atom in value_atoms(arguments):
            if isinstance(atom, float):
                _use_up(unused, atom)
            elif self.holds(atom):
                for mention in question_mentions(atom):
                    _use_up(unused, _as_written(mention))
        return unused

    def states(self, key: str, value: Any, unused: list[frozenset[float]] | None = None) -> bool:
        """Whether the question states this argument: a boolean by naming ``key``, any
        other value by holding one of its values (enum choices included). A
        number must come from a statement still in ``unused``, which it then uses up."""
        if isinstance(value, bool):
            return self.names(key)
        unused = list(self.mentions) if unused is None else unused
        for atom in value_atoms(value):
            if isinstance(atom, str) and self.holds(atom):
                return True
            if isinstance(atom, float) and any(_holds_number(m, atom) for m in unused):
                _use_up(unused, atom)
                return True
        return False

    def coverage(self, arguments: Mapping[str, Any]) -> frozenset[tuple[str, Any]]:
        """What of the question a call's values take up: each statement of a number (by its
        place among the question's numbers) and each word of a string the question states,
        function words and digits aside (numbers count by their statements)."""
        unused = list(enumerate(self.mentions))
        taken: set[tuple[str, Any]] = set()
        for atom in value_atoms(arguments):
            if isinstance(atom, float):
                at = next((k for k, (_i, m) in enumerate(unused) if _holds_number(m, atom)), None)
                if at is not None:
                    taken.add(("number", unused.pop(at)[0]))
                continue
            if self.holds(atom):
                taken.update(
                    ("word", word)
                    for word in _words(atom)
                    if word not in _FUNCTION_WORDS and not word.isdigit()
                )
        return frozenset(taken)

    def corrects(self, arguments: Mapping[str, Any], earlier: Mapping[str, Any]) -> bool:
        """Whether a call takes up all the question an ``earlier`` one did, and more: it is
        that call written again with a misread value put right ("$5000" where the first
        wrote 10, "Yellowstone" where it wrote "Bear Lake"), not a call of its own."""
        return self.coverage(arguments) > self.coverage(earlier)

    def names(self, name: str) -> bool:
        """Whether the question names ``name`` (a boolean parameter): each of its
        words of three letters or more appears, give or take an ending ("standardize" for
        "standardization", "toll" for "tolls", "stats" for "statistics")."""
        words = _name_words(name)
        return bool(words) and all(any(_same_stem(w, q) for q in self.words) for w in words)

    def flagged(self, arguments: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
        """``arguments`` with each boolean the question names set the way it says: on, or
        off when a negation comes just before it ("without details"). A question that names
        a flag is asking for it; a 135M model writes ``false`` there as often as not."""
        properties = schema.get("properties") or {}
        fixed = dict(arguments)
        for key, value in arguments.items():
            declared = properties.get(key, {}).get("type") if isinstance(properties, dict) else None
            if isinstance(value, bool) and declared == "boolean" and self.names(key):
                fixed[key] = not self._negated(key)
        return fixed

    def _negated(self, name: str) -> bool:
        words = _name_words(name)
        said = self.ordered
        first = next(
            (at for at, q in enumerate(said) if any(_same_stem(w, q) for w in words)), None
        )
        return first is not None and any(w in _NEGATIONS for w in said[max(0, first - 3) : first])

    def novel_values(
        self,
        arguments: Mapping[str, Any],
        earlier: Iterable[Mapping[str, Any]],
        known_words: AbstractSet[str] = frozenset(),
    ) -> list[float | str]:
        """Values of this call stated in the question and new to the reply: a number from a
        mention no earlier call used (in any of its forms: after 5 for "5%", 0.05 is not
        new; a value stated twice is not new the second time either), or a string with a
        word no earlier call holds, function words ("the", "of") aside. Words of one
        letter and ``known_words`` (the tool's own name and description) are never new: a
        model that writes "function" into a ``function`` argument read it off the tool.
        An enum choice counts like any string: only when the question states it."""
        used: list[float] = []
        seen_words: set[str] = set(known_words)
        for call in earlier:
            for atom in value_atoms(call):
                if isinstance(atom, float):
                    used.append(atom)
                else:
                    seen_words.update(_words(atom))
                    used.extend(_as_written(mention) for mention in question_mentions(atom))
        # A statement any earlier value was read from is spent, whatever its form.
        unused = [m for m in self.mentions if not any(_holds_number(m, v) for v in used)]
        novel: list[float | str] = []
        for atom in value_atoms(arguments):
            if not self.holds(atom):
                continue
            if isinstance(atom, float):
                fresh = any(_holds_number(mention, atom) for mention in unused)
            else:
                # Numbers written as text count as numbers: "46.603354" as a city, after a
                # call that took 46.603354 as a coordinate, brings nothing new.
                fresh = any(
                    len(w) > 1 and w not in seen_words and w not in _FUNCTION_WORDS
                    for w in _words(atom)
                    if not w.isdigit()
                ) or any(
                    _holds_number(mention, value)
                    for stated in question_mentions(atom)
                    for value in stated
                    for mention in unused
                )
            if fresh:
                novel.append(atom)
        return novel


def _name_words(name: str) -> list[str]:
    """The words of a parameter name that say what it is: those of three letters or more."""
    return [w for w in _words(name) if len(w) > 2]


def _same_stem(a: str, b: str) -> bool:
    if a == b:
        return True
    if min(len(a), len(b)) < 4:
        return False
    # A plural abbreviation: "stats" for "statistics", "specs" for "specifications".
    for short, full in ((a, b), (b, a)):
        abbreviates = len(full) >= len(short) + 3 and full.startswith(short[:-1])
        if short.endswith("s") and len(short) > 4 and abbreviates:
            return True
    common = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
    shared = min(len(a), len(b)) if common is None else common
    return shared >= min(len(a), len(b), 6)


def scaled_amounts(question: str) -> list[tuple[float, float, str]]:
    """(digits, amount, kind) for each amount the question writes with a scale: "$1.2M" is
    (1.2, 1200000, "scale"), "3 billion" (3, 3e9, "scale"), "5%" (5, 0.05, "percent");
    "20 m/s" and "300K" are units, not scales."""
    found = []
    for match in _AMOUNT.finditer(question):
        digits = (match.group(1) or match.group(3)).replace(",", "")
        unit = (match.group(2) or match.group(4)).lower()
        value = float(digits)
        found.append((value, value * _SCALE[unit], "scale"))
    for value, unit, _term in _written_numbers(question):
        if unit in {"%", "percent"}:
            found.append((value, value * _SCALE[unit], "percent"))
    return found


def _scaled_value(value: Any, amounts: list[tuple[float, float]], plain: set[float]) -> Any:
    """``value`` (a number or a list of them) with digits of a scaled amount scaled."""
    if isinstance(value, list):
        return [_scaled_value(item, amounts, plain) for item in value]
    if isinstance(value, bool) or not isinstance(value, int | float) or value in plain:
        return value
    for digits, scaled in amounts:
        if _same_number(float(value), digits):
            return int(scaled) if isinstance(value, int) and scaled.is_integer() else scaled
    return value


def _holds_number(mention: AbstractSet[float], value: float) -> bool:
    return any(_same_number(value, form) for form in mention)


def _zeros_apart(a: float, b: float) -> bool:
    """Whether two whole numbers differ only by trailing zeros, the larger having 000."""
    small, large = sorted((abs(int(a)), abs(int(b))))
    if (a < 0) != (b < 0) or not str(large).endswith("000"):
        return False
    digits, rest = str(small), str(large)
    return rest.startswith(digits) and set(rest[len(digits) :]) == {"0"}


def _untruncated(value: Any, unused: list[frozenset[float]], whole: bool) -> Any:
    """``value`` (a number or a list) read against the statements still ``unused``, which
    it uses up; a whole number no statement holds made the decimal it cuts short."""
    if isinstance(value, list):
        return [_untruncated(item, unused, whole) for item in value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    number = float(value)
    if not number.is_integer() or any(_holds_number(m, number) for m in unused):
        _use_up(unused, number)
        return value
    cut = [
        (at, form, max(mention))
        for at, mention in enumerate(unused)
        for form in mention
        if not form.is_integer() and abs(form) >= 1 and math.trunc(form) == number
    ]
    if len(cut) != 1:
        return value
    at, form, largest = cut[0]
    if whole:  # an integer takes the decimal only scaled to a whole number ("$1.2M")
        if not largest.is_integer() or largest < 1000 * abs(form):
            return value
        form = int(largest)
    del unused[at]
    return form


def _required_atoms(arguments: Mapping[str, Any], schema: Mapping[str, Any]) -> list[float | str]:
    """The values of a call's required arguments that say something about the question
    (booleans and enum choices aside); every argument when the schema requires none."""
    enums = enum_values(schema)
    required = schema.get("required") or list(arguments)
    return [a for key in required for a in value_atoms(arguments.get(key), enums)]


def _as_written(mention: frozenset[float]) -> float:
    """The value a statement is spent as: the smallest of its forms ("5%" as 0.05), where a
    subtracted term is spent as its digits, not their negative."""
    return min(n for n in mention if n >= 0 or -n not in mention)


def _use_up(mentions: list[frozenset[float]], value: float) -> None:
    """Remove the first mention ``value`` may have been read from, if any."""
    for at, mention in enumerate(mentions):
        if _holds_number(mention, value):
            del mentions[at]
            return


def words_of(text: str) -> set[str]:
    """The lower-case words of ``text``, as the checks compare them."""
    return set(_words(text))
