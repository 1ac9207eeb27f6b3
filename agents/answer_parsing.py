"""Reading a final answer out of a model's free text, and the majority vote over answers.

Debate aggregates agents by voting on *parsed* answers, so parsing decides the result as much
as the agents do. The rules follow Du et al. (2023)'s evaluation, with these defects of the
public reference scripts fixed:

1. Boxed answers: the reference matched any ``{...}`` of digits (``\\{([0-9.,$]*)\\}``), not
   only ``\\boxed{...}``, and could not read nested braces (``\\boxed{\\frac{1}{2}}``). Here
   only ``\\boxed`` (or ``\\fbox``) counts, with balanced braces, and the last one wins.
2. Signs and fractions: the reference deleted every character but ``[0-9.]``, so ``-7`` became
   ``7`` and ``3/4`` became ``34``. Here the sign is kept and ``3/4``, ``\\frac{3}{4}`` and
   ``1 1/2`` are read as exact fractions.
3. Thousands separators: the last-number fallback ``\\d+\\.?\\d*`` read ``1,234`` as ``234``,
   and the arithmetic script replaced ``,`` with ``.`` (``1,234`` became ``1.234``). Here a
   comma followed by groups of three digits is a thousands separator.
4. Equal values vote together: ``18``, ``18.0``, ``$18`` and ``36/2`` are all ``"18"``.
5. Unparsed answers abstain: the reference let ``None`` win the vote and then scored a
   ``None`` vote as correct; here an agent without a parsable answer casts no vote, and a
   question with no parsed answer at all has no final answer (scored wrong).
6. Choices: the reference took the last ``\\((\\w)\\)``, so ``(i)`` or ``(2)`` in the reasoning
   counted as a choice, fell back to numbers, and checked ``None`` only for the last agent.
   Here only the letters A-E count, as ``(B)``, ``B)``, ``answer is C`` or ``\\boxed{D}``.
7. Ties: the reference's ``Counter.most_common`` tie order was undocumented. Here a tie goes
   to the tied answer given first in agent order, which is stable across runs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Literal

AnswerKind = Literal["number", "choice"]
Parser = Callable[[str], str | None]

_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_NUMBER = re.compile(
    r"(?<![\w.])(?P<sign>[-\u2212])?\$?"
    r"(?:(?P<whole>\d+)\s+(?=\d+/\d))?"  # the whole part of a mixed number: 1 1/2
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?:\s*/\s*(?P<den>\d+(?:\.\d+)?))?"
)
_CHOICE_PATTERNS = [
    re.compile(r"\\boxed\s*\{\s*\(?([A-E])\)?\s*\}"),
    re.compile(r"\(([A-E])\)"),
    re.compile(r"\b(?i:answer|choice|option)\s*(?:is|:)?\s*:?\s*\(?([A-E])\b\)?"),
    re.compile(r"(?:^|\s)([A-E])\)"),
]


def boxed_contents(text: str) -> list[str]:
    """The contents of every ``\\boxed{...}`` in ``text``, braces balanced, in order."""
    found: list[str] = []
    for match in _BOXED.finditer(text):
        depth, start = 1, match.end()
        for index in range(start, len(text)):
            if text[index] == "{":
                depth += 1
            elif text[index] == "}":
                depth -= 1
                if depth == 0:
                    found.append(text[start:index])
                    break
    return found


def canonical_number(value: Fraction) -> str:
    """One spelling per value: integers plain, finite decimals without trailing zeros,
    other fractions as ``p/q``."""
    if value.denominator == 1:
        return str(value.numerator)
    denominator = value.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    if denominator == 1:
        text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return f"{value.numerator}/{value.denominator}"


def _to_fraction(text: str) -> Fraction | None:
    try:
        return Fraction(Decimal(text.replace(",", "")))
    except (InvalidOperation, ValueError, ZeroDivisionError):
        return None


def numbers_in(text: str) -> list[str]:
    """Every number in ``text`` in canonical form, in order of appearance."""
    text = _FRAC.sub(lambda m: f"{m.group(1).strip()}/{m.group(2).strip()}", text)
    values: list[str] = []
    for match in _NUMBER.finditer(text):
        value = _to_fraction(match.group("num"))
        if value is None:
            continue
        if match.group("den") is not None:
            denominator = _to_fraction(match.group("den"))
            if not denominator:
                continue
            value /= denominator
        if match.group("whole") is not None:
            value += int(match.group("whole"))
        if match.group("sign"):
            value = -value
        values.append(canonical_number(value))
    return values


def parse_last_number(text: str) -> str | None:
    """The last number in ``text`` (the paper's arithmetic answers are stated at the end)."""
    found = numbers_in(text)
    return found[-1] if found else None


def parse_number_answer(text: str) -> str | None:
    """The last ``\\boxed{...}`` holding a number, else the last number in the text."""
    for content in reversed(boxed_contents(text)):
        number = parse_last_number(content)
        if number is not None:
            return number
    return parse_last_number(text)


def parse_choice(text: str) -> str | None:
    """A multiple-choice letter A-E; the most explicit form present wins, the last of that form."""
    for pattern in _CHOICE_PATTERNS:
        found = pattern.findall(text)
        if found:
            return found[-1].upper()
    return None


def parser_for(kind: AnswerKind) -> Parser:
    return {"number": parse_number_answer, "choice": parse_choice}[kind]


def normalize_reference(answer: str, kind: AnswerKind = "number") -> str | None:
    """A gold answer in the parsed answers' form (GSM8K: the text after ``####``)."""
    if kind == "choice":
        return parse_choice(f"({answer.strip().upper()})")
    tail = answer.rsplit("####", 1)[-1]
    return parse_last_number(tail)


def majority_vote(answers: Sequence[str | None]) -> str | None:
    """The most common parsed answer; ``None`` abstains; a tie goes to the answer given first."""
    votes = Counter(a for a in answers if a is not None)
    if not votes:
        return None
    top = max(votes.values())
    return next(a for a in answers if a is not None and votes[a] == top)
