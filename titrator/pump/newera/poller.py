"""The New Era driver's background poll: the watchdog refresh, alarms, and keypad changes.

Part of the New Era driver (`titrator.pump.newera.driver`). Every `period_s` the poll reads the
status through the driver's exchange (which restarts the pump's Safe-mode watchdog and brings in
alarms); while the pump runs, every `RATE_CHECK_EVERY`-th poll also reads the rate. A start, stop
or rate change that no command of the driver made is reported as `STATE_CHANGED`. The poll never
waits for the driver's lock: a command in flight refreshes the watchdog itself.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Final

from titrator.pump.base import EventKind, PumpError, PumpLinkState
from titrator.pump.newera.exchange import Exchange
from titrator.pump.newera.link import Context

RATE_CHECK_EVERY: Final = 5
"""While the pump runs, every fifth background poll also reads the rate (a keypad change)."""

_JOIN_S: Final = 5.0


def _ml(rate: Decimal | None) -> str:
    return "unknown" if rate is None else f"{rate.normalize():f} mL/h"


class Poller:
    """A thread that polls the pump's status through an exchange, under the driver's lock.

    Args:
        exchange: the driver's exchange (and through it, its state tracker).
        lock: the driver's lock; the poll only runs when it can take it at once.
        period_s: time between polls; None never starts the thread.

    Attributes:
        period_s: as given.
        last_error: the most recent failure of a poll (also reported through the exchange's
            events), None if there has been none.
    """

    def __init__(self, exchange: Exchange, lock: threading.RLock, period_s: float | None) -> None:
        self.period_s = period_s
        self.last_error: PumpError | None = None
        self._exchange, self._lock = exchange, lock
        self._thread: threading.Thread | None = None
        self._halt = threading.Event()
        self._polls = 0

    def start(self) -> None:
        """Start polling (unless `period_s` is None)."""
        if self.period_s is None:
            return
        self._halt = threading.Event()
        self._thread = threading.Thread(
            target=self._loop,
            args=(self._halt, self.period_s),
            name="pump-keepalive",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop polling and wait for the thread (which never waits for the lock) to end."""
        self._halt.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=_JOIN_S)

    def _loop(self, halt: threading.Event, period_s: float) -> None:
        exchange = self._exchange
        while not halt.wait(period_s):
            if not self._lock.acquire(blocking=False):
                continue  # a command is in flight; it refreshes the watchdog itself
            try:
                if halt.is_set() or exchange.state.unlinked:
                    continue
                if exchange.since_send_s() < period_s / 2:
                    continue
                exchange.state.begin_operation()
                try:
                    self._poll()
                    exchange.check_loss()
                except PumpError as exc:
                    self.last_error = exc
            finally:
                self._lock.release()

    def _poll(self) -> None:
        """One poll: the status (which feeds the watchdog), now and then the rate.

        A start, a stop or a rate change that no command of the driver made (someone at the
        keypad) is reported as STATE_CHANGED, unless an alarm or the VTBI end already said so.
        """
        exchange, state = self._exchange, self._exchange.state
        ctx = Context("keepalive", "watchdog refresh and status poll", "")
        was_running, rate, news = state.running, state.rate_ml_per_h, state.news
        exchange.query(ctx)
        running = state.running
        self._polls += 1
        if running and (not was_running or self._polls % RATE_CHECK_EVERY == 0):
            exchange.read_rate(Context("keepalive", "rate check (keypad changes)", "RAT"))
        if state.news != news or state.link_state is not PumpLinkState.CONNECTED:
            return
        if running != was_running:
            what = "started" if running else "stopped"
            state.emit(EventKind.STATE_CHANGED, f"pump {what} outside titrator (at its keypad?)")
        elif running and rate is not None and state.rate_ml_per_h != rate:
            state.emit(
                EventKind.STATE_CHANGED,
                f"pump rate changed outside titrator: {_ml(rate)} -> {_ml(state.rate_ml_per_h)}",
            )
