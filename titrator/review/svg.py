"""The rate and vital-signs chart as inline SVG, for the printable report.

Stacked panels share one time axis (UTC): the pump rate in mL/h as a step line, then heart rate,
blood pressure (systolic ▲ and diastolic ▼), temperature, SpO2 and respiratory rate. Every panel
names its quantity and unit; series differ by marker shape and dash as well as colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from html import escape

from titrator.domain.units import plain
from titrator.domain.vitals import VitalField
from titrator.review.fmt import utc_time
from titrator.review.model import SessionReview

WIDTH = 880
PANEL_H = 84
LEFT = 96
RIGHT = 16
TOP = 10
GAP = 14

_PANELS: tuple[tuple[str, tuple[VitalField, ...]], ...] = (
    ("Heart rate (/min)", (VitalField.HR_BPM,)),
    ("Blood pressure (mmHg)", (VitalField.SBP_MMHG, VitalField.DBP_MMHG)),
    ("Temperature (°C)", (VitalField.TEMP_C,)),
    ("SpO2 (%)", (VitalField.SPO2_PCT,)),
    ("Respiratory rate (/min)", (VitalField.RR_BPM,)),
)
_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
"""Okabe–Ito colours (colour-blind safe); shape and dash carry the same information."""


def _bounds(review: SessionReview) -> tuple[datetime, datetime] | None:
    times = [s.start for s in review.rate_segments] + [p.at for p in review.vitals]
    if review.closed_at is not None:
        times.append(review.closed_at)
    if not times:
        return None
    start, end = min(times), max(times)
    if end <= start:
        end = start + timedelta(minutes=1)
    return start, end


class _Axis:
    def __init__(self, start: datetime, end: datetime) -> None:
        self.start, self.end = start, end
        self.span = (end - start).total_seconds()

    def x(self, moment: datetime) -> float:
        return LEFT + (moment - self.start).total_seconds() / self.span * (WIDTH - LEFT - RIGHT)

    def ticks(self) -> list[datetime]:
        step = 15 if self.span <= 3 * 3600 else 30 if self.span <= 6 * 3600 else 60
        first = self.start.replace(second=0, microsecond=0)
        first += timedelta(minutes=-first.minute % step)
        out: list[datetime] = []
        moment = first
        while moment <= self.end and len(out) < 60:
            out.append(moment)
            moment += timedelta(minutes=step)
        return out


def _range(values: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    low, high = min(values), max(values)
    if low == high:
        pad = abs(low) / 10 or Decimal(1)
        return low - pad, high + pad
    pad = (high - low) / 10
    return low - pad, high + pad


def _y(value: Decimal, low: Decimal, high: Decimal, top: float) -> float:
    return top + PANEL_H - float((value - low) / (high - low)) * PANEL_H


def _frame(out: list[str], top: float, title: str, low: Decimal, high: Decimal) -> None:
    out.append(
        f'<rect x="{LEFT}" y="{top:.1f}" width="{WIDTH - LEFT - RIGHT}" height="{PANEL_H}" '
        'fill="none" stroke="#999" stroke-width="0.5"/>'
    )
    out.append(f'<text x="4" y="{top + 12:.1f}" font-size="10">{escape(title)}</text>')
    for value in (low, high):
        y = _y(value, low, high, top)
        out.append(
            f'<text x="{LEFT - 4}" y="{y + 3:.1f}" font-size="9" text-anchor="end">'
            f"{plain(value, 1)}</text>"
        )


def _rate_panel(out: list[str], review: SessionReview, axis: _Axis, top: float) -> None:
    segments = review.rate_segments
    rates = [s.rate_ml_per_h for s in segments] or [Decimal(0)]
    low, high = Decimal(0), max(max(rates), Decimal(1)) * Decimal("1.1")
    _frame(out, top, "Rate (mL/h)", low, high)
    points: list[str] = []
    for segment in segments:
        end = segment.end or axis.end
        y = _y(segment.rate_ml_per_h, low, high, top)
        points.append(f"{axis.x(segment.start):.1f},{y:.1f} {axis.x(end):.1f},{y:.1f}")
        out.append(
            f'<text x="{axis.x(segment.start) + 2:.1f}" y="{y - 3:.1f}" font-size="9">'
            f"{plain(segment.rate_ml_per_h)} mL/h</text>"
        )
    if points:
        out.append(
            f'<polyline points="{" ".join(points)}" fill="none" stroke="{_COLOURS[0]}" '
            'stroke-width="2"/>'
        )


def _vital_panel(
    out: list[str],
    review: SessionReview,
    axis: _Axis,
    top: float,
    title: str,
    fields: tuple[VitalField, ...],
) -> None:
    series = [review.vital_series(f) for f in fields]
    values = [v for s in series for _, v in s]
    if not values:
        _frame(out, top, title + " — none recorded", Decimal(0), Decimal(1))
        return
    low, high = _range(values)
    _frame(out, top, title, low, high)
    for index, points in enumerate(series):
        colour = _COLOURS[(index + 1) % len(_COLOURS)]
        coords = [(axis.x(t), _y(v, low, high, top)) for t, v in points]
        dash = ' stroke-dasharray="4 2"' if index else ""
        out.append(
            '<polyline points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            + f'" fill="none" stroke="{colour}" stroke-width="1.5"{dash}/>'
        )
        marker = "▼" if index else ("▲" if len(fields) > 1 else "●")
        for (x, y), (_, v) in zip(coords, points, strict=True):
            out.append(
                f'<text x="{x:.1f}" y="{y + 3:.1f}" font-size="8" text-anchor="middle" '
                f'fill="{colour}"><title>{plain(v)}</title>{marker}</text>'
            )


def chart_svg(review: SessionReview) -> str:
    """The chart as an `<svg>` element (empty-state text when nothing was recorded)."""
    bounds = _bounds(review)
    if bounds is None:
        return '<p class="empty">No rate or vital signs recorded.</p>'
    axis = _Axis(*bounds)
    panels = 1 + len(_PANELS)
    height = TOP + panels * (PANEL_H + GAP) + 24
    out = [
        f'<svg viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-label="Rate and vital signs over time (UTC)">'
    ]
    _rate_panel(out, review, axis, TOP)
    for index, (title, fields) in enumerate(_PANELS, start=1):
        _vital_panel(out, review, axis, TOP + index * (PANEL_H + GAP), title, fields)
    bottom = TOP + panels * (PANEL_H + GAP)
    for tick in axis.ticks():
        x = axis.x(tick)
        out.append(
            f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{bottom - GAP:.1f}" '
            'stroke="#ddd" stroke-width="0.5"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{bottom + 2:.1f}" font-size="9" text-anchor="middle">'
            f"{utc_time(tick)[:5]}</text>"
        )
    out.append(
        f'<text x="{WIDTH - RIGHT}" y="{bottom + 16:.1f}" font-size="9" text-anchor="end">'
        "time (UTC)</text>"
    )
    out.append("</svg>")
    return "".join(out)
