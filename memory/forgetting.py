"""The Ebbinghaus forgetting curve of MemoryBank: R = exp(-Δt / S).

Δt is the time since the memory was last recalled (or created), measured in a configurable
unit (days by default), and S is its strength: 1 at first mention, +1 on every recall, which
also restarts Δt. Stronger memories therefore fade more slowly. (MemoryBank's released code
writes ``exp(-t / 5*S)``, which Python reads as exp(-t·S/5), so there stronger memories fade
*faster*; this module follows the paper.)

A memory is forgotten when R falls below a cutoff: a fixed threshold (deterministic), or a
uniform draw per memory as in the paper (``random() > R``), from a seeded generator so that
a sweep can be replayed.
"""

from __future__ import annotations

import math
import time
from typing import Literal, Protocol

import numpy
from pydantic import BaseModel, Field

from hanlin.memory.records import FORGETTABLE_KINDS, MemoryRecord

SweepMode = Literal["threshold", "stochastic"]
SECONDS_PER_DAY = 86_400.0


class Clock(Protocol):
    """Where "now" comes from, so tests and demos can simulate days passing."""

    def now(self) -> float:
        """Current time in epoch seconds."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def set(self, when: float) -> None:
        self._now = float(when)

    def advance(
        self, *, days: float = 0.0, hours: float = 0.0, minutes: float = 0.0, seconds: float = 0.0
    ) -> float:
        """Move forward (never backward) and return the new time."""
        step = days * SECONDS_PER_DAY + hours * 3600.0 + minutes * 60.0 + seconds
        if step < 0:
            raise ValueError(f"a ManualClock only moves forward (asked to move {step}s)")
        self._now += step
        return self._now


class ForgettingCurve(BaseModel):
    """R = exp(-Δt / S), with Δt counted in units of ``unit_seconds`` (a day by default)."""

    unit_seconds: float = Field(default=SECONDS_PER_DAY, gt=0)

    def elapsed_units(self, last_recall_at: float, now: float) -> float:
        """Time since the last recall in curve units; never negative (clock skew counts as 0)."""
        return max(0.0, now - last_recall_at) / self.unit_seconds

    def retention(self, strength: float, last_recall_at: float, now: float) -> float:
        if strength <= 0:
            raise ValueError(f"memory strength must be positive, got {strength}")
        return math.exp(-self.elapsed_units(last_recall_at, now) / strength)

    def record_retention(self, record: MemoryRecord, now: float) -> float:
        """R of a record; 1.0 for kinds that never fade (summaries, personality, ...)."""
        if record.kind not in FORGETTABLE_KINDS:
            return 1.0
        return self.retention(record.strength, record.last_recall_at, now)

    def forget_at(self, strength: float, last_recall_at: float, threshold: float) -> float:
        """When R reaches ``threshold`` if never recalled: Δt = -S·ln(threshold)."""
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"the forgetting threshold must be in (0, 1), got {threshold}")
        return last_recall_at - strength * math.log(threshold) * self.unit_seconds

    def curve(
        self, strength: float, horizon_units: float, points: int = 50
    ) -> list[tuple[float, float]]:
        """(Δt, R) samples from 0 to ``horizon_units``, for plotting a forgetting curve."""
        if points < 2:
            raise ValueError(f"a curve needs at least 2 points, got {points}")
        steps = numpy.linspace(0.0, horizon_units, points)
        return [(float(t), math.exp(-float(t) / strength)) for t in steps]


def recalled(record: MemoryRecord, now: float) -> MemoryRecord:
    """The record after one recall: S + 1 and Δt restarting at ``now``."""
    return record.model_copy(update={"strength": record.strength + 1, "last_recall_at": now})


def forget_cutoffs(
    mode: SweepMode, count: int, *, threshold: float, rng: numpy.random.Generator | None = None
) -> numpy.ndarray:
    """One cutoff per memory, in sweep order; a memory is forgotten when its R < cutoff.

    ``threshold`` mode uses the same cutoff for all; ``stochastic`` draws uniform [0, 1)
    values from ``rng`` (seed it to replay a sweep), which is MemoryBank's ``random() > R``.
    """
    if mode == "threshold":
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"the forgetting threshold must be in [0, 1], got {threshold}")
        return numpy.full(count, threshold, dtype=numpy.float64)
    if mode == "stochastic":
        return (rng or numpy.random.default_rng()).random(count)
    raise ValueError(f"unknown sweep mode {mode!r}; use 'threshold' or 'stochastic'")


def is_forgotten(retention: float, cutoff: float) -> bool:
    return retention < cutoff
