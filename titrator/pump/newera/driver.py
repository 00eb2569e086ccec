"""New Era RS-232 pump driver (Basic and Safe mode) over `serial.serial_for_url`.

The URL may be a device path, `socket://127.0.0.1:PORT` (a serial server or the simulator over
TCP) or a pty path from the bundled simulator. Safe mode (length byte + CRC-16/XMODEM framing and
the pump's communications watchdog) is the default; a 1 s status poll on a background thread keeps
the watchdog fed and notices alarms and link loss.

Rules this driver keeps (see docs/pump.md): every read has a timeout; only queries are retried,
a bounded number of times; a command whose reply is missing or bad puts the link in UNCERTAIN and
is never resent; the first command after an alarm only acknowledges it and is reported as not
carried out; rates are sent with units (MH) while stopped and without while running; `?OOR` is
raised, never clamped; `PUR` is never sent; link loss is detected within `link_loss_after_s`.

The driver is made of parts, each in its own module, and owns them and the one lock they share:

- `SerialLink` (`link`): the port, opened at every connect: frames out, frames in by deadline.
- the codec (`codec`, `replies`): Basic and Safe framing, CRC, parsing and checking replies.
- `Exchange` (`exchange`): one command at a time over the link; every operation goes through it.
- `StateTracker` (`tracker`): what the replies say about the pump and the link; the status
  snapshots and the events come from it.
- `establish` (`setup`): connecting: find the pump's mode, switch it, identify it.
- `Poller` (`poller`): the background status poll.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal
from types import TracebackType

from titrator.pump.base import (
    AlarmEvent,
    ConnectError,
    EventHook,
    PumpAlarmError,
    PumpError,
    PumpInfo,
    PumpLinkState,
    PumpRejectedError,
    PumpState,
    PumpStatus,
    UncertainOutcomeError,
    WireHook,
    check_positive_decimal,
)
from titrator.pump.newera.codec import Framing, parse_dispensed
from titrator.pump.newera.exchange import Exchange
from titrator.pump.newera.link import Context, SerialLink
from titrator.pump.newera.poller import Poller
from titrator.pump.newera.replies import parse_or_framing_error, to_pump_number
from titrator.pump.newera.setup import establish
from titrator.pump.newera.tracker import StateTracker

_STOP_ATTEMPTS = 3


class NewEraPump:
    """A New Era pump on a serial line. Implements `PumpAdapter`. Blocking; thread-safe.

    Args:
        url: what to open with `serial.serial_for_url`.
        address: the pump's network address (0..99).
        baudrate: line speed (the pump's setting; 19200 or 9600 are common defaults).
        framing: the mode to use (SAFE recommended); the pump is switched into it on connect.
        safe_timeout_s: the pump's watchdog in Safe mode (1..255 s): it stops itself when the
            host is silent that long.
        reply_timeout_s: how long to wait for each reply.
        query_retries: extra attempts for queries (never for commands that change the pump).
        keepalive_s: status-poll period; None disables the background poll.
        link_loss_after_s: silence after which the link is LOST (at most 10 s).
        on_wire: receives every byte sent and received, as hex, with requester and reason.
        on_event: receives link changes, alarms, comms faults and VTBI completion.
        clock: the monotonic clock used for timestamps and link-loss timing.
        locate: looks the port up again at every `connect()`, for a port that comes back under
            another name (the simulator's pty after a pulled cable, a USB serial adapter);
            None keeps `url`.

    Attributes:
        url: where the port is (looked up again at every connect when `locate` is given).
        baudrate: as given.
        framing: as given.
        safe_timeout_s: as given.
        connect_warnings: things noticed while connecting that leave a value unknown (e.g. rate
            units).
    """

    def __init__(
        self,
        url: str,
        *,
        address: int = 0,
        baudrate: int = 19200,
        framing: Framing = Framing.SAFE,
        safe_timeout_s: int = 10,
        reply_timeout_s: float = 0.5,
        query_retries: int = 2,
        keepalive_s: float | None = 1.0,
        link_loss_after_s: float = 5.0,
        on_wire: WireHook | None = None,
        on_event: EventHook | None = None,
        clock: Callable[[], float] = time.monotonic,
        locate: Callable[[], str] | None = None,
    ) -> None:
        if not 0 < link_loss_after_s <= 10:
            raise ValueError("link_loss_after_s must be in (0, 10]")
        if not 1 <= safe_timeout_s <= 255:
            raise ValueError("safe_timeout_s must be 1..255")
        self.url, self.baudrate = url, baudrate
        self.framing, self.safe_timeout_s = framing, safe_timeout_s
        self.connect_warnings: list[str] = []
        self._on_wire, self._clock, self._locate = on_wire, clock, locate
        self._lock = threading.RLock()
        self._state = StateTracker(on_event, clock)
        self._exchange = Exchange(
            self._state,
            address=address,
            reply_timeout_s=reply_timeout_s,
            query_retries=query_retries,
            link_loss_after_s=link_loss_after_s,
            clock=clock,
        )
        self._poller = Poller(self._exchange, self._lock, keepalive_s)

    @property
    def address(self) -> int:
        """The pump's network address."""
        return self._exchange.address

    @property
    def reply_timeout_s(self) -> float:
        """How long to wait for each reply."""
        return self._exchange.reply_timeout_s

    @property
    def query_retries(self) -> int:
        """Extra attempts for queries."""
        return self._exchange.query_retries

    @property
    def link_loss_after_s(self) -> float:
        """Silence after which the link is LOST."""
        return self._exchange.link_loss_after_s

    @property
    def keepalive_s(self) -> float | None:
        """The background poll's period; None when there is no background poll."""
        return self._poller.period_s

    @property
    def last_keepalive_error(self) -> PumpError | None:
        """The most recent failure of a background poll (also reported through on_event)."""
        return self._poller.last_error

    @property
    def link_state(self) -> PumpLinkState:
        """The current link state."""
        return self._state.link_state

    # -- public operations --------------------------------------------------------------------

    def connect(self, *, requester: str, reason: str) -> PumpInfo:
        """Open the port, find the pump, put it in the configured mode and read its state.

        Also the way back from LOST: it re-opens the port (looked up again first, with
        `locate`) and re-reads everything; it never restarts delivery. When that reconnect
        fails but the port opened, the link stays LOST on the open port, so a stop is still
        tried on the wire.

        Raises:
            ConnectError: no usable pump (the cause is chained).
        """
        with self._lock:
            if self._locate is not None:
                self.url = self._locate()
            exchange, state = self._exchange, self._state
            was_lost = state.link_state is PumpLinkState.LOST
            self._shutdown()
            state.begin_operation()
            try:
                with exchange.connecting():
                    exchange.attach(
                        SerialLink(
                            self.url,
                            baudrate=self.baudrate,
                            framing=self.framing,
                            on_wire=self._on_wire,
                            clock=self._clock,
                        )
                    )
                    model, firmware = establish(
                        exchange,
                        Context(requester, reason, "connect"),
                        framing=self.framing,
                        safe_timeout_s=self.safe_timeout_s,
                        warnings=self.connect_warnings,
                    )
            except PumpError as exc:
                if was_lost and exchange.attached:
                    # Still no pump heard: keep the port, in the configured framing (a probe
                    # may have left the other one), so a STOP can still be tried on the wire.
                    exchange.keep_lost(self.framing)
                else:
                    self._shutdown()
                raise ConnectError(f"cannot connect to the pump at {self.url}: {exc}") from exc
            exchange.mark_connected()
            self._poller.start()
            safe = self.safe_timeout_s if self.framing is Framing.SAFE else None
            return PumpInfo("newera", model, firmware, self.url, safe, state.snapshot())

    def status(self, *, requester: str, reason: str) -> PumpStatus:
        """Read the status; when UNCERTAIN, also re-read rate and VTBI and clear the doubt."""
        with self._lock:
            exchange, state = self._begin("status")
            ctx = Context(requester, reason, "")
            exchange.query(ctx)
            if state.link_state is PumpLinkState.UNCERTAIN:
                exchange.read_rate(ctx)
                exchange.read_vtbi(ctx)
                state.set_link(PumpLinkState.CONNECTED, "state re-read after an uncertain command")
            return state.snapshot()

    def set_rate(self, rate_ml_per_h: Decimal, *, requester: str, reason: str) -> PumpStatus:
        """Send the rate once (with MH while stopped, bare while running) and read it back.

        Raises:
            RateNotRepresentableError: not sent (too many digits, not positive).
            OutOfRangeError: the pump refused it (`?OOR`); nothing was clamped.
            UncertainOutcomeError: no valid reply or read-back; the link is now UNCERTAIN.
            PumpAlarmError: the command only acknowledged an alarm; the link is UNCERTAIN.
            ReadbackMismatchError: the pump reports another rate.
        """
        check_positive_decimal(rate_ml_per_h, "rate_ml_per_h")
        text = to_pump_number(rate_ml_per_h)
        with self._lock:
            exchange, state = self._begin("set")
            command = f"RAT{text}" if state.running else f"RAT{text}MH"
            exchange.command(Context(requester, reason, command))
            rat = Context(requester, reason, "RAT")
            exchange.read_back(lambda: exchange.read_rate(rat), rate_ml_per_h, "a rate", "mL/h")
            return state.snapshot()

    def start(self, *, requester: str, reason: str) -> PumpStatus:
        """Re-read the rate (must be in mL/h), send RUN, and confirm with a status read."""
        with self._lock:
            exchange, state = self._begin("set")
            exchange.read_rate(Context(requester, reason, "RAT"))
            exchange.command(Context(requester, reason, "RUN"))
            state.forget_vtbi_complete()
            exchange.confirm(lambda: exchange.query(Context(requester, reason, "")))
            if state.pump_state is not PumpState.INFUSING:
                raise PumpRejectedError(
                    f"pump reports {state.pump_state} after RUN", command="RUN", code=""
                )
            return state.snapshot()

    def stop(self, *, requester: str, reason: str) -> PumpStatus:
        """Stop delivery: STP (safe to repeat, up to 3 times) until a status read shows it.

        Allowed in every link state but DISCONNECTED; never clears UNCERTAIN or LOST.
        """
        with self._lock:
            exchange, state = self._begin("stop")
            last: PumpError | None = None
            with state.stopping():
                for _ in range(_STOP_ATTEMPTS):
                    try:
                        exchange.transact(Context(requester, reason, "STP"), 0)
                        exchange.query(Context(requester, reason, ""))
                    except (UncertainOutcomeError, PumpAlarmError) as exc:
                        last = exc
                        continue
                    if not state.running:
                        return state.snapshot()
            state.set_link(PumpLinkState.UNCERTAIN, "stop not confirmed")
            if last is not None:
                raise last
            raise PumpRejectedError("pump still delivering after STP", command="STP", code="")

    def volume_infused(self, *, requester: str, reason: str) -> Decimal:
        """The volume infused (mL) from `DIS`."""
        with self._lock:
            exchange, _state = self._begin("read")
            reply = exchange.query(Context(requester, reason, "DIS"))
            infused, _withdrawn, units = parse_or_framing_error(parse_dispensed, reply.data)
            return infused if units == "ML" else infused / 1000

    def set_volume_to_be_infused(
        self, volume_ml: Decimal, *, requester: str, reason: str
    ) -> PumpStatus:
        """Set the VTBI in mL (0 = continuous): `VOL ML`, `VOL<v>`, then read back."""
        if not isinstance(volume_ml, Decimal):
            raise TypeError("volume_ml must be a Decimal")
        if volume_ml != 0:
            check_positive_decimal(volume_ml, "volume_ml")
        text = to_pump_number(volume_ml)
        with self._lock:
            exchange, state = self._begin("set")
            exchange.command(Context(requester, reason, "VOLML"))
            exchange.command(Context(requester, reason, f"VOL{text}"))
            vol = Context(requester, reason, "VOL")
            exchange.read_back(lambda: exchange.read_vtbi(vol), volume_ml, "a VTBI", "mL")
            return state.snapshot()

    def alarms(self) -> tuple[AlarmEvent, ...]:
        """Return and forget the alarms seen since the previous call."""
        with self._lock:
            return self._state.take_alarms()

    def close(self) -> None:
        """Stop the background poll and close the port. The pump's own watchdog then applies."""
        with self._lock:
            self._shutdown()

    def __enter__(self) -> NewEraPump:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------------

    def _begin(self, operation: str) -> tuple[Exchange, StateTracker]:
        """Start `operation` ("status", "read", "stop", "set") if the link state allows it now.

        Returns:
            The exchange to run it through, and the state tracker it reports into.
        """
        self._state.begin_operation()
        self._state.require(operation)
        return self._exchange, self._state

    def _shutdown(self) -> None:
        """Stop the poll (it never waits for the lock, so this cannot deadlock), close the port."""
        self._poller.stop()
        self._exchange.detach()
