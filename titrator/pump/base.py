"""The pump adapter interface: status records, hooks, the adapter protocol and the link guard.

The states (`titrator.pump.states`) and the typed errors (`titrator.pump.errors`) live in their
own modules and are re-exported here, so `titrator.pump.base` stays the one import for adapters.

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
from typing import Protocol, runtime_checkable

from titrator.pump.errors import (
    BadPacketError,
    ChecksumError,
    ConfirmationTimeoutError,
    ConnectError,
    DeclinedError,
    FramingError,
    IgnoredError,
    LinkLostError,
    NotApplicableError,
    NotConnectedError,
    OutOfRangeError,
    PumpAlarmError,
    PumpError,
    PumpRejectedError,
    RateNotRepresentableError,
    ReadbackMismatchError,
    ReplyTimeoutError,
    UncertainOutcomeError,
    UncertainStateError,
    UnitsError,
    UnknownCommandError,
)
from titrator.pump.states import AlarmKind, EventKind, PumpLinkState, PumpState, WireDirection

__all__ = [
    "AlarmEvent",
    "AlarmKind",
    "BadPacketError",
    "ChecksumError",
    "ConfirmationTimeoutError",
    "ConnectError",
    "DeclinedError",
    "EventHook",
    "EventKind",
    "FramingError",
    "IgnoredError",
    "LinkGuard",
    "LinkLostError",
    "NotApplicableError",
    "NotConnectedError",
    "OutOfRangeError",
    "PumpAdapter",
    "PumpAlarmError",
    "PumpError",
    "PumpEvent",
    "PumpInfo",
    "PumpLinkState",
    "PumpRejectedError",
    "PumpState",
    "PumpStatus",
    "RateNotRepresentableError",
    "ReadbackMismatchError",
    "ReplyTimeoutError",
    "UncertainOutcomeError",
    "UncertainStateError",
    "UnitsError",
    "UnknownCommandError",
    "WireDirection",
    "WireHook",
    "WireRecord",
    "check_positive_decimal",
]


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
    link_state: PumpLinkState
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

    direction: WireDirection
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


@runtime_checkable
class PumpAdapter(Protocol):
    """The interface every pump adapter implements. Blocking: call from a worker thread."""

    @property
    def link_state(self) -> PumpLinkState:
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
        self.state = PumpLinkState.DISCONNECTED

    def move(self, state: PumpLinkState) -> bool:
        """Change to `state`; False when nothing changed.

        Nothing changes when already there, or from LOST to UNCERTAIN: a lost link stays LOST
        until a reconnect, whatever else goes wrong meanwhile.
        """
        if self.state is state or (
            self.state is PumpLinkState.LOST and state is PumpLinkState.UNCERTAIN
        ):
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
        if self.state is PumpLinkState.DISCONNECTED:
            raise NotConnectedError(f"pump not connected: {operation} refused; connect first")
        if self.state is PumpLinkState.LOST and operation != "stop":
            raise LinkLostError(f"pump link lost: {operation} refused; reconnect first")
        if self.state is PumpLinkState.UNCERTAIN and operation == "set":
            raise UncertainStateError(
                f"pump state uncertain: {operation} refused; read the status first"
            )
