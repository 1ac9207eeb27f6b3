"""Training curves from the JSON-lines logs to PNG (matplotlib's Agg backend: no display)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

CURVE_KEYS = ("loss", "reward", "kl", "policy_loss", "value_loss")


def read_log(path: Path) -> list[dict[str, object]]:
    with Path(path).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def plot_curves(
    log_path: Path, png_path: Path, keys: Sequence[str] | None = None, title: str | None = None
) -> Path:
    """One panel per logged quantity (those of ``CURVE_KEYS`` present, or ``keys``), by step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = read_log(log_path)
    if not records:
        raise ValueError(f"{log_path} holds no records to plot")
    shown = [
        k for k in (keys or CURVE_KEYS) if any(isinstance(r.get(k), (int, float)) for r in records)
    ]
    if not shown:
        raise ValueError(f"{log_path} has none of the quantities {list(keys or CURVE_KEYS)}")
    figure, axes = plt.subplots(len(shown), 1, figsize=(7, 2.4 * len(shown)), squeeze=False)
    for axis, key in zip(axes[:, 0], shown, strict=False):
        points = [(r["step"], r[key]) for r in records if isinstance(r.get(key), (int, float))]
        axis.plot(
            [p[0] for p in points], [p[1] for p in points], marker="." if len(points) < 50 else None
        )
        axis.set_ylabel(key)
        axis.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("step")
    figure.suptitle(title or Path(log_path).stem)
    figure.tight_layout()
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(png_path, dpi=100)
    plt.close(figure)
    return png_path
