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
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal
from types import TracebackType
from typing import TypeVar

from titrator.pump._link import Context, SerialLink
from titrator.pump._newera_replies import (
    ALARM_KIND,
    PROMPT_STATE,
    parse_or_framing_error,
    rejection,
    reply_from,
    to_pump_number,
)
from titrator.pump._newera_setup import before_send, establish
from titrator.pump.base import (
    AlarmEvent,
    AlarmKind,
    ConnectError,
    EventHook,
    EventKind,
    FramingError,
    LinkGuard,
    LinkLostError,
    LinkState,
    NotConnectedError,
    PumpAlarmError,
    PumpError,
    PumpEvent,
    PumpInfo,
    PumpRejectedError,
    PumpState,
    PumpStatus,
    ReadbackMismatchError,
    UncertainOutcomeError,
    UnitsError,
    WireHook,
    check_positive_decimal,
)
from titrator.pump.codec import (
    ErrorCode,
    Framing,
    Reply,
    command_data,
    parse_dispensed,
    parse_rate,
    parse_version,
    parse_volume,
)

T = TypeVar("T")
_RUNNING = (PumpState.INFUSING, PumpState.WITHDRAWING, PumpState.PURGING)
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
    ) -> None:
        if not 0 < link_loss_after_s <= 10:
            raise ValueError("link_loss_after_s must be in (0, 10]")
        if not 1 <= safe_timeout_s <= 255:
            raise ValueError("safe_timeout_s must be 1..255")
        self.url, self.address, self.baudrate = url, address, baudrate
        self.framing, self.safe_timeout_s = framing, safe_timeout_s
        self.reply_timeout_s, self.query_retries = reply_timeout_s, query_retries
        self.keepalive_s, self.link_loss_after_s = keepalive_s, link_loss_after_s
        self._on_wire, self._on_event, self._clock = on_wire, on_event, clock
        self._lock = threading.RLock()
        self._guard = LinkGuard()
        self._link: SerialLink | None = None
        self._pump_state = PumpState.UNKNOWN
        self._rate: Decimal | None = None
        self._vtbi: Decimal | None = None
        self._vtbi_complete = False
        self._alarms: list[AlarmEvent] = []
        self._last_alarm: tuple[AlarmKind, float] | None = None
        self._op_alarm: AlarmKind | None = None
        self._last_ok_s = self._last_tx_s = 0.0
        self._settle = self._stopping = self._connecting = False
        self._keepalive: threading.Thread | None = None
        self._halt = threading.Event()
        self.last_keepalive_error: PumpError | None = None
        """The most recent failure of a background poll (also reported through on_event)."""
        self.connect_warnings: list[str] = []
        """Things noticed while connecting that leave a value unknown (e.g. rate units)."""

    @property
    def link_state(self) -> LinkState:
        """The current link state."""
        return self._guard.state

    # -- public operations --------------------------------------------------------------------

    def connect(self, *, requester: str, reason: str) -> PumpInfo:
        """Open the port, find the pump, put it in the configured mode and read its state.

        Also the way back from LOST: it re-opens the port and re-reads everything; it never
        restarts delivery.

        Raises:
            ConnectError: no usable pump (the cause is chained).
        """
        with self._lock:
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
            running = self._pump_state in _RUNNING
            ctx = Context(requester, reason, f"RAT{text}" if running else f"RAT{text}MH")
            self._command(ctx)
            actual = self._confirm(lambda: self.read_rate(Context(requester, reason, "RAT")))
            if actual != rate_ml_per_h:
                raise ReadbackMismatchError(
                    f"pump reads back {actual} mL/h, not {rate_ml_per_h} mL/h",
                    expected=rate_ml_per_h,
                    actual=actual,
                )
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
                    if self._pump_state not in _RUNNING:
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
            actual = self._confirm(lambda: self.read_vtbi(Context(requester, reason, "VOL")))
            if actual != volume_ml:
                raise ReadbackMismatchError(
                    f"pump reads back a VTBI of {actual} mL, not {volume_ml} mL",
                    expected=volume_ml,
                    actual=actual,
                )
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

    # -- reads shared with setup ----------------------------------------------------------------

    def read_rate(self, ctx: Context) -> Decimal:
        """Query `RAT`; the pump must report mL/h (other units raise UnitsError)."""
        reply = self._query(Context(ctx.requester, ctx.reason, "RAT"))
        value, units = parse_or_framing_error(parse_rate, reply.data)
        if units != "MH":
            self._rate = None
            raise UnitsError(f"pump rate is in {units}, not MH; set a rate while stopped")
        self._rate = value
        return value

    def read_vtbi(self, ctx: Context) -> Decimal:
        """Query `VOL`; the pump must report mL."""
        reply = self._query(Context(ctx.requester, ctx.reason, "VOL"))
        value, units = parse_or_framing_error(parse_volume, reply.data)
        if units != "ML":
            self._vtbi = None
            raise UnitsError(f"pump volume is in {units}, not ML")
        self._vtbi = value
        return value

    def read_version(self, ctx: Context) -> tuple[str, str]:
        """Query `VER` and parse model and firmware."""
        reply = self._query(Context(ctx.requester, ctx.reason, "VER"))
        return parse_or_framing_error(parse_version, reply.data)

    # -- internals ------------------------------------------------------------------------------

    def _begin(self) -> None:
        self._op_alarm = None

    def _snapshot(self) -> PumpStatus:
        return PumpStatus(
            pump_state=self._pump_state,
            link_state=self._guard.state,
            rate_ml_per_h=self._rate,
            vtbi_ml=self._vtbi,
            alarm=self._op_alarm,
            vtbi_complete=self._vtbi_complete,
            monotonic_s=self._clock(),
        )

    def _emit(self, kind: EventKind, detail: str, alarm: AlarmKind | None = None) -> None:
        if self._on_event is not None:
            self._on_event(PumpEvent(kind, self._snapshot(), detail, alarm))

    def _set_link(self, state: LinkState, detail: str) -> None:
        current = self._guard.state
        if current is state or (current is LinkState.LOST and state is LinkState.UNCERTAIN):
            return
        self._guard.state = state
        self._emit(EventKind.LINK_CHANGED, f"link {state}: {detail}")

    def _lose(self, detail: str) -> None:
        self._pump_state, self._rate = PumpState.UNKNOWN, None
        self._set_link(LinkState.LOST, detail)

    def note_alarm(self, kind: AlarmKind, solicited: bool) -> None:
        """Record an alarm (a repeat of the same alarm within 2 s is the same alarm)."""
        now_s = self._clock()
        self._op_alarm = kind
        if kind is AlarmKind.POWER_RESET:
            self._rate = None  # a rate set while running is not kept over a power cut
        last = self._last_alarm
        self._last_alarm = (kind, now_s)
        if last is not None and last[0] is kind and now_s - last[1] < 2.0:
            return
        self._alarms.append(AlarmEvent(kind, now_s, solicited))
        self._emit(EventKind.ALARM, f"pump alarm: {kind}", kind)

    def _absorb(self, reply: Reply) -> None:
        if reply.alarm is not None:
            self._pump_state = PumpState.ALARM
            self.note_alarm(ALARM_KIND[reply.alarm], solicited=True)
            return
        if reply.prompt is None:  # pragma: no cover - the grammar gives one or the other
            return
        new, old = PROMPT_STATE[reply.prompt], self._pump_state
        self._pump_state = new
        stopped_itself = old is PumpState.INFUSING and new is PumpState.STOPPED
        if stopped_itself and not self._stopping and self._vtbi is not None and self._vtbi > 0:
            # Inferred: alarms show first as A?x, our STP gives P; only VTBI end goes I -> S.
            self._vtbi_complete = True
            self._emit(EventKind.VTBI_COMPLETE, "volume to be infused reached; pump stopped")

    def _exchange(self, ctx: Context, retries: int, *, quiet: bool = False) -> Reply:
        """Send `ctx.command`, return the first valid reply; retry up to `retries` times."""
        link = self._link
        if link is None:
            raise NotConnectedError("pump not connected")
        failure: UncertainOutcomeError | None = None
        for attempt in range(retries + 1):
            try:
                before_send(self, link, ctx)
                link.send(command_data(self.address, ctx.command), ctx)
                self._last_tx_s = self._clock()
                reply = reply_from(link.read_frame(self.reply_timeout_s, ctx).data)
            except LinkLostError as exc:
                self._lose(str(exc))
                raise
            except UncertainOutcomeError as exc:
                failure, self._settle = exc, True
                if not quiet:
                    self._emit(EventKind.COMMS_FAULT, f"{ctx.command or 'status'}: {exc}")
                self._check_loss()
                continue
            if reply.address != self.address:
                failure, self._settle = FramingError(f"reply from address {reply.address}"), True
                continue
            self._last_ok_s = self._clock()
            if reply.error is ErrorCode.BAD_PACKET and attempt < retries:
                continue
            return reply
        assert failure is not None
        raise failure

    def _check_loss(self) -> None:
        if self._connecting or self._guard.state in (LinkState.LOST, LinkState.DISCONNECTED):
            return
        silent_s = self._clock() - self._last_ok_s
        if silent_s > self.link_loss_after_s:
            self._lose(f"no valid reply from the pump for {silent_s:.1f} s")
            raise LinkLostError(f"pump link lost: no valid reply for {silent_s:.1f} s")

    def _query(self, ctx: Context) -> Reply:
        """A query, retried; an alarm reply acknowledges the alarm and the query is re-asked."""
        for _ in range(3):
            reply = self._exchange(ctx, self.query_retries)
            self._absorb(reply)
            if reply.alarm is None:
                if reply.error is not None:
                    raise rejection(reply, ctx.command)
                return reply
        raise PumpAlarmError("pump keeps reporting alarms", alarm=self._op_alarm or AlarmKind.STALL)

    def _command(self, ctx: Context) -> Reply:
        """A command that changes the pump: sent once; no valid reply -> UNCERTAIN."""
        try:
            reply = self._exchange(ctx, 0)
        except UncertainOutcomeError:
            self._set_link(LinkState.UNCERTAIN, f"outcome of {ctx.command} unknown")
            raise
        self._absorb(reply)
        if reply.alarm is not None:
            self._set_link(LinkState.UNCERTAIN, f"{ctx.command} only acknowledged an alarm")
            kind = ALARM_KIND[reply.alarm]
            raise PumpAlarmError(
                f"{ctx.command} not carried out: it acknowledged the {kind} alarm", alarm=kind
            )
        if reply.error is not None:
            raise rejection(reply, ctx.command)
        return reply

    def _confirm(self, read: Callable[[], T]) -> T:
        """Run a read-back; if it fails the command's outcome is unknown: UNCERTAIN."""
        try:
            return read()
        except (UncertainOutcomeError, PumpAlarmError, PumpRejectedError, UnitsError):
            self._set_link(LinkState.UNCERTAIN, "command not confirmed by read-back")
            raise

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
                    self._query(Context("keepalive", "watchdog refresh and status poll", ""))
                    self._check_loss()
                except PumpError as exc:
                    self.last_keepalive_error = exc
            finally:
                self._lock.release()

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
