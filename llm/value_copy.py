"""Writing a string argument again as a copy from the question, when the model made it up.

A 135M model often fills a string parameter with something near the question rather than in
it: "Manchester" for "in Manhattan", "dolphin" for "pandas", "Moses" for "by Michelangelo".
When the rest of its call comes from the question, such a value is written again under a
copy constraint: only text that continues a span of the question beginning at a word, and a
closing quote only where that span ends at a word's end. The model still chooses which span
to copy; it can no longer invent one. This is the copy mechanism of pointer-generator and
CopyNet models (Gu et al., 2016, "Incorporating Copying Mechanism in Sequence-to-Sequence
Learning"), imposed at decoding time instead of learned.

Two arguments holding the same text the question states once ("Boston" as both the cuisine
and the location of "sushi in Boston") are the same slip the other way round: the model
copied the right span into the wrong place. Each of them is then written again as a copy
that may not be that text, and of the writings that take up more of the question the one
the model finds likelier is kept.

Values holding a digit are never copied (a date, a time or a code is legitimately written
in another form than the question's: "2022-03-11" for "March 11, 2022"), nor enum choices
(the grammar keeps those to the schema).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from hanlin.llm.call_grounding import Grounding, words_of
from hanlin.llm.value_loops import open_string

_WORD = re.compile(r"[^\W_]+")
_DIGIT = re.compile(r"\d")
# A JSON key and its colon: what precedes each argument's value in a written call.
KEY = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:\s*')
_ARGUMENTS = '"arguments"'
# A copied value does not end on these: "Manhattan," is "Manhattan" with its comma, and
# "China." the end of a sentence.
_NO_END = " ,;:.!?"


def invented_strings(
    arguments: Mapping[str, Any],
    grounding: Grounding,
    enums: AbstractSet[str],
    required: AbstractSet[str] | None = None,
) -> list[str]:
    """The parameters (of ``required``, when given) whose value is a string the question
    does not state (no digits, not an enum choice): those worth writing again as a copy. An
    optional one is not: unstated, it is dropped and the tool's default applies, where a
    copy would be kept."""
    return [
        key
        for key, value in arguments.items()
        if (required is None or key in required)
        and isinstance(value, str)
        and value.strip()
        and value not in enums
        and not _DIGIT.search(value)
        and not grounding.holds(value)
    ]


@dataclass(frozen=True)
class Copying:
    """Which parameters' string values are copied from the question, and per parameter a
    text (lower case) its copy may not be."""

    keys: frozenset[str]
    avoid: tuple[tuple[str, str], ...] = field(default=())

    def avoided(self, key: str) -> str | None:
        return dict(self.avoid).get(key)


def _same_words(text: str, other: str | None) -> bool:
    return other is not None and words_of(text) == words_of(other)


def duplicated_strings(arguments: Mapping[str, Any], question: str) -> dict[str, str]:
    """The parameters whose string value another parameter holds too (the same words, case
    and punctuation aside), more often than the question states it: each with those words
    in lower case."""
    said = _WORD.findall(question.lower())
    uses: dict[str, list[str]] = {}
    for key, value in arguments.items():
        # Values with digits are never copied (nor could a copy, which holds none, differ).
        if isinstance(value, str) and _WORD.search(value) and not _DIGIT.search(value):
            uses.setdefault(" ".join(_WORD.findall(value.lower())), []).append(key)
    return {
        key: text
        for text, keys in uses.items()
        if len(keys) > 1 and len(keys) > _times(text.split(), said)
        for key in keys
    }


def _times(words: list[str], said: list[str]) -> int:
    return sum(said[at : at + len(words)] == words for at in range(len(said)))


def copy_state(written: str, keys: AbstractSet[str]) -> tuple[str, str, bool] | None:
    """Where a call being written stands with a value to copy: ``(parameter, content so
    far, opened)`` when ``written`` ends inside the string value of one of ``keys``
    (``opened``) or right before it; ``None`` anywhere else."""
    at = written.find(_ARGUMENTS)
    if at < 0:
        return None
    keys_written = list(KEY.finditer(written, at + len(_ARGUMENTS)))
    last = keys_written[-1] if keys_written else None
    if last is None or last.group(1) not in keys:
        return None
    rest = written[last.end() :]
    if not rest:
        return last.group(1), "", False
    content = open_string(written)
    if not rest.startswith('"') or content is None or len(content) != len(rest) - 1:
        return None
    return last.group(1), content, True


class QuestionSpans:
    """Which tokens may come next while a value is copied from ``question``: the question's
    own text, letter case included, so that a copy is the user's words as written."""

    def __init__(self, question: str, vocabulary: Sequence[str]) -> None:
        self.text = question
        size = len(question)
        # Where a copy may end: after a word's last character, not on a comma or a full stop.
        self.word_ends = [
            at
            for at in range(1, size + 1)
            if question[at - 1].isalnum() and (at == size or not question[at].isalnum())
        ]
        # Tokens that can take part in a copy: their text (quote and spaces aside) occurs in
        # the question, or they close a string. No digits: only values without any are
        # copied, and a copy of "1871" for a country made up as "Germany" is no better.
        self.candidates = [
            (token, text)
            for token, text in enumerate(vocabulary)
            if text
            and (text.startswith('"') or text.lstrip(' "') in question)
            and "\\" not in text
            and not _DIGIT.search(text)
        ]

    def _starts(self, span: str) -> list[int]:
        """Where ``span`` occurs in the question beginning at a word."""
        found, at = [], self.text.find(span)
        while at >= 0:
            if at == 0 or not self.text[at - 1].isalnum():
                found.append(at)
            at = self.text.find(span, at + 1)
        return found

    def _closable(self, start: int, length: int, avoid: str | None) -> bool:
        """Whether the copy of ``length`` characters from ``start`` can still end well: at a
        word's end, before any digit, on words other than ``avoid``'s."""
        for end in self.word_ends:
            if end < start + length:
                continue
            if _DIGIT.search(self.text, start + length, end):
                return False
            if not _same_words(self.text[start:end], avoid):
                return True
        return False

    def continues(self, span: str, avoid: str | None = None) -> bool:
        """Whether ``span`` can be part of a copy: it starts at a word of the question, and
        the copy can go on from it to an end."""
        if not span or span[0].isspace():
            return False
        return any(self._closable(at, len(span), avoid) for at in self._starts(span))

    def ends(self, span: str, avoid: str | None = None) -> bool:
        """Whether a copy may stop after ``span``: it ends at a word's end and is not
        ``avoid``."""
        if not span or span[-1] in _NO_END or _same_words(span, avoid):
            return False
        return any(at + len(span) in self.word_ends for at in self._starts(span))

    def allowed(self, content: str, opened: bool, avoid: str | None = None) -> list[int]:
        """The tokens that keep a copy going from ``content``, or close it where it is not
        ``avoid``; before the opening quote, a token must open the string."""
        allowed = []
        for token, text in self.candidates:
            if not opened:
                lead = text.lstrip(" ")
                rest = lead[1:]
                opens = lead.startswith('"') and '"' not in rest
                if opens and (not rest or self.continues(rest, avoid)):
                    allowed.append(token)
            elif text.startswith('"'):
                closes = not text[1:].strip(" ,}\n")  # the quote, then the JSON around it
                if closes and self.ends(content, avoid):
                    allowed.append(token)
            elif '"' not in text and self.continues(content + text, avoid):
                allowed.append(token)
        return allowed
