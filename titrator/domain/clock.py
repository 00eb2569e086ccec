"""Time as the engine sees it: an explicit instant with a UTC wall time and a monotonic reading.

The engine never reads a clock. Every input carries an `Instant`. Durations (dwell, vitals age,
pause, observation) use ONLY `mono_ms`; the wall time is recorded for people and the audit log.
A wall-clock jump (the wall time moving more than 60 s differently from the monotonic clock) is
recorded as an event and changes no duration.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Final, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

MS_PER_MIN: Final = 60_000
MS_PER_HOUR: Final = 3_600_000
JUMP_TOLERANCE_MS: Final = 60_000
"""A wall-clock step bigger than this, relative to the monotonic clock, is recorded (R18)."""


class Instant(BaseModel):
    """One moment: UTC wall time (for records) and a monotonic reading in ms (for durations)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    wall_utc: AwareDatetime
    """Wall-clock time, timezone-aware, UTC offset zero."""
    mono_ms: int = Field(ge=0)
    """Monotonic clock reading in milliseconds (only differences mean anything)."""

    @field_validator("wall_utc")
    @classmethod
    def _utc_only(cls, value: AwareDatetime) -> AwareDatetime:
        if value.utcoffset() != timedelta(0):
            raise ValueError("wall time must be in UTC (offset zero)")
        return value

    @property
    def offset_ms(self) -> int:
        """Wall time minus monotonic time, in ms (changes only when the wall clock jumps)."""
        wall_ms = int(self.wall_utc.timestamp() * 1000)
        return wall_ms - self.mono_ms

    def after_ms(self, ms: int) -> Instant:
        """The instant `ms` later on both clocks (for tests and the headless runner)."""
        return Instant(
            wall_utc=self.wall_utc + timedelta(milliseconds=ms), mono_ms=self.mono_ms + ms
        )


class Clock(Protocol):
    """Anything that can say what time it is now: the one clock interface.

    The shell's clocks (`titrator.shell.clocks`) implement it; the shell and the audit writer
    read it; the engine never does (every input carries its `Instant`).
    """

    def now(self) -> Instant:
        """The current instant."""
        ...


def minutes_to_ms(minutes: Decimal) -> int:
    """Whole milliseconds for a number of minutes, rounded up (a duration is never shortened)."""
    return int((minutes * MS_PER_MIN).to_integral_value(rounding=ROUND_CEILING))


def ms_to_minutes(ms: int) -> Decimal:
    """Minutes for a number of milliseconds, exactly."""
    return Decimal(ms) / MS_PER_MIN
