"""Catching a small model caught in a loop inside a string it is writing.

Under a grammar that only says "a JSON string goes here", a 135M model sometimes never closes
the string: "Lakers_Clippers_2021_2021_2021_…", "plasma_membrane_name_list_by_type_name_list_
by_type…". The call is then cut by the token budget and nothing of it can be read. Such a
loop is the degenerate repetition greedy decoding is known for (Holtzman et al., 2020, "The
Curious Case of Neural Text Degeneration"); the usual cure, a repetition penalty, would also
punish the quotes and commas every JSON call repeats. So the loop is caught where it happens:
once the string being written ends with the same piece three times over (a long piece,
twice), and the question does not hold that run itself (a DNA sequence "ATGATGATG" copied
from it is no loop), the string is closed, and the repeated tail is cut back to its first
occurrence. A list the model keeps adding one same item to (``"Thai", "Bhima Kala", "Bhima
Kala", "Bhima Kala"…``), or cycles through a few items in (``"Age", "Gender", "Age",
"Gender", "Age"…``), is the same loop one level up: once an item is written a third time,
the list is closed, and each item is kept once.
"""

from __future__ import annotations

import json
import re
from typing import Any

# A run counts as a loop from this many repetitions of a piece this long (in characters).
REPEATS = 3
MIN_PIECE = 2
# A piece at least this long is a loop at its second writing: a long stretch of a value the
# model writes again is never asked for ("…_by_employees_to_remove_email_…" a second time
# runs on for hundreds of characters, so three writings would not fit the token budget).
LONG_PIECE = 16
# A string that holds the call's closing tag has swallowed the rest of the reply: the model
# meant the call to end there ('"data": "]}</tool_call> # 100 trees, 200 trees…').
CALL_END = "</tool_call>"
_STRING_ITEMS = re.compile(r'\s*(?:"(?:[^"\\]|\\.)*"\s*,\s*)*')
_STRING_ITEM = re.compile(r'"((?:[^"\\]|\\.)*)"')


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
    """The piece ``content`` ends repeating ``REPEATS`` times (twice, from ``LONG_PIECE``
    characters), when the question does not hold that run; the shortest such piece."""
    said = question.lower()
    for size in range(MIN_PIECE, len(content) // 2 + 1):
        run = content[-size:] * (REPEATS if size < LONG_PIECE else 2)
        if len(run) <= len(content) and content.endswith(run) and run.lower() not in said:
            return content[-size:]
    return None


def in_loop(text: str, question: str) -> bool:
    """Whether generation that wrote ``text`` is looping inside a string value, or has run
    on past the call's end inside one."""
    content = open_string(text)
    if content is None:
        return False
    return CALL_END in content or looping_piece(content, question) is not None


def list_items_before(text: str) -> list[str] | None:
    """The string items written before the one ``text`` ends inside, when that string is an
    item of a list holding only strings; ``None`` otherwise."""
    content = open_string(text)
    return None if content is None else _items_before(text, content)


def _items_before(text: str, content: str) -> list[str] | None:
    """``list_items_before`` for ``text`` that ends inside the string ``content``."""
    opened = len(text) - len(content) - 1  # the open string's quote
    start = text.rfind("[", 0, opened)
    if start < 0 or _STRING_ITEMS.fullmatch(text, start + 1, opened) is None:
        return None
    return _STRING_ITEM.findall(text, start + 1, opened)


def item_in_loop(text: str, question: str) -> bool:
    """Whether ``text`` ends inside a list's string item that has just become the same as
    ``REPEATS - 1`` items before it, next to it (``"Kala", "Kala", "Kala``) or not
    (``"Age", "Gender", "Age", "Gender", "Age``), when the question does not name that item
    as often: the list should end here."""
    content = open_string(text)
    items = _items_before(text, content) if content else None
    if not content or not items or items.count(content) < REPEATS - 1:
        return False
    return not _named_often(content, question)


def _named_often(item: str, question: str) -> bool:
    """Whether the question holds ``item`` ``REPEATS`` times (then a list may, too)."""
    found = re.findall(rf"(?<!\w){re.escape(item)}(?!\w)", question, re.IGNORECASE)
    return len(found) >= REPEATS


def _collapsed(items: list[Any], question: str) -> list[Any]:
    """``items`` with a run of ``REPEATS`` or more equal items at its end cut back to one,
    when the question does not hold that run; a list of strings that holds its last item
    ``REPEATS`` times, each item once."""
    last = items[-1] if items else None
    strings = all(isinstance(item, str) for item in items)
    if strings and items.count(last) >= REPEATS and not _named_often(str(last), question):
        return list(dict.fromkeys(items))
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
    "Lakers_2021_2021_2021" becomes "Lakers_2021"; a string that ran on past the call's end
    is cut where the call ended."""
    if isinstance(value, str):
        if CALL_END in value:
            return value[: value.index(CALL_END)].rstrip(' ]}"\n')
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
