"""The review chart: pump rate (mL/h, left axis) and one vital sign (right axis) over time.

One time axis in minutes from the start of the record (its UTC clock time is in the axis
label). The rate is drawn as steps; the vital sign chosen with `v` is drawn on the right axis
with its unit in the legend. Both series carry a text label, not only a colour.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from textual_plotext import PlotextPlot

from titrator.domain.vitals import VitalField
from titrator.review.fmt import utc
from titrator.review.model import SessionReview

CHART_VITALS: Final[tuple[tuple[str, tuple[VitalField, ...], str], ...]] = (
    ("heart rate", (VitalField.HR_BPM,), "/min"),
    ("blood pressure", (VitalField.SBP_MMHG, VitalField.DBP_MMHG), "mmHg"),
    ("temperature", (VitalField.TEMP_C,), "°C"),
    ("SpO2", (VitalField.SPO2_PCT,), "%"),
    ("respiratory rate", (VitalField.RR_BPM,), "/min"),
)
"""The vital signs `v` cycles through: name, fields, unit."""

_LABELS: Final = {
    VitalField.SBP_MMHG: "systolic",
    VitalField.DBP_MMHG: "diastolic",
}


class RateVitalsChart(PlotextPlot):
    """Rate and one vital sign on one time axis (textual-plotext)."""

    def __init__(self, review: SessionReview, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.review = review
        self.vital_index = 0
        """Index into `CHART_VITALS` of the vital sign shown."""
        self.draw()

    @property
    def vital_name(self) -> str:
        """The vital sign shown, with its unit."""
        name, _, unit = CHART_VITALS[self.vital_index]
        return f"{name} ({unit})"

    def next_vital(self) -> None:
        """Show the next vital sign."""
        self.vital_index = (self.vital_index + 1) % len(CHART_VITALS)
        self.draw()

    def _origin(self) -> datetime | None:
        times = [s.start for s in self.review.rate_segments] + [p.at for p in self.review.vitals]
        return min(times) if times else None

    def draw(self) -> None:
        """(Re)build the plot from the review."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        origin = self._origin()
        if origin is None:
            plt.title("No rate or vital signs recorded")
            self.refresh()
            return

        def minutes(moment: datetime) -> float:
            return (moment - origin).total_seconds() / 60

        end = self.review.end_at or origin
        xs: list[float] = []
        ys: list[float] = []
        for segment in self.review.rate_segments:
            stop = segment.end or end
            xs += [minutes(segment.start), minutes(stop)]
            ys += [float(segment.rate_ml_per_h)] * 2
        if xs:
            plt.plot(xs, ys, yside="left", label="rate (mL/h, left)", marker="braille")
        name, fields, unit = CHART_VITALS[self.vital_index]
        for field in fields:
            series = self.review.vital_series(field)
            if series:
                label = f"{_LABELS.get(field, name)} ({unit}, right)"
                plt.plot(
                    [minutes(t) for t, _ in series],
                    [float(v) for _, v in series],
                    yside="right",
                    label=label,
                    marker="dot" if field is VitalField.DBP_MMHG else "hd",
                )
        plt.title(f"Rate and {name} — press v for the next vital sign")
        plt.xlabel(f"minutes from {utc(origin)}")
        self.refresh()
