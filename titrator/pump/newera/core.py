"""The exchange core of the New Era driver: one command at a time and the state bookkeeping.

Helper module of `titrator.pump.newera.driver`. `NewEraCore` owns the serial link and everything
below the adapter operations: taking in bytes that arrived unasked before each command, sending a
command once and reading one reply by a deadline, bounded retries for queries, turning replies
into pump and link state (alarms, VTBI completion, UNCERTAIN, LOST). `_newera_poll` adds the
background poll, `NewEraPump` the `PumpAdapter` operations, and `_newera_setup` connects through
the same methods. Callers hold `_lock` around every use.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Final, TypeVar

from titrator.pump.base import (
    AlarmEvent,
    AlarmKind,
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
    PumpRejectedError,
    PumpState,
    PumpStatus,
    ReadbackMismatchError,
    UncertainOutcomeError,
    UnitsError,
    WireHook,
)
from titrator.pump.newera.codec import (
    ErrorCode,
    Framing,
    Reply,
    command_data,
    parse_rate,
    parse_version,
    parse_volume,
)
from titrator.pump.newera.link import Context, SerialLink
from titrator.pump.newera.replies import (
    ALARM_KIND,
    PROMPT_STATE,
    answer_to,
    drain_note,
    parse_or_framing_error,
    parse_quietly,
    rejection,
)

T = TypeVar("T")

RUNNING: Final = (PumpState.INFUSING, PumpState.WITHDRAWING, PumpState.PURGING)


class NewEraCore:
    """The state and the exchange machinery of one New Era pump link (see `NewEraPump`)."""

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
        self._news = 0
        """How many alarm and VTBI-end events have been reported (the poll's own news)."""
        self._polls = 0
        self._standing_alarm: AlarmKind | None = None
        """The alarm reported and not yet cleared (no normal prompt since)."""
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

    # -- reads shared by the operations and by setup ----------------------------------------

    def read_rate(self, ctx: Context) -> Decimal:
        """Query `RAT`; the pump must report mL/h (other units raise UnitsError)."""
        self._rate, units = self._read_in_units(ctx, "RAT", parse_rate, "MH")
        if self._rate is None:
            raise UnitsError(f"pump rate is in {units}, not MH; set a rate while stopped")
        return self._rate

    def read_vtbi(self, ctx: Context) -> Decimal:
        """Query `VOL`; the pump must report mL."""
        self._vtbi, units = self._read_in_units(ctx, "VOL", parse_volume, "ML")
        if self._vtbi is None:
            raise UnitsError(f"pump volume is in {units}, not ML")
        return self._vtbi

    def read_version(self, ctx: Context) -> tuple[str, str]:
        """Query `VER` and parse model and firmware."""
        reply = self._query(Context(ctx.requester, ctx.reason, "VER"))
        return parse_or_framing_error(parse_version, reply.data)

    def _read_in_units(
        self,
        ctx: Context,
        command: str,
        parse: Callable[[str], tuple[Decimal, str]],
        units: str,
    ) -> tuple[Decimal | None, str]:
        """Query `command`: (value, units), the value None when the pump uses other units."""
        reply = self._query(Context(ctx.requester, ctx.reason, command))
        value, got = parse_or_framing_error(parse, reply.data)
        return (value if got == units else None), got

    # -- state bookkeeping --------------------------------------------------------------------

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
        if self._guard.move(state):
            self._emit(EventKind.LINK_CHANGED, f"link {state}: {detail}")

    def _lose(self, detail: str) -> None:
        self._pump_state, self._rate = PumpState.UNKNOWN, None
        self._set_link(LinkState.LOST, detail)

    def note_alarm(self, kind: AlarmKind, solicited: bool) -> None:
        """Record an alarm and put the pump in ALARM (every New Era alarm stops it).

        The state changes before anyone is told, so the event itself says the pump is not
        infusing. The same alarm seen again before the pump has shown a normal prompt (the Safe-mode
        packet, then the acknowledging reply) is the same alarm and is reported once.
        """
        self._op_alarm = kind
        self._pump_state = PumpState.ALARM
        if kind is AlarmKind.POWER_RESET:
            self._rate = None  # a rate set while running is not kept over a power cut
        if self._standing_alarm is kind:
            return
        self._standing_alarm = kind
        self._alarms.append(AlarmEvent(kind, self._clock(), solicited))
        self._news += 1
        self._emit(EventKind.ALARM, f"pump alarm: {kind}", kind)

    def _absorb(self, reply: Reply) -> None:
        if reply.alarm is not None:
            self.note_alarm(ALARM_KIND[reply.alarm], solicited=True)
            return
        if reply.prompt is None:  # pragma: no cover - the grammar gives one or the other
            return
        self._standing_alarm = None  # a normal prompt: the alarm was acknowledged
        new, old = PROMPT_STATE[reply.prompt], self._pump_state
        self._pump_state = new
        stopped_itself = old is PumpState.INFUSING and new is PumpState.STOPPED
        if stopped_itself and not self._stopping and self._vtbi is not None and self._vtbi > 0:
            # Inferred: alarms show first as A?x, our STP gives P; only VTBI end goes I -> S.
            self._vtbi_complete = True
            self._news += 1
            self._emit(EventKind.VTBI_COMPLETE, "volume to be infused reached; pump stopped")

    # -- exchanges ----------------------------------------------------------------------------

    def _drain(self, link: SerialLink, ctx: Context) -> None:
        """Take in, record and discard whatever arrived unasked, before the command is written.

        Safe-mode alarm packets are recorded as "unsolicited" and noted as alarms; anything else
        is "stale": bytes no command is waiting for. After a fault the driver first waits one
        reply time, so the late reply to the failed exchange is drained here as expected. Stale
        bytes found at any other time (outside connecting) mean an earlier reply may have been
        taken as the answer to the wrong command (New Era replies carry no sequence number):
        the link becomes UNCERTAIN and the command is not sent (FramingError), except a stop.
        """
        settling, self._settle = self._settle, False
        items = link.collect(self.reply_timeout_s if settling else 0, ctx, drain_note)
        stray = 0
        for item in items:
            reply = parse_quietly(item)
            if reply is not None and reply.alarm is not None:
                self.note_alarm(ALARM_KIND[reply.alarm], solicited=False)
            else:
                stray += 1
        if not stray or settling or self._connecting:
            return
        detail = f"{stray} reply(s) arrived that no command was waiting for"
        self._set_link(LinkState.UNCERTAIN, f"{detail}; replies may be out of step")
        if ctx.command != "STP":  # a stop is always sent
            raise FramingError(
                f"{detail}: an earlier reply may have answered another command; "
                f"{ctx.command or 'status'} not sent"
            )

    def _exchange(self, ctx: Context, retries: int, *, quiet: bool = False) -> Reply:
        """Send `ctx.command`, return the first valid reply; retry up to `retries` times."""
        link = self._link
        if link is None:
            raise NotConnectedError("pump not connected")
        failure: UncertainOutcomeError | None = None
        for attempt in range(retries + 1):
            try:
                self._drain(link, ctx)
                link.send(command_data(self.address, ctx.command), ctx)
                self._last_tx_s = self._clock()
                frame = link.read_frame(self.reply_timeout_s, ctx)
                reply = answer_to(ctx.command, frame.data, self.address)
            except LinkLostError as exc:
                self._lose(str(exc))
                raise
            except UncertainOutcomeError as exc:
                failure, self._settle = exc, True
                if not quiet:
                    self._emit(EventKind.COMMS_FAULT, f"{ctx.command or 'status'}: {exc}")
                self._check_loss()
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
        """Run a read-back; if it fails the command's outcome is unknown: UNCERTAIN.

        A read-back during which the link became UNCERTAIN (stale replies turned up) is not
        trusted either: FramingError.
        """
        try:
            value = read()
        except (UncertainOutcomeError, PumpAlarmError, PumpRejectedError, UnitsError):
            self._set_link(LinkState.UNCERTAIN, "command not confirmed by read-back")
            raise
        if self._guard.state is LinkState.UNCERTAIN:
            raise FramingError("read-back not trusted: replies were out of step with commands")
        return value

    def _read_back(
        self, read: Callable[[], Decimal], expected: Decimal, what: str, units: str
    ) -> None:
        """Confirm a set command by reading the value back; another value is a mismatch."""
        actual = self._confirm(read)
        if actual != expected:
            raise ReadbackMismatchError(
                f"pump reads back {what} of {actual} {units}, not {expected} {units}",
                expected=expected,
                actual=actual,
            )
