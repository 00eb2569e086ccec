"""The pump adapter interface: link and pump states, status records, errors, the adapter protocol.

Every adapter (the New Era serial driver, the manual pump, the in-memory fake) implements
`PumpAdapter`. Calls are blocking and bounded by timeouts; run them on a worker thread, never on
the UI thread. Every call names a requester and a reason, so the audit log can attribute it, and
every byte an adapter sends or receives can be handed to the audit log as hex through `on_wire`.

The link state is kept apart from the pump state. After a command whose outcome is unknown the
link is UNCERTAIN: only a status read (which re-reads the real state) and stop are accepted until
the state is known again. After link loss (LOST) only `connect()` (a reconnect and state re-sync)
and a stop attempt are accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable


class LinkState(StrEnum):
    """What the adapter knows about its link to the pump."""

    DISCONNECTED = "disconnected"
    """Not connected yet, or closed."""
    CONNECTED = "connected"
    """The pump answers and its state is known."""
    UNCERTAIN = "uncertain"
    """A command's outcome is unknown: only status reads and stop until the state is re-read."""
    LOST = "lost"
    """The pump stopped answering or the line dropped: reconnect (`connect()`) to re-sync."""


class PumpState(StrEnum):
    """What the pump reports it is doing."""

    UNKNOWN = "unknown"
    STOPPED = "stopped"
    INFUSING = "infusing"
    PAUSED = "paused"
    ALARM = "alarm"
    WITHDRAWING = "withdrawing"
    PURGING = "purging"


class AlarmKind(StrEnum):
    """Pump alarms (the New Era `A?x` set; the fake and manual pumps use the same names)."""

    POWER_RESET = "power_reset"
    """Power was interrupted; runtime settings (a rate set while running) may be lost."""
    STALL = "stall"
    """Motor stalled: occlusion. The pump has stopped."""
    COMMS_TIMEOUT = "comms_timeout"
    """The pump's Safe-mode watchdog expired: it stopped delivery."""
    PROGRAM_ERROR = "program_error"
    """Pumping program error."""
    PHASE_OUT_OF_RANGE = "phase_out_of_range"
    """Pumping program phase out of range."""


class Direction(StrEnum):
    """Direction of bytes on the wire, from the host's side."""

    TX = "tx"
    RX = "rx"


class EventKind(StrEnum):
    """Kinds of event an adapter reports through `on_event`, possibly from its own thread."""

    LINK_CHANGED = "link_changed"
    ALARM = "alarm"
    COMMS_FAULT = "comms_fault"
    """A timeout, bad frame or bad checksum, even one a bounded query retry recovered from."""
    VTBI_COMPLETE = "vtbi_complete"
    STATE_CHANGED = "state_changed"
    """The background poll found the pump started, stopped or at another rate, by no command
    of the adapter's (someone at the pump's keypad)."""
    INSTRUCTION = "instruction"
    """Manual pump: a new instruction for the nurse to carry out and confirm."""


@dataclass(frozen=True)
class PumpStatus:
    """A snapshot of the pump as last read.

    Attributes:
        pump_state: what the pump reported doing.
        link_state: the adapter's link state when the snapshot was taken.
        rate_ml_per_h: the rate last read back from (or confirmed at) the pump; None if unknown.
        vtbi_ml: the volume to be infused last read back; 0 means continuous; None if unknown.
        alarm: an alarm seen while producing this status, if any.
        vtbi_complete: the pump stopped by itself because the volume to be infused was reached.
        monotonic_s: the adapter's monotonic clock when the snapshot was taken.
    """

    pump_state: PumpState
    link_state: LinkState
    rate_ml_per_h: Decimal | None = None
    vtbi_ml: Decimal | None = None
    alarm: AlarmKind | None = None
    vtbi_complete: bool = False
    monotonic_s: float = 0.0

    @property
    def infusing(self) -> bool:
        """True when the pump reports it is infusing."""
        return self.pump_state is PumpState.INFUSING


@dataclass(frozen=True)
class PumpInfo:
    """What `connect()` learned about the pump.

    Attributes:
        kind: "newera", "manual" or "fake".
        model: the model the pump reports (e.g. "NE1000"), or a description.
        firmware: the firmware version, or "" when not applicable.
        url: where the adapter is connected ("" for the manual and fake pumps).
        safe_mode_timeout_s: the pump's communications watchdog in seconds, None when not used.
        status: the pump's status read at the end of connecting.
    """

    kind: str
    model: str
    firmware: str
    url: str
    safe_mode_timeout_s: int | None
    status: PumpStatus


@dataclass(frozen=True)
class WireRecord:
    """Bytes sent or received, for the audit log.

    Attributes:
        direction: TX (host to pump) or RX (pump to host).
        data_hex: the bytes, hex encoded.
        monotonic_s: when they went out or came in.
        requester: who asked for the command in flight ("" for unsolicited bytes).
        reason: why.
        command: the command text in flight ("" is the status query).
        note: "unsolicited", "stale", "garbage: ..." and so on; "" for an ordinary frame.
    """

    direction: Direction
    data_hex: str
    monotonic_s: float
    requester: str
    reason: str
    command: str
    note: str = ""


@dataclass(frozen=True)
class AlarmEvent:
    """An alarm the adapter has seen.

    Attributes:
        kind: which alarm.
        monotonic_s: when it was seen.
        solicited: False when the pump reported it on its own (Safe-mode auto-alarm).
    """

    kind: AlarmKind
    monotonic_s: float
    solicited: bool


@dataclass(frozen=True)
class PumpEvent:
    """Something the UI or the audit log must hear about, possibly from the adapter's thread.

    Attributes:
        kind: what happened.
        status: the adapter's status snapshot at that moment.
        detail: a plain-language description.
        alarm: the alarm, for ALARM events.
    """

    kind: EventKind
    status: PumpStatus
    detail: str
    alarm: AlarmKind | None = None


WireHook = Callable[[WireRecord], None]
"""Receives every wire record. Called on whichever thread did the I/O; keep it quick."""
EventHook = Callable[[PumpEvent], None]
"""Receives adapter events. Called on whichever thread noticed them; keep it quick."""


class PumpError(Exception):
    """Base class of every pump adapter error."""


class NotConnectedError(PumpError):
    """The adapter is not connected: call `connect()` first."""


class LinkLostError(PumpError):
    """The line dropped or the pump stopped answering; the link is LOST. Reconnect to re-sync."""


class ConnectError(PumpError):
    """The port opened but no pump could be found or brought into a usable state."""


class UncertainOutcomeError(PumpError):
    """A command went out and no valid reply came back.

    For a command that changes the pump, its outcome is unknown and the link is now UNCERTAIN.
    For a query (retried a bounded number of times first) the pump is unchanged.
    """


class ReplyTimeoutError(UncertainOutcomeError):
    """No complete reply arrived within the timeout."""


class FramingError(UncertainOutcomeError):
    """The reply was garbage, a partial frame, or not a valid reply."""


class ChecksumError(FramingError):
    """The reply frame's CRC did not match."""


class ConfirmationTimeoutError(UncertainOutcomeError):
    """Manual pump: the nurse did not confirm the instruction in time."""


class UncertainStateError(PumpError):
    """Refused: the link is UNCERTAIN. Read the status (or stop) first."""


class PumpRejectedError(PumpError):
    """The pump answered that it did not carry out the command.

    Attributes:
        command: the command text that was rejected.
        code: the pump's error code ("", "NA", "OOR", "COM", "IGN").
    """

    def __init__(self, message: str, *, command: str, code: str) -> None:
        super().__init__(message)
        self.command = command
        self.code = code


class OutOfRangeError(PumpRejectedError):
    """`?OOR`: the value is outside the pump's limits. It is never clamped."""


class NotApplicableError(PumpRejectedError):
    """`?NA`: the command is not applicable in the pump's current state."""


class UnknownCommandError(PumpRejectedError):
    """`?`: the pump did not recognise the command."""


class BadPacketError(PumpRejectedError):
    """`?COM`: the pump received an invalid communications packet."""


class IgnoredError(PumpRejectedError):
    """`?IGN`: the pump ignored the command."""


class PumpAlarmError(PumpError):
    """The command only acknowledged a pending alarm and was not carried out.

    Attributes:
        alarm: the alarm that was acknowledged.
    """

    def __init__(self, message: str, *, alarm: AlarmKind) -> None:
        super().__init__(message)
        self.alarm = alarm


class ReadbackMismatchError(PumpError):
    """The value read back is not the value commanded (the pump's state itself is known).

    Attributes:
        expected: what was commanded.
        actual: what the pump reports, None if it reports nothing usable.
    """

    def __init__(self, message: str, *, expected: Decimal, actual: Decimal | None) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class RateNotRepresentableError(PumpError, ValueError):
    """The value cannot be sent exactly (not finite, not positive, too many digits); not sent."""


class UnitsError(PumpError):
    """The pump reports a rate or volume in units the adapter will not convert."""


class DeclinedError(PumpError):
    """Manual pump: the nurse declined the instruction; nothing was changed."""


@runtime_checkable
class PumpAdapter(Protocol):
    """The interface every pump adapter implements. Blocking: call from a worker thread."""

    @property
    def link_state(self) -> LinkState:
        """The current link state."""
        ...

    def connect(self, *, requester: str, reason: str) -> PumpInfo:
        """Open the link (or re-open it after loss), identify the pump and read its state."""
        ...

    def status(self, *, requester: str, reason: str) -> PumpStatus:
        """Read the pump's state. When UNCERTAIN, also re-read the rate and resolve the link."""
        ...

    def set_rate(self, rate_ml_per_h: Decimal, *, requester: str, reason: str) -> PumpStatus:
        """Set the rate, sent once and confirmed by read-back. Never clamped, never resent."""
        ...

    def start(self, *, requester: str, reason: str) -> PumpStatus:
        """Start (or resume) infusing at the confirmed rate."""
        ...

    def stop(self, *, requester: str, reason: str) -> PumpStatus:
        """Stop (or pause) delivery. Accepted in every link state; may be repeated."""
        ...

    def volume_infused(self, *, requester: str, reason: str) -> Decimal:
        """The volume infused in mL since the counter was last cleared."""
        ...

    def set_volume_to_be_infused(
        self, volume_ml: Decimal, *, requester: str, reason: str
    ) -> PumpStatus:
        """Set the volume to be infused (0 = continuous), confirmed by read-back."""
        ...

    def alarms(self) -> tuple[AlarmEvent, ...]:
        """Return and forget the alarms seen since the previous call."""
        ...

    def close(self) -> None:
        """Close the link. Further calls need `connect()`."""
        ...


def check_positive_decimal(value: Decimal, name: str) -> None:
    """Reject a value that is not a finite, positive Decimal (never corrected).

    Args:
        value: the value to check.
        name: the parameter name, for the message.

    Raises:
        TypeError: if the value is not a Decimal (a float must never reach a pump).
        RateNotRepresentableError: if it is not finite or not positive.
    """
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, got {type(value).__name__}")
    if not value.is_finite() or value <= 0:
        raise RateNotRepresentableError(f"{name} must be finite and positive, got {value}")


class LinkGuard:
    """The command gate shared by adapters: which calls each link state allows.

    Attributes:
        state: the current link state.
    """

    def __init__(self) -> None:
        self.state = LinkState.DISCONNECTED

    def move(self, state: LinkState) -> bool:
        """Change to `state`; False when nothing changed.

        Nothing changes when already there, or from LOST to UNCERTAIN: a lost link stays LOST
        until a reconnect, whatever else goes wrong meanwhile.
        """
        if self.state is state or (self.state is LinkState.LOST and state is LinkState.UNCERTAIN):
            return False
        self.state = state
        return True

    def require(self, operation: str) -> None:
        """Raise if `operation` ("status", "read", "stop", "set") is not allowed now.

        Args:
            operation: "set" (anything that changes the pump except stop) is refused when
                UNCERTAIN; "status", "read" (other queries) and "stop" are allowed.

        Raises:
            NotConnectedError: before `connect()` or after `close()`.
            LinkLostError: when LOST (except for "stop", which is always attempted).
            UncertainStateError: when UNCERTAIN and the operation is neither status nor stop.
        """
        if self.state is LinkState.DISCONNECTED:
            raise NotConnectedError(f"pump not connected: {operation} refused; connect first")
        if self.state is LinkState.LOST and operation != "stop":
            raise LinkLostError(f"pump link lost: {operation} refused; reconnect first")
        if self.state is LinkState.UNCERTAIN and operation == "set":
            raise UncertainStateError(
                f"pump state uncertain: {operation} refused; read the status first"
            )
