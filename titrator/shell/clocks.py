"""Clocks for the shell: the engine never reads time, the shell hands it an `Instant`.

`SystemClock` reads the real clocks; `ScaledClock` runs N times faster (the demo and training
`--speed N`); `ManualClock` is moved by tests; `ReadingClock` reads a headless run's simulated
time. All implement the one `Clock` protocol (`titrator.domain.clock.Clock`), which the audit
writer reads too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from titrator.domain.clock import Clock, Instant

__all__ = ["Clock", "ManualClock", "ReadingClock", "ScaledClock", "SystemClock"]


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


class ReadingClock:
    """A clock that reads its instant from a function: a headless run's simulated time."""

    def __init__(self, read: Callable[[], Instant]) -> None:
        self._read = read

    def now(self) -> Instant:
        """The instant the run is at."""
        return self._read()
