"""The memory panel's content: a user's memories, their forgetting curves, summaries, portrait.

Reads the MemoryStore only; nothing here writes, so opening the panel never changes what an
agent will recall (listing is not recalling: strengths stay as they are).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel

from hanlin.memory.forgetting import ForgettingCurve
from hanlin.memory.records import MemoryView

TABLE_HEADERS = ["kind", "agent", "memory", "strength S", "retention R", "last recall", "fades at"]
MAX_CURVES = 12
TEXT_PREVIEW = 160


class MemoryPanel(BaseModel):
    rows: list[list[Any]]
    summaries: str
    portrait: str
    views: list[MemoryView]


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "never"
    return dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= TEXT_PREVIEW else flat[: TEXT_PREVIEW - 1] + "…"


def panel_from_views(views: list[MemoryView]) -> MemoryPanel:
    rows = [
        [
            v.record.kind,
            v.record.agent_id,
            _preview(v.record.text),
            v.record.strength,
            round(v.retention, 3),
            _when(v.record.last_recall_at),
            _when(v.forget_at) if v.fades else "—",
        ]
        for v in views
    ]
    daily = sorted(
        (v for v in views if v.record.kind == "daily_summary"),
        key=lambda v: v.record.day,
        reverse=True,
    )
    overall = [v for v in views if v.record.kind == "global_summary"]
    parts = [f"**Overall**: {overall[0].record.text}"] if overall else []
    parts += [f"**{v.record.day}**: {v.record.text}" for v in daily]
    portraits = [v for v in views if v.record.kind == "portrait"]
    return MemoryPanel(
        rows=rows,
        summaries="\n\n".join(parts) or "No summaries yet: a day is summarised when it closes.",
        portrait=portraits[0].record.text if portraits else "No portrait yet.",
        views=views,
    )


async def load_panel(store: Any, user_id: str) -> MemoryPanel:
    return panel_from_views(await store.list(user_id))


def forgetting_figure(views: list[MemoryView], curve: ForgettingCurve) -> Any:
    """R = exp(-Δt/S) for each fading memory from its last recall, with today marked."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 3.4), dpi=100)
    axes = figure.add_subplot()
    fading = [v for v in views if v.fades][:MAX_CURVES]
    horizon = max([v.elapsed_units for v in fading] + [1.0]) * 1.6 + 1.0
    for view in fading:
        samples = curve.curve(view.record.strength, horizon, points=80)
        (line,) = axes.plot(
            [t for t, _ in samples],
            [r for _, r in samples],
            linewidth=1.4,
            label=f"S={view.record.strength}: {_preview(view.record.text)[:28]}",
        )
        axes.scatter([view.elapsed_units], [view.retention], color=line.get_color(), zorder=3)
    unit = "days" if curve.unit_seconds == 86_400 else f"units of {curve.unit_seconds:g} s"
    axes.set_xlabel(f"time since last recall ({unit})")
    axes.set_ylabel("retention R")
    axes.set_ylim(0, 1.05)
    axes.set_title("Forgetting curves (dot: now)" if fading else "No fading memories yet")
    if fading:
        axes.legend(fontsize=7, loc="upper right")
    figure.tight_layout()
    return figure
