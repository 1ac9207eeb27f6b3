"""Checks on what callers hand the memory store, made before any embedding or Redis work.

A memory's text and a search query must be a ``str`` with some non-blank content, no longer
than the store's limit, and valid Unicode: Redis stores UTF-8 bytes and the embedder takes
C strings, so a lone surrogate (``"\\ud800"``, what a bad decode with ``surrogateescape``
leaves behind) cannot be stored or embedded. Ids go into key names and metadata into a JSON
field, so they are checked the same way. Such input is the caller's mistake and no retry can
fix it: it fails at once with an error that says what is wrong and where, and nothing is
embedded or written.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

MAX_ID_CHARS = 256  # user and agent ids become parts of Redis key names


class MemoryInputError(ValueError):
    """A memory text, query, id or metadata value that cannot be stored or searched as given."""


def check_text(text: object, *, what: str, max_chars: int) -> str:
    """``text`` if it is a non-blank, valid-Unicode ``str`` of at most ``max_chars``."""
    if not isinstance(text, str):
        hint = " (decode it to str first)" if isinstance(text, bytes | bytearray) else ""
        raise MemoryInputError(f"{what} must be a str, got {type(text).__name__}{hint}")
    if len(text) > max_chars:
        raise MemoryInputError(
            f"{what} is {len(text):,} characters long, over the limit of {max_chars:,} "
            "(MemoryStoreConfig.max_text_chars); split it or summarize it first"
        )
    if not text.strip():
        raise MemoryInputError(
            f"{what} is empty or only whitespace; there is nothing to "
            + ("search for" if what.startswith("the query") else "remember")
        )
    _check_unicode(text, what)
    return text


def check_texts(texts: object, *, max_chars: int) -> list[str]:
    """Every text of an ``add_many`` batch, checked before any of them is embedded."""
    if isinstance(texts, str | bytes | bytearray):
        raise MemoryInputError(
            f"add_many takes a sequence of texts, not one {type(texts).__name__}; use add()"
        )
    if not isinstance(texts, Sequence):
        raise MemoryInputError(f"texts must be a sequence of str, got {type(texts).__name__}")
    return [
        check_text(text, what=f"texts[{i}]", max_chars=max_chars) for i, text in enumerate(texts)
    ]


def check_id(value: object, what: str) -> str:
    """A user or agent id: a non-empty, valid-Unicode ``str`` of at most ``MAX_ID_CHARS``."""
    if not isinstance(value, str):
        raise MemoryInputError(f"{what} must be a str, got {type(value).__name__}")
    if not value:
        raise MemoryInputError(f"{what} must not be empty")
    if len(value) > MAX_ID_CHARS:
        raise MemoryInputError(
            f"{what} is {len(value):,} characters long, over the limit of {MAX_ID_CHARS} for ids"
        )
    _check_unicode(value, what)
    return value


def check_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of ``metadata`` once it is known to serialize to JSON and encode as UTF-8."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise MemoryInputError(f"metadata must be a dict, got {type(metadata).__name__}")
    try:
        encoded = json.dumps(dict(metadata), ensure_ascii=False)
    except (TypeError, ValueError) as error:
        raise MemoryInputError(f"metadata must be JSON-serializable: {error}") from error
    _check_unicode(encoded, "metadata")
    return dict(metadata)


def check_time(at: object, what: str) -> float | None:
    """An epoch time in seconds, or None; NaN and infinities are refused."""
    if at is None:
        return None
    if isinstance(at, bool) or not isinstance(at, numbers.Real):
        raise MemoryInputError(f"{what} must be epoch seconds (a number), got {type(at).__name__}")
    if not math.isfinite(float(at)):
        raise MemoryInputError(f"{what} must be a finite number of epoch seconds, got {at!r}")
    return float(at)


def _check_unicode(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        code = ord(text[error.start])
        raise MemoryInputError(
            f"{what} is not valid Unicode text: it holds a lone surrogate U+{code:04X} at "
            f"position {error.start}, which cannot be stored as UTF-8 (was it decoded with "
            "errors='surrogateescape'?)"
        ) from None
