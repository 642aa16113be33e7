"""The activity picture: writes per day by origin, drawn by the server as SVG.

:func:`activity` counts history entries per day (UTC) and origin; :func:`bars` lays
them out as stacked bars (numbers only); the template ``_activity.html`` draws them,
escaping every text (an origin is whatever a writer named itself).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from langmem.store.history import HistoryEntry

__all__ = ["Activity", "Bar", "Chart", "activity", "bars"]

DAYS = 30
COLOURS = 6  # origins drawn in their own colour; the rest share "other"
UNKNOWN = "origin unknown"
OTHER = "other origins"


@dataclass(frozen=True)
class Activity:
    """Writes per (day, origin) over ``days`` days ending ``last`` (UTC)."""

    last: date
    days: int
    counts: Counter[tuple[date, str]]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def activity(entries: Iterable[HistoryEntry], *, last: date, days: int = DAYS) -> Activity:
    """Count ``entries`` made in the ``days`` days up to ``last`` by day and origin."""
    first = last - timedelta(days=days - 1)
    counts: Counter[tuple[date, str]] = Counter()
    for entry in entries:
        day = entry.at.date()
        if first <= day <= last:
            counts[day, entry.origin or UNKNOWN] += 1
    return Activity(last, days, counts)


@dataclass(frozen=True)
class Segment:
    origin: str
    colour: int  # index of the origin's colour class
    count: int
    y: float
    height: float


@dataclass(frozen=True)
class Bar:
    day: date
    x: float
    total: int
    segments: list[Segment]


@dataclass(frozen=True)
class Chart:
    """Stacked bars in a ``width`` x ``height`` picture, with axis ticks and a legend."""

    width: int
    height: int
    plot_top: float
    plot_bottom: float
    bar_width: float
    bars: list[Bar]
    y_ticks: list[tuple[float, int]]  # (y, count)
    x_ticks: list[tuple[float, str]]  # (x at a bar's centre, day label)
    legend: list[tuple[int, str, int]]  # (colour, origin, writes)
    total: int
    summary: str


def bars(data: Activity, *, width: int = 720, height: int = 200) -> Chart:
    """Lay ``data`` out: one bar per day, oldest left, split by origin (busiest origins
    first, from the bottom)."""
    by_origin: Counter[str] = Counter()
    for (_, origin), count in data.counts.items():
        by_origin[origin] += count
    ranked = sorted(by_origin, key=lambda origin: (-by_origin[origin], origin))
    named = ranked[: COLOURS - 1] if len(ranked) > COLOURS else ranked
    colour = {origin: i for i, origin in enumerate(named)}
    grouped: Counter[tuple[date, str]] = Counter()
    for (day, origin), count in data.counts.items():
        grouped[day, origin if origin in colour else OTHER] += count
    legend_order = named + ([OTHER] if len(ranked) > len(named) else [])
    colour.setdefault(OTHER, COLOURS - 1)

    left, top, bottom = 36.0, 10.0, height - 24.0
    step = (width - left - 8) / data.days
    peak = max(
        (sum(c for (d, _), c in grouped.items() if d == day) for day, _ in grouped), default=0
    )
    scale_max = _nice(peak)
    per = (bottom - top) / scale_max if scale_max else 0.0
    first = data.last - timedelta(days=data.days - 1)
    out: list[Bar] = []
    for i in range(data.days):
        day = first + timedelta(days=i)
        y = bottom
        segments = []
        for origin in legend_order:
            count = grouped.get((day, origin), 0)
            if count:
                y -= count * per
                segments.append(Segment(origin, colour[origin], count, y, count * per))
        total = sum(segment.count for segment in segments)
        out.append(Bar(day, left + i * step + step * 0.15, total, segments))
    y_ticks = [(bottom - n * per, n) for n in _ticks(scale_max)]
    x_ticks = [
        (left + i * step + step / 2, f"{first + timedelta(days=i):%b %d}")
        for i in range(data.days - 1, -1, -7)  # the last day labelled, then every week before
    ]
    totals = {
        origin: sum(c for (_, o), c in grouped.items() if o == origin) for origin in legend_order
    }
    legend = [(colour[origin], origin, totals[origin]) for origin in legend_order]
    summary = (
        f"{data.total} writes from {first:%Y-%m-%d} to {data.last:%Y-%m-%d} (UTC): "
        + ", ".join(f"{origin} {count}" for _, origin, count in legend)
        if data.total
        else f"No writes from {first:%Y-%m-%d} to {data.last:%Y-%m-%d} (UTC)."
    )
    return Chart(
        width, height, top, bottom, step * 0.7, out, y_ticks, x_ticks, legend, data.total, summary
    )


def _nice(peak: int) -> int:
    """The axis maximum: ``peak`` itself up to 5, else rounded up to 1, 2 or 5 times a
    power of ten."""
    if peak <= 5:
        return max(peak, 0)
    power = 1
    while True:
        for factor in (1, 2, 5):
            if factor * power >= peak:
                return factor * power
        power *= 10


def _ticks(maximum: int) -> list[int]:
    """0, the maximum and at most three whole steps between."""
    if maximum <= 0:
        return []
    step = max(1, maximum // 4) if maximum % 4 == 0 else max(1, maximum // 5 or 1)
    return sorted({*range(0, maximum, step), maximum})
