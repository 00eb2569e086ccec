"""The New Era driver's background poll: the watchdog refresh, alarms, and keypad changes.

Helper module of `titrator.pump.newera.driver`. Every `keepalive_s` the poll reads the status (which
restarts the pump's Safe-mode watchdog and brings in alarms); while the pump runs, every
`RATE_CHECK_EVERY`-th poll also reads the rate. A start, stop or rate change that no command of
the driver made is reported as `STATE_CHANGED`. The poll never waits for the lock: a command in
flight refreshes the watchdog itself.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Final

from titrator.pump.base import EventKind, LinkState, PumpError, PumpState
from titrator.pump.newera.core import RUNNING, NewEraCore
from titrator.pump.newera.link import Context

RATE_CHECK_EVERY: Final = 5
"""While the pump runs, every fifth background poll also reads the rate (a keypad change)."""


def _ml(rate: Decimal | None) -> str:
    return "unknown" if rate is None else f"{rate.normalize():f} mL/h"


class NewEraPolling(NewEraCore):
    """`NewEraCore` plus the background poll and shutdown."""

    def _start_keepalive(self) -> None:
        if self.keepalive_s is None:
            return
        self._halt = threading.Event()
        self._keepalive = threading.Thread(
            target=self._keepalive_loop, args=(self._halt,), name="pump-keepalive", daemon=True
        )
        self._keepalive.start()

    def _keepalive_loop(self, halt: threading.Event) -> None:
        assert self.keepalive_s is not None
        while not halt.wait(self.keepalive_s):
            if not self._lock.acquire(blocking=False):
                continue  # a command is in flight; it refreshes the watchdog itself
            try:
                if halt.is_set() or self._guard.state in (LinkState.LOST, LinkState.DISCONNECTED):
                    continue
                if self._clock() - self._last_tx_s < self.keepalive_s / 2:
                    continue
                self._begin()
                try:
                    self._poll()
                    self._check_loss()
                except PumpError as exc:
                    self.last_keepalive_error = exc
            finally:
                self._lock.release()

    def _poll(self) -> None:
        """One background poll: the status (which feeds the watchdog), now and then the rate.

        A start, a stop or a rate change that no command of ours made (someone at the
        keypad) is reported as STATE_CHANGED, unless an alarm or the VTBI end already said so.
        """
        ctx = Context("keepalive", "watchdog refresh and status poll", "")
        was_running, rate, news = self._pump_state in RUNNING, self._rate, self._news
        self._query(ctx)
        running = self._pump_state in RUNNING
        self._polls += 1
        if running and (not was_running or self._polls % RATE_CHECK_EVERY == 0):
            self.read_rate(Context("keepalive", "rate check (keypad changes)", "RAT"))
        if self._news != news or self._guard.state is not LinkState.CONNECTED:
            return
        if running != was_running:
            what = "started" if running else "stopped"
            self._emit(EventKind.STATE_CHANGED, f"pump {what} outside titrator (at its keypad?)")
        elif running and rate is not None and self._rate != rate:
            self._emit(
                EventKind.STATE_CHANGED,
                f"pump rate changed outside titrator: {_ml(rate)} -> {_ml(self._rate)}",
            )

    def _shutdown(self) -> None:
        self._halt.set()
        thread, self._keepalive = self._keepalive, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)  # the poll never waits for the lock, so this cannot deadlock
        if self._link is not None:
            self._link.close()
            self._link = None
        self._guard.state = LinkState.DISCONNECTED
        self._pump_state = PumpState.UNKNOWN
