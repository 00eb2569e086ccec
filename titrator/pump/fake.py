"""An in-memory pump for unit tests, with the adapter's semantics and scriptable faults.

It keeps the same rules as the New Era driver: a set command with a lost or bad reply puts the
link in UNCERTAIN; the first command after an alarm only acknowledges it; rates are never clamped;
`status()` resolves UNCERTAIN. Faults are scripted per operation with `script()`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from titrator.pump.base import (
    AlarmEvent,
    AlarmKind,
    ChecksumError,
    EventHook,
    EventKind,
    FramingError,
    LinkGuard,
    LinkLostError,
    NotApplicableError,
    OutOfRangeError,
    PumpAlarmError,
    PumpEvent,
    PumpInfo,
    PumpLinkState,
    PumpState,
    PumpStatus,
    ReplyTimeoutError,
    UncertainOutcomeError,
    WireDirection,
    WireHook,
    WireRecord,
    check_positive_decimal,
)
from titrator.pump.newera.replies import to_pump_number

_SECONDS_PER_HOUR = Decimal(3600)
_QUERY_ATTEMPTS = 3


class FakeFault(StrEnum):
    """What the fake pump does wrong on a scripted operation."""

    NO_REPLY = "no_reply"
    """The command is carried out, the reply is lost (ReplyTimeoutError)."""
    LOST_COMMAND = "lost_command"
    """The command never arrives (ReplyTimeoutError)."""
    GARBAGE = "garbage"
    """Carried out; the reply is garbage (FramingError)."""
    BAD_CRC = "bad_crc"
    """Carried out; the reply fails its checksum (ChecksumError)."""
    DISCONNECT = "disconnect"
    """The line drops before the command arrives (LinkLostError)."""
    STALL = "stall"
    """An occlusion alarm just before the command, which then only acknowledges it."""


_REPLY_FAULTS = frozenset(
    {FakeFault.NO_REPLY, FakeFault.LOST_COMMAND, FakeFault.GARBAGE, FakeFault.BAD_CRC}
)


@dataclass
class _Script:
    operation: str
    fault: FakeFault
    count: int


class FakePump:
    """In-memory pump. Implements `PumpAdapter`.

    Args:
        min_rate_ml_per_h: lowest rate accepted (below: OutOfRangeError).
        max_rate_ml_per_h: highest rate accepted (above: OutOfRangeError).
        clock: monotonic seconds; drives volume integration (inject a fake clock in tests).
        on_wire: receives a record per command and reply (ASCII text, hex encoded).
        on_event: receives link changes, alarms and comms faults.
    """

    def __init__(
        self,
        *,
        min_rate_ml_per_h: Decimal = Decimal("0.1"),
        max_rate_ml_per_h: Decimal = Decimal(999),
        clock: Callable[[], float] = time.monotonic,
        on_wire: WireHook | None = None,
        on_event: EventHook | None = None,
    ) -> None:
        self.min_rate_ml_per_h, self.max_rate_ml_per_h = min_rate_ml_per_h, max_rate_ml_per_h
        self._clock, self._on_wire, self._on_event = clock, on_wire, on_event
        self._guard = LinkGuard()
        self._scripts: list[_Script] = []
        self.sent: list[str] = []
        """Every command that went out, as text ("RAT5", "RUN", "STP", "" for status)."""
        self.true_state = PumpState.STOPPED
        """What the pump is really doing."""
        self.true_rate_ml_per_h = Decimal(0)
        self.true_vtbi_ml = Decimal(0)
        self.volume_infused_ml = Decimal(0)
        self.pending_alarm: AlarmKind | None = None
        self.line_up = True
        """False after a disconnect until the next `connect()`."""
        self._run_ml = Decimal(0)
        self._last_s = clock()
        self._known_state = PumpState.UNKNOWN
        self._known_rate: Decimal | None = None
        self._vtbi_complete = False
        self._op_alarm: AlarmKind | None = None
        self._alarms: list[AlarmEvent] = []

    # -- test controls --------------------------------------------------------------------------

    def script(self, operation: str, fault: FakeFault, count: int = 1) -> None:
        """Make the next `count` calls of `operation` fail with `fault`.

        Args:
            operation: "set_rate", "start", "stop", "status", "volume", "vtbi" or "any".
            fault: what goes wrong.
            count: how many calls it affects.
        """
        self._scripts.append(_Script(operation, fault, count))

    def raise_alarm(self, kind: AlarmKind) -> None:
        """An alarm at the pump: stall and comms time-out stop it; the next command acks it."""
        self._advance()
        self.pending_alarm = kind
        if kind is not AlarmKind.POWER_RESET:
            self.true_state = PumpState.STOPPED
        else:
            self.true_state, self.true_rate_ml_per_h = PumpState.STOPPED, Decimal(0)

    def drop_link(self) -> None:
        """Pull the cable: every call fails with LinkLostError until `connect()`."""
        self.line_up = False

    # -- PumpAdapter ----------------------------------------------------------------------------

    @property
    def link_state(self) -> PumpLinkState:
        """The current link state."""
        return self._guard.state

    def connect(self, *, requester: str, reason: str) -> PumpInfo:
        """Connect and read the state."""
        self.line_up = True
        self._guard.state = PumpLinkState.CONNECTED
        self._emit(EventKind.LINK_CHANGED, "link connected")
        status = self.status(requester=requester, reason=reason)
        return PumpInfo("fake", "FakePump", "", "", None, status)

    def status(self, *, requester: str, reason: str) -> PumpStatus:
        """Read the status; resolves UNCERTAIN."""
        self._op_alarm = None
        self._guard.require("status")
        if (
            self._query("status", "", requester, reason) is not None
        ):  # that read acknowledged an alarm: read again
            self._query("status", "", requester, reason)
        self._known_rate = self.true_rate_ml_per_h
        self._set_link(PumpLinkState.CONNECTED)
        return self._snapshot()

    def set_rate(self, rate_ml_per_h: Decimal, *, requester: str, reason: str) -> PumpStatus:
        """Set and confirm the rate (never clamped)."""
        check_positive_decimal(rate_ml_per_h, "rate_ml_per_h")
        text = to_pump_number(rate_ml_per_h)
        self._op_alarm = None
        self._guard.require("set")
        if not self.min_rate_ml_per_h <= rate_ml_per_h <= self.max_rate_ml_per_h:
            self.sent.append(f"RAT{text}")
            raise OutOfRangeError(f"{rate_ml_per_h} mL/h out of range", command="RAT", code="OOR")

        def change() -> None:
            self.true_rate_ml_per_h = rate_ml_per_h

        self._exchange("set_rate", f"RAT{text}", requester, reason, changes=change)
        self._known_rate = self.true_rate_ml_per_h
        return self._snapshot()

    def start(self, *, requester: str, reason: str) -> PumpStatus:
        """Start infusing at the confirmed rate."""
        self._op_alarm = None
        self._guard.require("set")
        if self.true_rate_ml_per_h <= 0:
            raise NotApplicableError("no rate set", command="RUN", code="NA")

        def change() -> None:
            if self.true_state is PumpState.STOPPED:
                self._run_ml = Decimal(0)
            self.true_state = PumpState.INFUSING

        self._exchange("start", "RUN", requester, reason, changes=change)
        self._vtbi_complete = False
        return self._snapshot()

    def stop(self, *, requester: str, reason: str) -> PumpStatus:
        """Stop delivery (retried up to 3 times, as the driver does)."""
        self._op_alarm = None
        self._guard.require("stop")

        def change() -> None:
            if self.true_state is PumpState.INFUSING:
                self.true_state = PumpState.PAUSED
            elif self.true_state is PumpState.PAUSED:
                self.true_state = PumpState.STOPPED

        last: Exception | None = None
        for _ in range(3):
            try:
                self._exchange("stop", "STP", requester, reason, changes=change, query=True)
            except (UncertainOutcomeError, PumpAlarmError) as exc:
                last = exc
                continue
            if self.true_state is not PumpState.INFUSING:
                return self._snapshot()
        self._set_link(PumpLinkState.UNCERTAIN)
        assert last is not None
        raise last

    def volume_infused(self, *, requester: str, reason: str) -> Decimal:
        """The volume infused in mL."""
        self._op_alarm = None
        self._guard.require("read")
        self._query("volume", "DIS", requester, reason)
        return self.volume_infused_ml

    def set_volume_to_be_infused(
        self, volume_ml: Decimal, *, requester: str, reason: str
    ) -> PumpStatus:
        """Set the VTBI (0 = continuous)."""
        if volume_ml != 0:
            check_positive_decimal(volume_ml, "volume_ml")
        text = to_pump_number(volume_ml)
        self._op_alarm = None
        self._guard.require("set")
        if self.true_state is PumpState.INFUSING:
            raise NotApplicableError("VTBI cannot change while infusing", command="VOL", code="NA")

        def change() -> None:
            self.true_vtbi_ml = volume_ml

        self._exchange("vtbi", f"VOL{text}", requester, reason, changes=change)
        return self._snapshot()

    def alarms(self) -> tuple[AlarmEvent, ...]:
        """Return and forget the alarms seen since the previous call."""
        out, self._alarms = tuple(self._alarms), []
        return out

    def close(self) -> None:
        """Disconnect."""
        self._guard.state = PumpLinkState.DISCONNECTED

    # -- internals ------------------------------------------------------------------------------

    def _advance(self) -> None:
        now_s = self._clock()
        dt_s = Decimal(repr(max(0.0, now_s - self._last_s)))
        self._last_s = now_s
        if self.true_state is not PumpState.INFUSING:
            return
        delta_ml = self.true_rate_ml_per_h * dt_s / _SECONDS_PER_HOUR
        if self.true_vtbi_ml > 0 and self._run_ml + delta_ml >= self.true_vtbi_ml:
            delta_ml = self.true_vtbi_ml - self._run_ml
            self.true_state = PumpState.STOPPED
            if self._known_state is PumpState.INFUSING:
                self._vtbi_complete = True
        self._run_ml += delta_ml
        self.volume_infused_ml += delta_ml

    def _take_script(self, operation: str) -> FakeFault | None:
        for entry in self._scripts:
            if entry.operation in (operation, "any"):
                entry.count -= 1
                if entry.count <= 0:
                    self._scripts.remove(entry)
                return entry.fault
        return None

    def _record(self, direction: WireDirection, text: str, requester: str, reason: str) -> None:
        if self._on_wire is not None:
            record = WireRecord(
                direction, text.encode().hex(" "), self._clock(), requester, reason, text
            )
            self._on_wire(record)

    def _query(self, operation: str, command: str, requester: str, reason: str) -> AlarmKind | None:
        """A query, retried like the driver's (bounded); returns an alarm it acknowledged."""
        for attempt in range(_QUERY_ATTEMPTS):
            try:
                return self._exchange(
                    operation, command, requester, reason, changes=None, query=True
                )
            except UncertainOutcomeError:
                if attempt == _QUERY_ATTEMPTS - 1:
                    raise
        return None

    def _exchange(
        self,
        operation: str,
        command: str,
        requester: str,
        reason: str,
        *,
        changes: Callable[[], None] | None,
        query: bool = False,
    ) -> AlarmKind | None:
        self._advance()
        if not self.line_up:
            self._lose()
        fault = self._take_script(operation)
        if fault is FakeFault.DISCONNECT:
            self.line_up = False
            self._lose()
        if fault is FakeFault.STALL:
            self.raise_alarm(AlarmKind.STALL)
        self.sent.append(command)
        self._record(WireDirection.TX, command, requester, reason)
        executed = fault is not FakeFault.LOST_COMMAND
        alarm = self.pending_alarm if executed else None
        if alarm is not None:
            self.pending_alarm = None
        elif executed and changes is not None:
            changes()
        if fault in _REPLY_FAULTS:
            error = {
                FakeFault.GARBAGE: FramingError("garbage reply"),
                FakeFault.BAD_CRC: ChecksumError("reply failed its CRC"),
            }.get(fault, ReplyTimeoutError(f"no reply to {command!r}"))
            self._emit(EventKind.COMMS_FAULT, str(error))
            if not query:
                self._set_link(PumpLinkState.UNCERTAIN)
            raise error
        self._record(WireDirection.RX, f"00{self.true_state.value[0].upper()}", requester, reason)
        self._known_state = PumpState.ALARM if alarm is not None else self.true_state
        if alarm is not None:
            self._op_alarm = alarm
            self._alarms.append(AlarmEvent(alarm, self._clock(), solicited=True))
            self._emit(EventKind.ALARM, f"pump alarm: {alarm}", alarm)
            if not query:
                self._set_link(PumpLinkState.UNCERTAIN)
                raise PumpAlarmError(f"{command} only acknowledged the {alarm} alarm", alarm=alarm)
        return alarm

    def _lose(self) -> None:
        self._known_state, self._known_rate = PumpState.UNKNOWN, None
        self._set_link(PumpLinkState.LOST)
        raise LinkLostError("fake pump link lost")

    def _set_link(self, state: PumpLinkState) -> None:
        if self._guard.move(state):
            self._emit(EventKind.LINK_CHANGED, f"link {state}")

    def _snapshot(self) -> PumpStatus:
        return PumpStatus(
            pump_state=self._known_state,
            link_state=self._guard.state,
            rate_ml_per_h=self._known_rate,
            vtbi_ml=self.true_vtbi_ml,
            alarm=self._op_alarm,
            vtbi_complete=self._vtbi_complete,
            monotonic_s=self._clock(),
        )

    def _emit(self, kind: EventKind, detail: str, alarm: AlarmKind | None = None) -> None:
        if self._on_event is not None:
            self._on_event(PumpEvent(kind, self._snapshot(), detail, alarm))
