"""Mappings, conversions and checks between New Era replies and the adapter's types."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

from titrator.pump.base import (
    AlarmKind,
    BadPacketError,
    FramingError,
    IgnoredError,
    NotApplicableError,
    OutOfRangeError,
    PumpRejectedError,
    PumpState,
    RateNotRepresentableError,
    UncertainOutcomeError,
    UnknownCommandError,
)
from titrator.pump.newera.codec import (
    DecodeError,
    ErrorCode,
    Frame,
    Junk,
    NotRepresentableError,
    PumpAlarmCode,
    PumpPrompt,
    Reply,
    format_number,
    parse_reply,
)

T = TypeVar("T")

PROMPT_STATE: dict[PumpPrompt, PumpState] = {
    PumpPrompt.INFUSING: PumpState.INFUSING,
    PumpPrompt.WITHDRAWING: PumpState.WITHDRAWING,
    PumpPrompt.STOPPED: PumpState.STOPPED,
    PumpPrompt.PAUSED: PumpState.PAUSED,
    PumpPrompt.PAUSE_PHASE: PumpState.PAUSED,
    PumpPrompt.USER_WAIT: PumpState.PAUSED,
    PumpPrompt.PURGING: PumpState.PURGING,
}

ALARM_KIND: dict[PumpAlarmCode, AlarmKind] = {
    PumpAlarmCode.RESET: AlarmKind.POWER_RESET,
    PumpAlarmCode.STALL: AlarmKind.STALL,
    PumpAlarmCode.COMMS_TIMEOUT: AlarmKind.COMMS_TIMEOUT,
    PumpAlarmCode.PROGRAM_ERROR: AlarmKind.PROGRAM_ERROR,
    PumpAlarmCode.PHASE_OUT_OF_RANGE: AlarmKind.PHASE_OUT_OF_RANGE,
}

ERROR_TYPES: dict[ErrorCode, type[PumpRejectedError]] = {
    ErrorCode.UNRECOGNISED: UnknownCommandError,
    ErrorCode.NOT_APPLICABLE: NotApplicableError,
    ErrorCode.OUT_OF_RANGE: OutOfRangeError,
    ErrorCode.BAD_PACKET: BadPacketError,
    ErrorCode.IGNORED: IgnoredError,
}


def rejection(reply: Reply, command: str) -> PumpRejectedError:
    """The typed error for a reply carrying `?err`."""
    assert reply.error is not None
    return ERROR_TYPES[reply.error](
        f"pump refused {command!r}: ?{reply.error.value}", command=command, code=reply.error.value
    )


def reply_from(data: bytes) -> Reply:
    """Parse a frame's data as a reply; a malformed one is a FramingError."""
    try:
        return parse_reply(data)
    except DecodeError as exc:
        raise FramingError(str(exc)) from exc


def parse_or_framing_error(parse: Callable[[str], T], text: str) -> T:
    """Parse reply data with `parse`; data of the wrong shape is a FramingError."""
    try:
        return parse(text)
    except DecodeError as exc:
        raise FramingError(str(exc)) from exc


def to_pump_number(value: Decimal) -> str:
    """Format for the wire exactly, or raise RateNotRepresentableError (never rounded)."""
    try:
        return format_number(value)
    except NotRepresentableError as exc:
        raise RateNotRepresentableError(str(exc)) from exc


_QUERIES = frozenset({"RAT", "VOL", "VER", "SAF", "DIR", "DIS", "DIA"})
"""Commands answered with data; every other command (and the status query) by a status alone."""


def parse_quietly(item: Frame | Junk) -> Reply | None:
    """The reply in a frame, or None for junk or a frame that is not a valid reply."""
    if not isinstance(item, Frame):
        return None
    try:
        return reply_from(item.data)
    except UncertainOutcomeError:
        return None


def drain_note(item: Frame | Junk) -> str:
    """Wire note for bytes found before a command: "unsolicited" alarm, else "stale"."""
    reply = parse_quietly(item)
    if reply is not None and reply.alarm is not None:
        return "unsolicited"
    return "stale" if isinstance(item, Frame) else f"stale junk: {item.reason}"


def answer_to(command: str, data: bytes, address: int) -> Reply:
    """Parse a reply and check it can be the answer to `command` (else FramingError).

    It must come from `address`, and carry data exactly when the command is a query: a set
    command or a status query is answered by a status alone.
    """
    try:
        reply = parse_reply(data)
    except DecodeError as exc:
        raise FramingError(str(exc)) from exc
    if reply.address != address:
        raise FramingError(f"reply from address {reply.address:02d}, not {address:02d}")
    plain = reply.alarm is None and reply.error is None
    if plain and bool(reply.data) != (command in _QUERIES):
        raise FramingError(f"reply {data!r} does not fit {command or 'status'!r}: not its answer")
    return reply
