"""The PKT loss (eq. 8.5) as the reference computes it: a weighted mean of token cross-entropy.

``sum(w * CE) / sum(w)`` over every trained token of the batch. With all weights 1 it is
the ordinary causal-LM loss, so PKT changes only how much each token counts, never the
scale the learning rate was tuned for. Padding and prompt positions carry label ``-100``
(and weight 0) and drop out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import torch
import torch.nn.functional as F

from hanlin.training.data.encoding import IGNORE_INDEX

Cell = TypeVar("Cell", int, float)


def weighted_token_loss(
    logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """Weighted mean cross-entropy of a causal LM.

    ``logits`` is ``[batch, length, vocab]``; ``labels`` and ``weights`` are
    ``[batch, length]`` and aligned with the input ids (position ``t`` is predicted by the
    logits at ``t - 1``: the shift happens here).
    """
    if logits.dim() != 3:
        raise ValueError(f"logits must be [batch, length, vocab], got shape {tuple(logits.shape)}")
    if labels.shape != logits.shape[:2] or weights.shape != labels.shape:
        raise ValueError(
            f"labels {tuple(labels.shape)} and weights {tuple(weights.shape)} must both be "
            f"{tuple(logits.shape[:2])}"
        )
    predicted = logits[:, :-1, :].float()
    targets = labels[:, 1:]
    token_weights = weights[:, 1:].float() * (targets != IGNORE_INDEX).float()
    losses = F.cross_entropy(
        predicted.reshape(-1, predicted.size(-1)),
        targets.reshape(-1),
        ignore_index=IGNORE_INDEX,
        reduction="none",
    ).reshape(targets.shape)
    total_weight = token_weights.sum()
    if total_weight.item() <= 0:
        raise ValueError("no target token carries weight: nothing to learn from this batch")
    return (token_weights * losses).sum() / total_weight


def pad_batch(
    rows: Sequence[Sequence[Cell]], value: Cell, length: int | None = None
) -> list[list[Cell]]:
    """Right-pad rows (ids, labels or weights) to one length, for stacking into a tensor."""
    width = max((len(row) for row in rows), default=0) if length is None else length
    if any(len(row) > width for row in rows):
        raise ValueError(f"a row is longer than the padded length {width}")
    return [list(row) + [value] * (width - len(row)) for row in rows]
