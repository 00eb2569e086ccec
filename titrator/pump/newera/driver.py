"""New Era RS-232 pump driver (Basic and Safe mode) over `serial.serial_for_url`.

The URL may be a device path, `socket://127.0.0.1:PORT` (a serial server or the simulator over
TCP) or a pty path from the bundled simulator. Safe mode (length byte + CRC-16/XMODEM framing and
the pump's communications watchdog) is the default; a 1 s status poll on a background thread keeps
the watchdog fed and notices alarms and link loss.

Rules this driver keeps (see docs/integrator/pump.md): every read has a timeout; only queries are
retried, a bounded number of times; a command whose reply is missing or bad puts the link in
UNCERTAIN and is never resent; the first command after an alarm only acknowledges it and is reported
as not carried out; rates are sent with units (MH) while stopped and without while running; `?OOR`
is raised, never clamped; `PUR` is never sent; link loss is detected within `link_loss_after_s`.
"""

from __future__ import annotations

from decimal import Decimal
from types import TracebackType

from titrator.pump.base import (
    AlarmEvent,
    ConnectError,
    LinkState,
    PumpAlarmError,
    PumpError,
    PumpInfo,
    PumpRejectedError,
    PumpState,
    PumpStatus,
    UncertainOutcomeError,
    check_positive_decimal,
)
from titrator.pump.newera.codec import Framing, parse_dispensed
from titrator.pump.newera.core import RUNNING
from titrator.pump.newera.link import Context, SerialLink
from titrator.pump.newera.poller import NewEraPolling
from titrator.pump.newera.replies import parse_or_framing_error, to_pump_number
from titrator.pump.newera.setup import establish

_STOP_ATTEMPTS = 3


class NewEraPump(NewEraPolling):
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
    """

    # -- public operations --------------------------------------------------------------------

    def connect(self, *, requester: str, reason: str) -> PumpInfo:
        """Open the port, find the pump, put it in the configured mode and read its state.

        Also the way back from LOST: it re-opens the port and re-reads everything; it never
        restarts delivery. When that reconnect fails but the port opened, the link stays LOST
        on the open port, so a stop is still tried on the wire.

        Raises:
            ConnectError: no usable pump (the cause is chained).
        """
        with self._lock:
            was_lost = self._guard.state is LinkState.LOST
            self._shutdown()
            self._begin()
            self._connecting = True
            try:
                self._link = SerialLink(
                    self.url,
                    baudrate=self.baudrate,
                    framing=self.framing,
                    on_wire=self._on_wire,
                    clock=self._clock,
                )
                self._settle = False
                model, firmware = establish(self, Context(requester, reason, "connect"))
            except PumpError as exc:
                if was_lost and self._link is not None:
                    # Still no pump heard: keep the port, in the configured framing (a probe
                    # may have left the other one), so a STOP can still be tried on the wire.
                    self._link.set_framing(self.framing)
                    self._guard.state = LinkState.LOST
                else:
                    self._shutdown()
                raise ConnectError(f"cannot connect to the pump at {self.url}: {exc}") from exc
            finally:
                self._connecting = False
            self._last_ok_s = self._clock()
            self._set_link(LinkState.CONNECTED, "connected")
            self._start_keepalive()
            safe = self.safe_timeout_s if self.framing is Framing.SAFE else None
            return PumpInfo("newera", model, firmware, self.url, safe, self._snapshot())

    def status(self, *, requester: str, reason: str) -> PumpStatus:
        """Read the status; when UNCERTAIN, also re-read rate and VTBI and clear the doubt."""
        with self._lock:
            self._begin()
            self._guard.require("status")
            ctx = Context(requester, reason, "")
            self._query(ctx)
            if self._guard.state is LinkState.UNCERTAIN:
                self.read_rate(ctx)
                self.read_vtbi(ctx)
                self._set_link(LinkState.CONNECTED, "state re-read after an uncertain command")
            return self._snapshot()

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
            self._begin()
            self._guard.require("set")
            running = self._pump_state in RUNNING
            ctx = Context(requester, reason, f"RAT{text}" if running else f"RAT{text}MH")
            self._command(ctx)
            rat = Context(requester, reason, "RAT")
            self._read_back(lambda: self.read_rate(rat), rate_ml_per_h, "a rate", "mL/h")
            return self._snapshot()

    def start(self, *, requester: str, reason: str) -> PumpStatus:
        """Re-read the rate (must be in mL/h), send RUN, and confirm with a status read."""
        with self._lock:
            self._begin()
            self._guard.require("set")
            self.read_rate(Context(requester, reason, "RAT"))
            self._command(Context(requester, reason, "RUN"))
            self._vtbi_complete = False
            self._confirm(lambda: self._query(Context(requester, reason, "")))
            if self._pump_state is not PumpState.INFUSING:
                raise PumpRejectedError(
                    f"pump reports {self._pump_state} after RUN", command="RUN", code=""
                )
            return self._snapshot()

    def stop(self, *, requester: str, reason: str) -> PumpStatus:
        """Stop delivery: STP (safe to repeat, up to 3 times) until a status read shows it.

        Allowed in every link state but DISCONNECTED; never clears UNCERTAIN or LOST.
        """
        with self._lock:
            self._begin()
            self._guard.require("stop")
            last: PumpError | None = None
            self._stopping = True
            try:
                for _ in range(_STOP_ATTEMPTS):
                    try:
                        self._absorb(self._exchange(Context(requester, reason, "STP"), 0))
                        self._query(Context(requester, reason, ""))
                    except (UncertainOutcomeError, PumpAlarmError) as exc:
                        last = exc
                        continue
                    if self._pump_state not in RUNNING:
                        return self._snapshot()
            finally:
                self._stopping = False
            self._set_link(LinkState.UNCERTAIN, "stop not confirmed")
            if last is not None:
                raise last
            raise PumpRejectedError("pump still delivering after STP", command="STP", code="")

    def volume_infused(self, *, requester: str, reason: str) -> Decimal:
        """The volume infused (mL) from `DIS`."""
        with self._lock:
            self._begin()
            self._guard.require("read")
            reply = self._query(Context(requester, reason, "DIS"))
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
            self._begin()
            self._guard.require("set")
            self._command(Context(requester, reason, "VOLML"))
            self._command(Context(requester, reason, f"VOL{text}"))
            vol = Context(requester, reason, "VOL")
            self._read_back(lambda: self.read_vtbi(vol), volume_ml, "a VTBI", "mL")
            return self._snapshot()

    def alarms(self) -> tuple[AlarmEvent, ...]:
        """Return and forget the alarms seen since the previous call."""
        with self._lock:
            out, self._alarms = tuple(self._alarms), []
            return out

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
