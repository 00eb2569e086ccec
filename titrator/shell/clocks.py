"""Clocks for the shell: the engine never reads time, the shell hands it an `Instant`.

`SystemClock` reads the real clocks; `ScaledClock` runs N times faster (the demo and training
`--speed N`); `ManualClock` is moved by tests. All three give the same `Instant` shape.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

from titrator.domain.clock import Instant


class Clock(Protocol):
    """Anything that can say what time it is now."""

    def now(self) -> Instant:
        """The current instant."""
        ...


class SystemClock:
    """The real wall clock (UTC) and the process's monotonic clock."""

    def now(self) -> Instant:
        """The current instant."""
        return Instant(wall_utc=datetime.now(UTC), mono_ms=time.monotonic_ns() // 1_000_000)


class ScaledClock:
    """A clock running `speed` times faster than real time, from the moment it was made.

    Both readings advance at the same scaled pace, so durations shrink by `speed` and the wall
    time stays consistent with the monotonic reading (no spurious clock-jump events).
    """

    def __init__(self, speed: float, base: SystemClock | None = None) -> None:
        if not speed > 0:
            raise ValueError("speed must be greater than 0")
        self.speed = speed
        self._start = (base or SystemClock()).now()
        self._start_ns = time.monotonic_ns()

    def now(self) -> Instant:
        """The current (accelerated) instant."""
        elapsed_ms = int((time.monotonic_ns() - self._start_ns) * self.speed) // 1_000_000
        return self._start.after_ms(elapsed_ms)


class ManualClock:
    """A clock that moves only when told to (tests and snapshots)."""

    def __init__(self, start: datetime | None = None, mono_ms: int = 1_000_000) -> None:
        wall = start or datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
        self._now = Instant(wall_utc=wall, mono_ms=mono_ms)

    def now(self) -> Instant:
        """The current instant."""
        return self._now

    def advance(self, *, minutes: float = 0, seconds: float = 0) -> Instant:
        """Move both readings forward."""
        ms = int((minutes * 60 + seconds) * 1000)
        self._now = self._now.after_ms(ms)
        return self._now

    def jump_wall(self, delta: timedelta) -> Instant:
        """Move only the wall clock (a clock change or DST step), as a tester would."""
        self._now = Instant(wall_utc=self._now.wall_utc + delta, mono_ms=self._now.mono_ms)
        return self._now
