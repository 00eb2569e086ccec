"""The simulated New Era pump: addressing, volume integration, VTBI, alarms, watchdog, keypad.

The model knows nothing about bytes or ports: `handle()` takes canonical command text (e.g.
"0RAT5MH") and returns the reply data (e.g. "00S") or None when the pump stays silent. A server
frames it; a future patient simulation can drive or observe the same model in-process. What each
command does to the pump's settings (rate and unit rules, limits, number format) is in
`simulator.commands`; `ModelConfig` and `format_value` are re-exported here.

Physics (volume infused) runs on `clock`, which may be accelerated or manual; communications
timing (the Safe-mode watchdog) runs on `comms_clock`, which stays in real time by default.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from simulator.clock import Clock, ScaledClock
from simulator.commands import (
    RATE_TO_ML_PER_H,
    VOLUME_TO_ML,
    ModelConfig,
    PumpState,
    execute,
    format_value,
    run,
    stop,
)

__all__ = [
    "ALARM_CODES",
    "RATE_TO_ML_PER_H",
    "VOLUME_TO_ML",
    "ModelConfig",
    "PumpModel",
    "Received",
    "format_value",
]

ALARM_CODES = ("R", "S", "T", "E", "O")
_COMMAND = re.compile(r"(\*|\d{1,2})?([A-Z]{3})?(.*)")
_SECONDS_PER_HOUR = Decimal(3600)


@dataclass(frozen=True)
class Received:
    """One packet the pump received, for tests and training logs."""

    comms_s: float
    text: str | None
    error: str | None


class PumpModel:
    """A New Era pump's behaviour as a protocol peer. Thread-safe."""

    def __init__(
        self,
        config: ModelConfig | None = None,
        *,
        clock: Clock | None = None,
        comms_clock: Clock | None = None,
    ) -> None:
        self.config = config or ModelConfig()
        self._clock: Clock = clock or ScaledClock(1.0)
        self._comms_clock: Clock = comms_clock or time.monotonic
        self._lock = threading.RLock()
        self._s = PumpState(safe_timeout_s=self.config.safe_timeout_s)
        self._s.ignore_next = self.config.power_up_quirk
        self._last_tick_s = self._clock()
        self._last_packet_s = self._comms_clock()
        self.received: list[Received] = []
        if self._s.safe_timeout_s:
            self._s.alarm = "R"
            self._s.outbox.append(self._status_text("A?R"))

    @property
    def safe_mode(self) -> bool:
        """True when the pump speaks Safe mode (SAF > 0)."""
        with self._lock:
            return self._s.safe_timeout_s > 0

    def tick(self) -> None:
        """Advance physics and the watchdog to now (called often by the server)."""
        with self._lock:
            self._advance()

    def take_unsolicited(self) -> list[str]:
        """Return and forget the reply data the pump sends on its own (Safe-mode alarms)."""
        with self._lock:
            self._advance()
            out = list(self._s.outbox)
            self._s.outbox.clear()
            return out

    def note_invalid_packet(self, raw_error: str) -> str | None:
        """Record an invalid packet; return the `?COM` reply data, as the pump answers one."""
        with self._lock:
            self.received.append(Received(self._comms_clock(), None, raw_error))
            return self._status_text(self._prompt_or_alarm()) + "?COM"

    def handle(self, text: str) -> str | None:
        """Carry out one command; return the reply data, or None when the pump stays silent."""
        with self._lock:
            self._advance()
            self.received.append(Received(self._comms_clock(), text, None))
            match = _COMMAND.fullmatch(text)
            if match is None:  # pragma: no cover - the pattern accepts every string
                return None
            address, name, argument = match.groups()
            if address not in (None, "*") and int(address) != self.config.address:
                return None
            self._last_packet_s = self._comms_clock()
            self._s.watchdog_armed = self._s.safe_timeout_s > 0
            if self._s.ignore_next:
                self._s.ignore_next = False
                return None
            if self._s.alarm is not None:
                code, self._s.alarm = self._s.alarm, None
                return self._status_text("A?" + code)
            data = execute(self._s, self.config, name or "", argument)
            return self._status_text(self._s.prompt) + data

    def raise_alarm(self, code: str) -> None:
        """Raise alarm `code` (R S T E O). Stall and comms time-out stop the pump."""
        if code not in ALARM_CODES:
            raise ValueError(f"unknown alarm code {code!r}")
        with self._lock:
            self._advance()
            self._raise(code)

    def power_reset(self) -> None:
        """Power blip: stopped, runtime rate lost, `A?R` pending, first command ignored."""
        with self._lock:
            self._advance()
            s = self._s
            s.prompt, s.run_ml = "S", Decimal(0)
            s.rate, s.rate_units = s.nv_rate, s.nv_rate_units
            s.watchdog_armed = False
            s.ignore_next = self.config.power_up_quirk
            self._raise("R")

    def keypad(self, key: str, rate_ml_per_h: Decimal | None = None) -> None:
        """Someone at the pump's keypad (not a packet: the watchdog is not fed).

        Keys: "stop" (pauses a running pump; pressed again, stops it), "run", and "rate" (a new
        rate in mL/h, also while running). A pending alarm is only acknowledged by the press.

        Raises:
            ValueError: an unknown key, or a rate missing or outside the pump's limits.
        """
        if key not in ("stop", "run", "rate"):
            raise ValueError(f"unknown keypad key {key!r}; keys: stop, run, rate")
        with self._lock:
            self._advance()
            s = self._s
            if s.alarm is not None:
                s.alarm = None
                return
            if key == "stop":
                stop(s, "")
            elif key == "run":
                run(s, "")
            else:
                limits = (self.config.min_rate_ml_per_h, self.config.max_rate_ml_per_h)
                if rate_ml_per_h is None or not limits[0] <= rate_ml_per_h <= limits[1]:
                    raise ValueError(f"keypad rate {rate_ml_per_h} mL/h is outside {limits}")
                s.rate, s.rate_units = rate_ml_per_h, "MH"

    def snapshot(self) -> dict[str, Any]:
        """The pump's state as plain JSON-ready values."""
        with self._lock:
            self._advance()
            s = self._s
            return {
                "prompt": s.prompt,
                "alarm": s.alarm,
                "rate": str(s.rate),
                "rate_units": s.rate_units,
                "rate_ml_per_h": str(s.rate * RATE_TO_ML_PER_H[s.rate_units]),
                "volume_to_be_infused": str(s.volume),
                "volume_units": s.volume_units,
                "infused_ml": str(s.infused_ml),
                "direction": s.direction,
                "safe_timeout_s": s.safe_timeout_s,
                "watchdog_armed": s.watchdog_armed,
                "vtbi_completions": s.vtbi_completions,
            }

    # -- internals (lock held) ------------------------------------------------------------

    def _status_text(self, status: str) -> str:
        return f"{self.config.address:02d}{status}"

    def _prompt_or_alarm(self) -> str:
        return self._s.prompt if self._s.alarm is None else "A?" + self._s.alarm

    def _raise(self, code: str) -> None:
        s = self._s
        s.alarm = code
        if code in ("S", "T", "E", "O"):
            s.prompt = "S"
        if s.safe_timeout_s:
            s.outbox.append(self._status_text("A?" + code))

    def _advance(self) -> None:
        s = self._s
        now_s = self._clock()
        dt_s = Decimal(repr(max(0.0, now_s - self._last_tick_s)))
        self._last_tick_s = now_s
        if s.prompt in ("I", "W") and dt_s:
            delta_ml = s.rate * RATE_TO_ML_PER_H[s.rate_units] * dt_s / _SECONDS_PER_HOUR
            vtbi_ml = s.volume * VOLUME_TO_ML[s.volume_units]
            done = vtbi_ml > 0 and s.run_ml + delta_ml >= vtbi_ml
            if done:
                delta_ml = vtbi_ml - s.run_ml
            if s.prompt == "I":
                s.infused_ml += delta_ml
            else:
                s.withdrawn_ml += delta_ml
            s.run_ml += delta_ml
            if done:
                s.prompt, s.run_ml = "S", Decimal(0)
                s.vtbi_completions += 1
        comms_s = self._comms_clock()
        if (
            s.safe_timeout_s
            and s.watchdog_armed
            and comms_s - self._last_packet_s > s.safe_timeout_s
        ):
            s.watchdog_armed = False
            self._raise("T")
