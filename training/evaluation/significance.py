"""How far a held-out score can be trusted: Wilson intervals and an exact paired test.

A rate measured on n turns is uncertain by about ``1/sqrt(n)``: on 64 turns a tool-selection
rate of 0.45 has a 95 % interval from 0.33 to 0.57, so two variants 0.1 apart may not
differ at all. Variants are scored on the same turns, so they are compared paired: only
the turns where exactly one of them is right carry information, and under "no difference"
each such turn is a fair coin (McNemar's exact test: a two-sided binomial test at 1/2).
Both are a few lines of the standard library, not worth a SciPy dependency.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

from pydantic import BaseModel


def wilson_interval(successes: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a rate; unlike ``p ± z·se`` it stays inside [0, 1] and
    is honest near 0 and 1, where small test sets put the base model."""
    if total <= 0:
        raise ValueError("an interval needs at least one trial")
    if not 0 <= successes <= total:
        raise ValueError(f"successes must be within [0, {total}], got {successes}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    rate = successes / total
    centre = (rate + z * z / (2 * total)) / (1 + z * z / total)
    half = (
        z * math.sqrt(rate * (1 - rate) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    )
    return max(0.0, centre - half), min(1.0, centre + half)


def mcnemar_exact(only_first: int, only_second: int) -> float:
    """Two-sided p-value that two paired variants are equally good, from the turns only the
    first (``only_first``) or only the second (``only_second``) got right."""
    if only_first < 0 or only_second < 0:
        raise ValueError("discordant counts cannot be negative")
    discordant = only_first + only_second
    if discordant == 0:
        return 1.0
    tail = sum(math.comb(discordant, k) for k in range(min(only_first, only_second) + 1))
    return min(1.0, 2 * tail / 2**discordant)


class PairedComparison(BaseModel):
    """``only_variant`` / ``only_baseline``: turns only that side got right."""

    only_variant: int
    only_baseline: int
    p_value: float


def compare_paired(variant: Sequence[bool], baseline: Sequence[bool]) -> PairedComparison:
    if len(variant) != len(baseline):
        raise ValueError(
            f"paired comparison needs equal lengths, got {len(variant)} and {len(baseline)}"
        )
    only_variant = sum(1 for v, b in zip(variant, baseline, strict=False) if v and not b)
    only_baseline = sum(1 for v, b in zip(variant, baseline, strict=False) if b and not v)
    return PairedComparison(
        only_variant=only_variant,
        only_baseline=only_baseline,
        p_value=mcnemar_exact(only_variant, only_baseline),
    )
