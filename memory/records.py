"""What a long-term memory is, and how it is laid out in Redis.

Every memory is one Redis hash, whatever the vector backend: the Query Engine indexes the
hashes directly, and the in-process index reads the same hashes, so data written with one
backend is served by the other. User and agent ids go into key names percent-encoded (any
text is a valid id) and into indexed TAG fields as short digests (no TAG escaping needed).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Literal
from urllib.parse import quote

import numpy
from pydantic import BaseModel, Field, field_validator

MemoryKind = Literal[
    "turn",
    "daily_summary",
    "global_summary",
    "daily_personality",
    "portrait",
    "reflection",
    "experience",
]
MEMORY_KINDS: tuple[MemoryKind, ...] = (
    "turn",
    "daily_summary",
    "global_summary",
    "daily_personality",
    "portrait",
    "reflection",
    "experience",
)
# Only dialogue turns fade; summaries, personality and portraits are what remains of them.
FORGETTABLE_KINDS: frozenset[str] = frozenset({"turn"})
_DAY_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]+(:[A-Za-z0-9_.\-]+)*$")


class MemoryRecord(BaseModel):
    """One memory: a dialogue turn, a summary, a personality note, a portrait, ..."""

    id: str = Field(min_length=1)
    user_id: str = Field(min_length=1)
    agent_id: str = Field(min_length=1)
    kind: MemoryKind = "turn"
    text: str
    created_at: float  # epoch seconds
    last_recall_at: float  # epoch seconds; equals created_at until the first recall
    strength: int = Field(default=1, ge=1)  # the S of R = exp(-t/S); +1 on every recall
    day: str  # YYYY-MM-DD in the store's time zone; groups turns with their daily summary
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("day")
    @classmethod
    def _check_day(cls, value: str) -> str:
        if not _DAY_PATTERN.match(value):
            raise ValueError(f"day must look like YYYY-MM-DD, got {value!r}")
        return value


class ScoredMemory(BaseModel):
    """A search hit: the memory as stored after this recall, its similarity, its retention."""

    record: MemoryRecord
    score: float  # cosine similarity between the query and the memory, in [-1, 1]
    retention: float  # R just before this search recalled it (1.0 for kinds that never fade)


class MemoryView(BaseModel):
    """A memory as a UI panel shows it: its strength, current retention and when it fades."""

    record: MemoryRecord
    retention: float
    elapsed_units: float  # time since the last recall, in the forgetting curve's unit
    fades: bool  # False for summaries, personality and portraits
    forget_at: float | None  # epoch seconds when R drops below the sweep threshold


class SweepReport(BaseModel):
    """What one forgetting sweep looked at and removed."""

    mode: Literal["threshold", "stochastic"]
    now: float
    users: int
    examined: int  # memories looked at (all kinds)
    forgotten_turns: list[str]  # ids of the turns removed
    removed_summaries: list[str]  # ids of daily summaries removed because their day emptied
    kept_turns: int
    elapsed_s: float


def user_token(user_id: str) -> str:
    """A TAG-safe stand-in for an id: lowercase hex, so any id can be filtered on."""
    return hashlib.blake2b(user_id.encode("utf-8"), digest_size=10).hexdigest()


def _segment(value: str) -> str:
    return quote(value, safe="")


class KeySpace:
    """Redis key names for one store. All keys of a user share a ``{...}`` hash tag."""

    def __init__(self, prefix: str) -> None:
        if not _PREFIX_PATTERN.match(prefix):
            raise ValueError(
                f"memory key prefix {prefix!r} must be ':'-separated words of letters, digits, "
                "'_', '.' or '-' (for example 'hanlin:mem')"
            )
        self.prefix = prefix

    @property
    def record_prefix(self) -> str:
        return f"{self.prefix}:rec:"

    @property
    def users(self) -> str:
        return f"{self.prefix}:users"

    @property
    def meta(self) -> str:
        return f"{self.prefix}:meta"

    def index_name(self, algorithm: str) -> str:
        return f"{self.prefix}:idx:{algorithm.lower()}"

    def record(self, user_id: str, agent_id: str, memory_id: str) -> str:
        return f"{self.prefix}:rec:{{{_segment(user_id)}}}:{_segment(agent_id)}:{memory_id}"

    def ids(self, user_id: str) -> str:
        """ZSET of the user's record keys, scored by creation time."""
        return f"{self.prefix}:ids:{{{_segment(user_id)}}}"

    def version(self, user_id: str) -> str:
        """Counter bumped on every add or delete, so in-process caches know when to reload."""
        return f"{self.prefix}:ver:{{{_segment(user_id)}}}"

    def strength(self, user_id: str) -> str:
        """HASH memory id -> S."""
        return f"{self.prefix}:strength:{{{_segment(user_id)}}}"

    def recalled(self, user_id: str) -> str:
        """HASH memory id -> last recall time (epoch seconds)."""
        return f"{self.prefix}:recalled:{{{_segment(user_id)}}}"

    def graveyard(self, user_id: str) -> str:
        """LIST of the keys of forgotten memories whose hashes are still to be deleted."""
        return f"{self.prefix}:forgotten:{{{_segment(user_id)}}}"

    def summary_days(self, user_id: str) -> str:
        """SET of the user's day keys that have daily summaries."""
        return f"{self.prefix}:sumdays:{{{_segment(user_id)}}}"

    def day(self, user_id: str, agent_id: str, day: str) -> str:
        """Base of the per-day sets: ``<base>:turns`` and ``<base>:summaries``."""
        return f"{self.prefix}:day:{{{_segment(user_id)}}}:{_segment(agent_id)}:{day}"


# Fields of the memory hash, which the vector index covers. Strength and last recall live in
# two per-user hashes instead (``KeySpace.strength`` / ``KeySpace.recalled``, keyed by id):
# the Query Engine re-indexes a hash, vector included, on any write to it, so keeping the
# fields that every recall changes outside makes a recall a cheap HINCRBY, not an HNSW update.
HASH_FIELDS: tuple[str, ...] = (
    "id",
    "user_id",
    "agent_id",
    "kind",
    "text",
    "created_at",
    "day",
    "metadata",
)


def record_to_hash(
    record: MemoryRecord, embedding: numpy.ndarray, keys: KeySpace
) -> dict[str, str | bytes]:
    """The hash fields of a record: its fixed fields plus TAG tokens, day key and vector."""
    return {
        "id": record.id,
        "user_id": record.user_id,
        "agent_id": record.agent_id,
        "kind": record.kind,
        "text": record.text,
        "created_at": repr(record.created_at),
        "day": record.day,
        "metadata": json.dumps(record.metadata, ensure_ascii=False),
        "user_key": user_token(record.user_id),
        "agent_key": user_token(record.agent_id),
        "day_key": keys.day(record.user_id, record.agent_id, record.day),
        "embedding": numpy.ascontiguousarray(embedding, dtype=numpy.float32).tobytes(),
    }


def record_from_values(
    values: list[bytes | None], strength: bytes | None, last_recall_at: bytes | None
) -> MemoryRecord | None:
    """Decode ``HMGET key *HASH_FIELDS`` plus the state; None when the memory is gone.

    Only turns have a stored state; the kinds that never fade read as S = 1, never recalled.
    """
    if values[0] is None:
        return None
    text = [v.decode("utf-8") if isinstance(v, bytes) else v for v in values]
    fields: dict[str, Any] = dict(zip(HASH_FIELDS, text, strict=True))
    fields["metadata"] = json.loads(fields["metadata"] or "{}")
    fields["strength"] = 1 if strength is None else int(strength)
    fields["last_recall_at"] = float(
        fields["created_at"] if last_recall_at is None else last_recall_at
    )
    return MemoryRecord.model_validate(fields)
