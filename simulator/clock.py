"""Clocks for the simulator: real (optionally accelerated) time, and a manual clock for tests."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """A monotonic clock in seconds."""

    def __call__(self) -> float:
        """Return the current time in seconds."""
        ...


class ScaledClock:
    """Real monotonic time multiplied by `speed` (1 = real time), for accelerated infusions."""

    def __init__(self, speed: float = 1.0) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed
        self._origin = time.monotonic()

    def __call__(self) -> float:
        """Return scaled seconds since the clock was made."""
        return (time.monotonic() - self._origin) * self.speed


class ManualClock:
    """A clock that only moves when told to (thread-safe)."""

    def __init__(self, start_s: float = 0.0) -> None:
        self._now_s = start_s
        self._lock = threading.Lock()

    def __call__(self) -> float:
        """Return the current manual time."""
        with self._lock:
            return self._now_s

    def advance(self, seconds: float) -> None:
        """Move the clock forward.

        Args:
            seconds: how far, non-negative.
        """
        if seconds < 0:
            raise ValueError("a monotonic clock cannot go back")
        with self._lock:
            self._now_s += seconds
