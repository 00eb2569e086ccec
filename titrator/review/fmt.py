"""Formatting for reviewers: every number with its unit, ISMP style, times in UTC with offset.

Rates and volumes are `Decimal` and are shown without trailing zeros and with a leading zero
(`0.5 mL/h`, `21 mL/h`), a space before the unit. Every volume goes through `ml` (the bedside's
`show_ml`: rounded down to 0.1 mL), never the log's full precision, and given and remaining
volumes through `given_remaining`, so that they add up to the planned volume as shown. Times on
screen and in reports are UTC and say so; machine exports use ISO 8601 with the `+00:00` offset.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

from titrator.domain.units import plain, show_ml, volume_split
from titrator.domain.vitals import FIELD_SPECS, VitalField

VITAL_ORDER: Final = tuple(VitalField)
"""Vital-sign fields in checklist order (temperature, HR, SBP, DBP, RR, SpO2)."""

VITAL_SHORT: Final[Mapping[VitalField, str]] = {
    VitalField.TEMP_C: "T",
    VitalField.HR_BPM: "HR",
    VitalField.SBP_MMHG: "SBP",
    VitalField.DBP_MMHG: "DBP",
    VitalField.RR_BPM: "RR",
    VitalField.SPO2_PCT: "SpO2",
}
"""Short labels for tables and chart legends."""


def ml_per_h(value: Decimal | None) -> str:
    """A pump rate with its unit, e.g. `42 mL/h` (`—` when unknown)."""
    return "—" if value is None else f"{plain(value)} mL/h"


def ml(value: Decimal | None) -> str:
    """A volume with its unit, rounded down to 0.1 mL: `280 mL`, `18.9 mL` (`—` when unknown)."""
    return "—" if value is None else show_ml(value)


def given_remaining(given_ml: Decimal | None, planned_ml: Decimal | None) -> str:
    """`18.9 mL of 280 mL, 261.1 mL remaining`: given + remaining = planned, as shown.

    Only the given volume when the plan is unknown; `—` when nothing was recorded as given.
    """
    if given_ml is None:
        return "—"
    if planned_ml is None:
        return ml(given_ml)
    given, planned, remaining = volume_split(given_ml, planned_ml)
    return f"{given} of {planned}, {remaining} remaining"


def vital(field: VitalField, value: Decimal) -> str:
    """One vital sign with its unit, e.g. `37.2 °C`, `80 /min`, `98 %`."""
    return f"{plain(value)} {FIELD_SPECS[field].unit}"


def vitals_line(values: Mapping[VitalField, Decimal]) -> str:
    """Vital signs in checklist order: `T 36.8 °C, HR 76 /min, BP 122/78 mmHg, …`."""
    parts: list[str] = []
    sbp, dbp = values.get(VitalField.SBP_MMHG), values.get(VitalField.DBP_MMHG)
    for field in VITAL_ORDER:
        value = values.get(field)
        if value is None:
            continue
        if field is VitalField.SBP_MMHG and dbp is not None:
            parts.append(f"BP {plain(value)}/{plain(dbp)} mmHg")
        elif field is VitalField.DBP_MMHG and sbp is not None:
            continue
        else:
            parts.append(f"{VITAL_SHORT[field]} {vital(field, value)}")
    return ", ".join(parts)


def utc(moment: datetime | None) -> str:
    """A moment for people: `2026-01-05 08:00:00 UTC` (`—` when unknown)."""
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def utc_time(moment: datetime | None) -> str:
    """The time of day in UTC: `08:00:00` (the column header says UTC)."""
    return "—" if moment is None else moment.astimezone(UTC).strftime("%H:%M:%S")


def iso(moment: datetime | None) -> str:
    """A moment for machines: ISO 8601 in UTC with offset and seconds (`''` when unknown)."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def duration(span: timedelta | None) -> str:
    """A duration in hours and minutes: `2 h 30 min`, `45 min`, `0 min` (`—` when unknown)."""
    if span is None:
        return "—"
    minutes = int(span.total_seconds() // 60)
    sign = "-" if minutes < 0 else ""
    hours, rest = divmod(abs(minutes), 60)
    if hours:
        return f"{sign}{hours} h {rest} min"
    return f"{sign}{rest} min"


def minutes(span: timedelta) -> Decimal:
    """A duration in minutes as a Decimal (whole seconds kept exactly)."""
    return Decimal(int(span.total_seconds())) / 60
