"""The typed errors of a pump adapter, one per failure class.

`UncertainOutcomeError` and its subclasses mean a command may or may not have been carried out:
the link is UNCERTAIN until a status read. `PumpRejectedError` and its subclasses mean the pump
answered and refused. Everything derives from `PumpError`.
"""

from __future__ import annotations

from decimal import Decimal

from titrator.pump.states import AlarmKind


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
