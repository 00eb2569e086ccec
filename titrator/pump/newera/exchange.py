"""The New Era exchange: one command at a time over the link.

Part of the New Era driver (`titrator.pump.newera.driver`). The exchange holds the open link.
Before each command it takes in the bytes that arrived unasked; it sends the command once and
reads one reply by a deadline; it retries queries a bounded number of times; it decides what a
missing, stray or refusing reply means for the link (UNCERTAIN, LOST) and for the caller (a typed
error). Every reply goes to the driver's `StateTracker`, which keeps what it says about the pump.

Not thread-safe on its own: the driver holds its lock around every use, and so does the poller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Final, TypeVar

from titrator.pump.base import (
    AlarmKind,
    EventKind,
    FramingError,
    LinkLostError,
    NotConnectedError,
    PumpAlarmError,
    PumpLinkState,
    PumpRejectedError,
    ReadbackMismatchError,
    UncertainOutcomeError,
    UnitsError,
)
from titrator.pump.newera.codec import (
    ErrorCode,
    Framing,
    Reply,
    parse_rate,
    parse_version,
    parse_volume,
)
from titrator.pump.newera.link import Context, SerialLink
from titrator.pump.newera.replies import (
    ALARM_KIND,
    answer_to,
    drain_note,
    parse_or_framing_error,
    parse_quietly,
    rejection,
)
from titrator.pump.newera.tracker import StateTracker

T = TypeVar("T")

_QUERY_ASKS: Final = 3
"""How often a query is asked while the pump keeps answering it with alarms."""


class Exchange:
    """Commands and replies over one New Era link at a time.

    Args:
        state: keeps what the replies say about the pump and the link.
        address: the pump's network address (0..99).
        reply_timeout_s: how long to wait for each reply.
        query_retries: extra attempts for queries (never for commands that change the pump).
        link_loss_after_s: silence after which the link is LOST.
        clock: the monotonic clock used for link-loss timing.

    Attributes:
        state: as given.
        address: as given.
        reply_timeout_s: as given.
        query_retries: as given.
        link_loss_after_s: as given.
    """

    def __init__(
        self,
        state: StateTracker,
        *,
        address: int,
        reply_timeout_s: float,
        query_retries: int,
        link_loss_after_s: float,
        clock: Callable[[], float],
    ) -> None:
        self.state = state
        self.address, self.reply_timeout_s = address, reply_timeout_s
        self.query_retries, self.link_loss_after_s = query_retries, link_loss_after_s
        self._clock = clock
        self._link: SerialLink | None = None
        self._last_ok_s = self._last_tx_s = 0.0
        self._settle = self._connecting = False

    # -- the link ---------------------------------------------------------------------------

    @property
    def attached(self) -> bool:
        """True while the exchange holds an open link."""
        return self._link is not None

    @property
    def url(self) -> str:
        """Where the link is open.

        Raises:
            NotConnectedError: no link is open.
        """
        return self._require_link().url

    def attach(self, link: SerialLink) -> None:
        """Use `link` (just opened) for every exchange from now on."""
        self._link, self._settle = link, False

    def detach(self) -> None:
        """Close the link; the link is DISCONNECTED and the pump's state unknown."""
        if self._link is not None:
            self._link.close()
            self._link = None
        self.state.disconnected()

    def set_framing(self, framing: Framing) -> None:
        """Frame from now on in `framing` (after the pump's mode changed, or to probe it)."""
        self._require_link().set_framing(framing)

    def keep_lost(self, framing: Framing) -> None:
        """Keep the open link LOST, framed in `framing`, so a stop can still be tried on it."""
        self.set_framing(framing)
        self.state.still_lost()

    def mark_connected(self) -> None:
        """The pump answered and its state was read: start link-loss timing, CONNECTED."""
        self._last_ok_s = self._clock()
        self.state.set_link(PumpLinkState.CONNECTED, "connected")

    @contextmanager
    def connecting(self) -> Iterator[None]:
        """While connecting, stale bytes and silence do not count against the link."""
        self._connecting = True
        try:
            yield
        finally:
            self._connecting = False

    def since_send_s(self) -> float:
        """Seconds since a command last went out."""
        return self._clock() - self._last_tx_s

    # -- exchanges --------------------------------------------------------------------------

    def _require_link(self) -> SerialLink:
        if self._link is None:
            raise NotConnectedError("pump not connected")
        return self._link

    def _drain(self, link: SerialLink, ctx: Context) -> None:
        """Take in, record and discard whatever arrived unasked, before the command is written.

        `_exchange` calls it when the link is not quiet (`SerialLink.quiet`: a frame left over,
        part of one held, or bytes waiting at the port) and after a fault; otherwise there is
        nothing to take in, and the command goes out after that one `in_waiting`.
        Safe-mode alarm packets are recorded as "unsolicited" and noted as alarms; anything else
        is "stale": bytes no command is waiting for. After a fault the exchange first waits one
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
                self.state.note_alarm(ALARM_KIND[reply.alarm], solicited=False)
            else:
                stray += 1
        if not stray or settling or self._connecting:
            return
        detail = f"{stray} reply(s) arrived that no command was waiting for"
        self.state.set_link(PumpLinkState.UNCERTAIN, f"{detail}; replies may be out of step")
        if ctx.command != "STP":  # a stop is always sent
            raise FramingError(
                f"{detail}: an earlier reply may have answered another command; "
                f"{ctx.command or 'status'} not sent"
            )

    def _exchange(
        self,
        ctx: Context,
        retries: int,
        *,
        quiet: bool = False,
        reply_framing: Framing | None = None,
    ) -> Reply:
        """Send `ctx.command`, return the first valid reply; retry up to `retries` times.

        `reply_framing`, when given, is the framing the reply comes in (a mode switch).
        """
        link = self._require_link()
        failure: UncertainOutcomeError | None = None
        for attempt in range(retries + 1):
            try:
                if self._settle or not link.quiet(ctx):  # else nothing arrived unasked
                    self._drain(link, ctx)
                link.send_command(self.address, ctx)
                if reply_framing is not None:
                    link.set_framing(reply_framing)
                self._last_tx_s = self._clock()
                frame = link.read_frame(self.reply_timeout_s, ctx)
                reply = answer_to(ctx.command, frame.data, self.address)
            except LinkLostError as exc:
                self.state.lose(str(exc))
                raise
            except UncertainOutcomeError as exc:
                failure, self._settle = exc, True
                if not quiet:
                    self.state.emit(EventKind.COMMS_FAULT, f"{ctx.command or 'status'}: {exc}")
                self.check_loss()
                continue
            self._last_ok_s = self._clock()
            if reply.error is ErrorCode.BAD_PACKET and attempt < retries:
                continue
            return reply
        assert failure is not None
        raise failure

    def transact(self, ctx: Context, retries: int, *, quiet: bool = False) -> Reply:
        """Send `ctx.command`, take in the state its reply reports, and return the reply.

        Nothing more: an alarm or a `?err` in the reply is the caller's to weigh.

        Args:
            ctx: the command and who asked for it, and why.
            retries: how many times to send it again when no valid reply came back.
            quiet: do not report comms faults as events (probing while connecting).

        Raises:
            UncertainOutcomeError: no valid reply after every attempt.
            LinkLostError: the port failed, or the pump has been silent too long.
        """
        reply = self._exchange(ctx, retries, quiet=quiet)
        self.state.absorb(reply)
        return reply

    def check_loss(self) -> None:
        """Raise LinkLostError (the link is LOST) when the pump has been silent too long."""
        if self._connecting or self.state.unlinked:
            return
        silent_s = self._clock() - self._last_ok_s
        if silent_s > self.link_loss_after_s:
            self.state.lose(f"no valid reply from the pump for {silent_s:.1f} s")
            raise LinkLostError(f"pump link lost: no valid reply for {silent_s:.1f} s")

    def query(self, ctx: Context) -> Reply:
        """A query, retried; an alarm reply acknowledges the alarm and the query is re-asked.

        Raises:
            PumpRejectedError: the pump answered `?err`.
            PumpAlarmError: the pump kept answering with alarms.
        """
        for _ in range(_QUERY_ASKS):
            reply = self.transact(ctx, self.query_retries)
            if reply.alarm is None:
                if reply.error is not None:
                    raise rejection(reply, ctx.command)
                return reply
        raise PumpAlarmError(
            "pump keeps reporting alarms", alarm=self.state.alarm or AlarmKind.STALL
        )

    def command(self, ctx: Context, *, reply_framing: Framing | None = None) -> Reply:
        """A command that changes the pump: sent once; no valid reply -> UNCERTAIN.

        `reply_framing`, when given, is the framing the pump answers in (a `SAF` mode switch);
        the link stays in it afterwards.

        Raises:
            UncertainOutcomeError: no valid reply; the link is UNCERTAIN.
            PumpAlarmError: the command only acknowledged an alarm; the link is UNCERTAIN.
            PumpRejectedError: the pump answered `?err`.
        """
        try:
            reply = self._exchange(ctx, 0, reply_framing=reply_framing)
        except UncertainOutcomeError:
            self.state.set_link(PumpLinkState.UNCERTAIN, f"outcome of {ctx.command} unknown")
            raise
        self.state.absorb(reply)
        if reply.alarm is not None:
            self.state.set_link(
                PumpLinkState.UNCERTAIN, f"{ctx.command} only acknowledged an alarm"
            )
            kind = ALARM_KIND[reply.alarm]
            raise PumpAlarmError(
                f"{ctx.command} not carried out: it acknowledged the {kind} alarm", alarm=kind
            )
        if reply.error is not None:
            raise rejection(reply, ctx.command)
        return reply

    def confirm(self, read: Callable[[], T]) -> T:
        """Run a read-back; if it fails the command's outcome is unknown: UNCERTAIN.

        A read-back during which the link became UNCERTAIN (stale replies turned up) is not
        trusted either: FramingError.
        """
        try:
            value = read()
        except (UncertainOutcomeError, PumpAlarmError, PumpRejectedError, UnitsError):
            self.state.set_link(PumpLinkState.UNCERTAIN, "command not confirmed by read-back")
            raise
        if self.state.link_state is PumpLinkState.UNCERTAIN:
            raise FramingError("read-back not trusted: replies were out of step with commands")
        return value

    def read_back(
        self, read: Callable[[], Decimal], expected: Decimal, what: str, units: str
    ) -> None:
        """Confirm a set command by reading the value back; another value is a mismatch."""
        actual = self.confirm(read)
        if actual != expected:
            raise ReadbackMismatchError(
                f"pump reads back {what} of {actual} {units}, not {expected} {units}",
                expected=expected,
                actual=actual,
            )

    # -- reads --------------------------------------------------------------------------------

    def read_rate(self, ctx: Context) -> Decimal:
        """Query `RAT`; the pump must report mL/h (other units raise UnitsError)."""
        rate, units = self._read_in_units(ctx, "RAT", parse_rate, "MH")
        self.state.rate_ml_per_h = rate
        if rate is None:
            raise UnitsError(f"pump rate is in {units}, not MH; set a rate while stopped")
        return rate

    def read_vtbi(self, ctx: Context) -> Decimal:
        """Query `VOL`; the pump must report mL."""
        vtbi, units = self._read_in_units(ctx, "VOL", parse_volume, "ML")
        self.state.vtbi_ml = vtbi
        if vtbi is None:
            raise UnitsError(f"pump volume is in {units}, not ML")
        return vtbi

    def read_version(self, ctx: Context) -> tuple[str, str]:
        """Query `VER` and parse model and firmware."""
        reply = self.query(Context(ctx.requester, ctx.reason, "VER"))
        return parse_or_framing_error(parse_version, reply.data)

    def _read_in_units(
        self,
        ctx: Context,
        command: str,
        parse: Callable[[str], tuple[Decimal, str]],
        units: str,
    ) -> tuple[Decimal | None, str]:
        """Query `command`: (value, units), the value None when the pump uses other units."""
        asked = ctx if ctx.command == command else Context(ctx.requester, ctx.reason, command)
        reply = self.query(asked)
        value, got = parse_or_framing_error(parse, reply.data)
        return (value if got == units else None), got
