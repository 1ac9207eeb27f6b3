"""A tool's value as the text the model reads, with work bounded by how much text is kept.

A tool may return a million rows while the model reads the first few thousand characters.
Structured values are written as compact JSON chunk by chunk, so the work stops once the
character limit is passed instead of converting the whole value first. Values that cannot be
written (a dict containing itself, an object whose ``__str__`` raises) fail with
``UnreadableResult``, which names the returned type. Text that UTF-8 cannot encode is escaped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

_SCALARS = (str, int, float, bool, type(None))
_STRUCTURED = (BaseModel, dict, list, tuple)


class PartialItems(list[Any]):
    """The first ``limit`` items of an iterator that had more; the text says so."""

    def __init__(self, items: list[Any], limit: int) -> None:
        super().__init__(items)
        self.limit = limit


class UnreadableResult(Exception):
    """The tool returned a value that cannot be written as text."""


def truncate(text: str, limit: int | None) -> tuple[str, bool]:
    """Cut ``text`` to ``limit`` characters with a marker saying how much was left out."""
    if limit is None or len(text) <= limit:
        return text, False
    return text[:limit] + f"\n…[truncated {len(text) - limit} more characters]", True


def result_text(value: Any, limit: int | None = None) -> tuple[str, bool]:
    """Text for the model and whether it was cut: strings as they are, structured values as
    compact JSON, anything else through ``str``. At most about ``limit`` characters are made."""
    try:
        if isinstance(value, str):
            text, cut = truncate(value, limit)
        elif value is None:
            text, cut = "(no output)", False
        elif not isinstance(value, _STRUCTURED):
            text, cut = truncate(str(value), limit)
        else:
            text, cut = _bounded_json(value, limit)
    except Exception as exc:  # any failure here is the value's; the message names its type
        lines = str(exc).strip().splitlines()
        message = lines[0] if lines else ""
        detail = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        raise UnreadableResult(
            f"returned a value of type {type(value).__name__} that cannot be "
            f"written as text: {detail}"
        ) from exc
    if isinstance(value, PartialItems) and not cut:
        text += f"\n…[stopped reading after {value.limit} items]"
    return readable(text), cut


def readable(text: str) -> str:
    """``text`` with lone surrogates (undecodable bytes, as ``os.listdir`` returns them) written
    as ``\\udcXX`` escapes: UTF-8 cannot encode them, so a message holding one could not be
    saved to the journal or sent to a model."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _bounded_json(value: Any, limit: int | None) -> tuple[str, bool]:
    parts: list[str] = []
    size = 0
    # A string longer than the limit is cut anyway: escaping only makes it longer.
    for chunk in _chunks(value, set(), None if limit is None else limit + 1):
        parts.append(chunk)
        size += len(chunk)
        if limit is not None and size > limit:
            return (
                "".join(parts)[:limit]
                + f"\n…[truncated after {limit} characters of a longer value]"
            ), True
    return "".join(parts), False


def _chunks(value: Any, path: set[int], cap: int | None) -> Iterator[str]:
    """Compact JSON of ``value`` in pieces; ``path`` holds the containers being written."""
    if isinstance(value, bytes | bytearray):
        value = bytes(value[:cap]).decode("utf-8", "backslashreplace")
    if not isinstance(value, _SCALARS + (dict, list, tuple, set, frozenset)):
        # Models, dataclasses, dates, enums, unknown objects: pydantic's JSON view, else str.
        value = to_jsonable_python(value, fallback=str)
    if isinstance(value, str):
        yield json.dumps(value[:cap], ensure_ascii=False)
        return
    if isinstance(value, _SCALARS):
        yield json.dumps(value, ensure_ascii=False)
        return
    if id(value) in path:
        raise ValueError("Circular reference detected (the value contains itself)")
    path.add(id(value))
    if isinstance(value, dict):
        yield "{"
        for i, (key, item) in enumerate(value.items()):
            yield ("," if i else "") + json.dumps(_key(key), ensure_ascii=False) + ":"
            yield from _chunks(item, path, cap)
        yield "}"
    else:
        yield "["
        for i, item in enumerate(value):
            if i:
                yield ","
            yield from _chunks(item, path, cap)
        yield "]"
    path.discard(id(value))


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool | int | float) or key is None:
        return json.dumps(key)
    plain = to_jsonable_python(key, fallback=str)
    if isinstance(plain, list | tuple):
        return ",".join(str(part) for part in plain)
    return str(plain)


__all__ = ["PartialItems", "UnreadableResult", "readable", "result_text", "truncate"]
