"""Catching a small model caught in a loop inside a string it is writing.

Under a grammar that only says "a JSON string goes here", a 135M model sometimes never closes
the string: "Lakers_Clippers_2021_2021_2021_…", "plasma_membrane_name_list_by_type_name_list_
by_type…". The call is then cut by the token budget and nothing of it can be read. Such a
loop is the degenerate repetition greedy decoding is known for (Holtzman et al., 2020, "The
Curious Case of Neural Text Degeneration"); the usual cure, a repetition penalty, would also
punish the quotes and commas every JSON call repeats. So the loop is caught where it happens:
once the string being written ends with the same piece three times over, and the question
does not hold that run itself (a DNA sequence "ATGATGATG" copied from it is no loop), the
string is closed, and the repeated tail is cut back to its first occurrence. A list the
model keeps adding one same item to (``"Thai", "Bhima Kala", "Bhima Kala", "Bhima Kala"…``)
is the same loop one level up: once an item is written a third time, the list is closed, and
the run cut back to one.
"""

from __future__ import annotations

import json
import re
from typing import Any

# A run counts as a loop from this many repetitions of a piece this long (in characters).
REPEATS = 3
MIN_PIECE = 2


def open_string(text: str) -> str | None:
    """The content of the JSON string ``text`` ends inside, or ``None`` when it ends outside
    one. Generated calls hold quotes only as string delimiters or escaped inside strings."""
    inside = False
    start = 0
    escaped = False
    for at, char in enumerate(text):
        if inside and escaped:
            escaped = False
        elif inside and char == "\\":
            escaped = True
        elif char == '"':
            inside = not inside
            start = at + 1
    return text[start:] if inside else None


def looping_piece(content: str, question: str) -> str | None:
    """The piece ``content`` ends repeating ``REPEATS`` times, when the question does not hold
    that run; the shortest such piece."""
    for size in range(MIN_PIECE, len(content) // REPEATS + 1):
        piece = content[-size:]
        run = piece * REPEATS
        if content.endswith(run) and run.lower() not in question.lower():
            return piece
    return None


def in_loop(text: str, question: str) -> bool:
    """Whether generation that wrote ``text`` is looping inside a string value."""
    content = open_string(text)
    return content is not None and looping_piece(content, question) is not None


def item_in_loop(text: str, question: str) -> bool:
    """Whether ``text`` ends inside a list's string item that has just become the same as the
    ``REPEATS - 1`` items before it (``"Kala", "Kala", "Kala``), when the question does not
    hold that run: the list should end here."""
    content = open_string(text)
    if not content:
        return False
    item = re.escape(content)
    pattern = rf'"{item}"\s*,\s*' * (REPEATS - 1) + rf'"{item}$'
    if re.search(pattern, text) is None:
        return False
    said = question.lower()
    return not any(
        ", ".join([form] * REPEATS).lower() in said for form in (content, f'"{content}"')
    )


def _collapsed(items: list[Any], question: str) -> list[Any]:
    """``items`` with a run of ``REPEATS`` or more equal items at its end cut back to one,
    when the question does not hold that run."""
    run = 0
    while run < len(items) and items[-1 - run] == items[-1]:
        run += 1
    if run < REPEATS:
        return items
    said = question.lower()
    shown = [", ".join(json.dumps(i) for i in items[-run:]), ", ".join(map(str, items[-run:]))]
    if any(text.lower() in said for text in shown):
        return items
    return items[: len(items) - run + 1]


def unlooped(value: Any, question: str) -> Any:
    """``value`` with each string's looping tail cut back to its first occurrence:
    "Lakers_2021_2021_2021" becomes "Lakers_2021"."""
    if isinstance(value, str):
        piece = looping_piece(value, question)
        if piece is None:
            return value
        while value.endswith(piece * 2):
            value = value[: -len(piece)]
        return value.rstrip(" _-,.;:/") or value
    if isinstance(value, dict):
        return {key: unlooped(item, question) for key, item in value.items()}
    if isinstance(value, list):
        return _collapsed([unlooped(item, question) for item in value], question)
    return value
