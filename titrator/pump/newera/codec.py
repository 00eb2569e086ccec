"""New Era RS-232 wire codec: framing (Basic and Safe), CRC-16/XMODEM, reply and value parsing.

Pure functions and one incremental decoder; no I/O. Safe-mode frames are delimited by their
length byte, never by scanning for ETX (CRC and length bytes may themselves be 0x02 or 0x03).

    Safe:  STX <len> <data> <crc hi> <crc lo> ETX    len = len(data) + 4, CRC over <data> only
    Basic: <data> CR  to the pump;  STX <data> ETX  from the pump
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from typing import Final

STX: Final = 0x02
ETX: Final = 0x03
CR: Final = 0x0D
MAX_SAFE_DATA_BYTES: Final = 251
"""The length byte counts data + 4 and must fit in one byte."""


class Framing(StrEnum):
    """The two New Era communication modes."""

    SAFE = "safe"
    BASIC = "basic"


class DecodeError(ValueError):
    """Bytes or text that are not a valid New Era reply or value."""


class NotRepresentableError(ValueError):
    """A number that the pump's number format (4 digits, 3 decimals) cannot carry exactly."""


class PumpPrompt(StrEnum):
    """New Era status prompts: the letter after the address telling what the pump is doing.

    The pump's own prompt character, not a prompt shown to the nurse.
    """

    INFUSING = "I"
    WITHDRAWING = "W"
    STOPPED = "S"
    PAUSED = "P"
    PAUSE_PHASE = "T"
    USER_WAIT = "U"
    PURGING = "X"


class PumpAlarmCode(StrEnum):
    """New Era alarm letters (after `A?`), as on the wire; the adapter reports them as `AlarmKind`.

    Not the engine's alarm conditions (`titrator.domain.decisions.AlarmCode`).
    """

    RESET = "R"
    STALL = "S"
    COMMS_TIMEOUT = "T"
    PROGRAM_ERROR = "E"
    PHASE_OUT_OF_RANGE = "O"


class ErrorCode(StrEnum):
    """New Era command errors (after `?`)."""

    UNRECOGNISED = ""
    NOT_APPLICABLE = "NA"
    OUT_OF_RANGE = "OOR"
    BAD_PACKET = "COM"
    IGNORED = "IGN"


def crc16_xmodem(data: bytes) -> int:
    """CRC-16/XMODEM (poly 0x1021, init 0, no reflection), as the New Era Safe mode uses.

    Args:
        data: the packet's data bytes.

    Returns:
        The 16-bit CRC.
    """
    return binascii.crc_hqx(data, 0)


def encode_safe(data: bytes) -> bytes:
    """Frame `data` as a Safe-mode packet.

    Args:
        data: the command data, e.g. b"0RAT5MH".

    Returns:
        STX, length, data, CRC (big-endian), ETX.

    Raises:
        ValueError: if the data is too long for the length byte.
    """
    if len(data) > MAX_SAFE_DATA_BYTES:
        raise ValueError(f"Safe-mode data too long: {len(data)} bytes")
    return bytes((STX, len(data) + 4)) + data + crc16_xmodem(data).to_bytes(2, "big") + b"\x03"


def encode_basic(data: bytes) -> bytes:
    """Frame `data` as a Basic-mode command (data then CR)."""
    return data + b"\r"


def encode(data: bytes, framing: Framing) -> bytes:
    """Frame `data` for the given mode."""
    return encode_safe(data) if framing is Framing.SAFE else encode_basic(data)


@lru_cache(maxsize=256, typed=True)  # typed: "safe" (a str) is not Framing.SAFE to `encode`
def command_frame(address: int, command: str, framing: Framing) -> bytes:
    """The framed bytes of `command` to the pump at `address`: `encode(command_data(...))`.

    A driver sends the same few commands over and over (the status query, `RAT`, the rates it
    sets), so each one is framed (data, CRC) once and the bytes are kept (bounded: the least
    recently sent fall out first). Bytes are immutable; a kept frame is the encoder's own output.

    Raises:
        ValueError: as `command_data` and `encode` do (nothing is kept then).
    """
    return encode(command_data(address, command), framing)


def command_data(address: int, command: str) -> bytes:
    """The data bytes of a command to the pump at `address` (0..99).

    Args:
        address: the pump's network address.
        command: the command and its argument, canonical upper case, e.g. "RAT5MH" ("" = status).

    Returns:
        ASCII bytes such as b"0RAT5MH".

    Raises:
        ValueError: for an address outside 0..99 or non-ASCII command text.
    """
    if not 0 <= address <= 99:
        raise ValueError(f"address must be 0..99, got {address}")
    return f"{address}{command}".encode("ascii")


@dataclass(frozen=True)
class Frame:
    """One complete, valid frame's data (without framing bytes) and its raw bytes."""

    data: bytes
    raw: bytes


@dataclass(frozen=True)
class Junk:
    """Bytes that are not part of a valid frame, and why."""

    raw: bytes
    reason: str


class FrameDecoder:
    """Incremental decoder of frames from the pump. Never raises on any input bytes."""

    def __init__(self, framing: Framing) -> None:
        self.framing = framing
        self._buffer = bytearray()

    @property
    def partial(self) -> bytes:
        """Bytes held back as the start of a frame not yet complete."""
        return bytes(self._buffer)

    @property
    def holding(self) -> bool:
        """True while part of a frame is held back (`partial` without copying it)."""
        return bool(self._buffer)

    def wanted(self) -> int | None:
        """How many more bytes complete the frame in progress (Safe mode); None in Basic mode.

        A Safe frame says its own size: with nothing held the next frame's STX and length byte
        (2) are wanted, then the rest that the length byte counts. A Basic reply ends at ETX,
        and its size is not known until then.
        """
        if self.framing is not Framing.SAFE:
            return None
        held = len(self._buffer)
        if held < 2:
            return 2 - held
        return max(1, 1 + self._buffer[1] - held)

    def reset(self) -> bytes:
        """Discard (and return) any partial frame, e.g. after an inter-byte timeout."""
        held = bytes(self._buffer)
        self._buffer.clear()
        return held

    def feed(self, data: bytes) -> list[Frame | Junk]:
        """Add received bytes; return the frames and junk they complete, in order.

        The usual case, one whole Safe frame read by its length with nothing held, is decoded
        without going through the buffer; the result is the same (`_feed_buffered` gives it
        for any bytes).
        """
        if (
            not self._buffer
            and self.framing is Framing.SAFE
            and len(data) > 4
            and data[0] == STX
            and data[1] == len(data) - 1
            and data[-1] == ETX
        ):
            return [_whole_safe_frame(bytes(data))]
        return self._feed_buffered(data)

    def _feed_buffered(self, data: bytes) -> list[Frame | Junk]:
        self._buffer += data
        out: list[Frame | Junk] = []
        junk = bytearray()
        while self._buffer:
            if self._buffer[0] != STX:
                start = self._buffer.find(STX)
                cut = len(self._buffer) if start < 0 else start
                junk += self._buffer[:cut]
                del self._buffer[:cut]
                continue
            item = self._take_safe() if self.framing is Framing.SAFE else self._take_basic()
            if item is None:
                break
            if isinstance(item, Junk) and item.reason != "bad crc":
                junk += item.raw  # resynchronising bytes, reported together
                continue
            if junk:
                out.append(Junk(bytes(junk), "garbage"))
                junk.clear()
            out.append(item)
        if junk:
            out.append(Junk(bytes(junk), "garbage"))
        return out

    def _take_safe(self) -> Frame | Junk | None:
        buf = self._buffer
        if len(buf) < 2:
            return None
        length = buf[1]
        if length < 4:
            del buf[:1]
            return Junk(b"\x02", "bad length")
        total = 1 + length
        if len(buf) < total:
            return None
        raw = bytes(buf[:total])
        if raw[-1] != ETX:
            del buf[:1]
            return Junk(b"\x02", "bad terminator")
        data = raw[2:-3]
        del buf[:total]
        if int.from_bytes(raw[-3:-1], "big") != crc16_xmodem(data):
            return Junk(raw, "bad crc")
        return Frame(data, raw)

    def _take_basic(self) -> Frame | Junk | None:
        buf = self._buffer
        end = buf.find(ETX)
        restart = buf.find(STX, 1)
        if restart >= 0 and (end < 0 or restart < end):
            dropped = bytes(buf[:restart])
            del buf[:restart]
            return Junk(dropped, "unterminated frame")
        if end < 0:
            return None
        raw = bytes(buf[: end + 1])
        del buf[: end + 1]
        return Frame(raw[1:-1], raw)


@lru_cache(maxsize=256)
def _whole_safe_frame(raw: bytes) -> Frame | Junk:
    """One whole Safe frame checked: its Frame, or Junk if its CRC is bad (as `_take_safe`).

    The caller has checked the rest: STX, a length byte (at least 4) that counts every byte, ETX.
    A pump sends the same few frames over and over, so each one's result is kept (bounded: the
    least recently seen fall out first). A kept result is found only for the very same bytes,
    every byte compared, so each frame is still checked, and a bad one is still reported.
    """
    data = raw[2:-3]
    if int.from_bytes(raw[-3:-1], "big") != crc16_xmodem(data):
        return Junk(raw, "bad crc")
    return Frame(data, raw)


@dataclass(frozen=True)
class Reply:
    """A parsed reply: `<address:2 digits> <prompt | A?alarm> [data | ?error]`."""

    address: int
    prompt: PumpPrompt | None
    alarm: PumpAlarmCode | None
    data: str
    error: ErrorCode | None


_REPLY = re.compile(r"(\d\d)(?:([IWSPTUX])|A\?([RSTEO]))(.*)", re.DOTALL)


@lru_cache(maxsize=256)
def parse_reply(data: bytes) -> Reply:
    """Parse a reply frame's data.

    A pump says the same few things over and over (a status, the rate it reads back), and the
    same bytes always parse to the same (immutable) `Reply`, so parsed replies are kept
    (bounded: the least recently seen fall out first). Bytes that do not parse are parsed, and
    refused, every time.

    Args:
        data: the frame data, e.g. b"00S?OOR".

    Returns:
        The parsed reply.

    Raises:
        DecodeError: if the data is not a well-formed reply.
    """
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"reply is not ASCII: {data.hex(' ')}") from exc
    match = _REPLY.fullmatch(text)
    if match is None or not text.isprintable():
        raise DecodeError(f"malformed reply: {text!r}")
    address, prompt, alarm, rest = match.groups()
    error: ErrorCode | None = None
    if rest.startswith("?"):
        try:
            error = ErrorCode(rest[1:])
        except ValueError as exc:
            raise DecodeError(f"unknown error code in reply: {text!r}") from exc
        rest = ""
    return Reply(
        address=int(address),
        prompt=PumpPrompt(prompt) if prompt else None,
        alarm=PumpAlarmCode(alarm) if alarm else None,
        data=rest,
        error=error,
    )


_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"
_RATE = re.compile(_NUMBER + r"(UM|MM|UH|MH)")
_VOLUME = re.compile(_NUMBER + r"(ML|UL)")
_DISPENSED = re.compile("I" + _NUMBER + "W" + _NUMBER + r"(ML|UL)")
_VERSION = re.compile(r"NE(\d+)(?:X(\d+)?)?V(\d+)\.(\d+)")


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the regexes only pass digits
        raise DecodeError(f"not a number: {text!r}") from exc


@lru_cache(maxsize=256)
def parse_rate(text: str) -> tuple[Decimal, str]:
    """Parse a `RAT` query reply such as "5.000MH" into (value, units); kept as `parse_reply`."""
    match = _RATE.fullmatch(text)
    if match is None:
        raise DecodeError(f"not a rate: {text!r}")
    return _decimal(match[1]), match[2]


def parse_volume(text: str) -> tuple[Decimal, str]:
    """Parse a `VOL` query reply such as "250.0ML" into (value, units)."""
    match = _VOLUME.fullmatch(text)
    if match is None:
        raise DecodeError(f"not a volume: {text!r}")
    return _decimal(match[1]), match[2]


def parse_dispensed(text: str) -> tuple[Decimal, Decimal, str]:
    """Parse a `DIS` reply such as "I1.250W0.000ML" into (infused, withdrawn, units)."""
    match = _DISPENSED.fullmatch(text)
    if match is None:
        raise DecodeError(f"not a dispensed-volume reply: {text!r}")
    return _decimal(match[1]), _decimal(match[2]), match[3]


def parse_version(text: str) -> tuple[str, str]:
    """Parse a `VER` reply such as "NE1000V3.928" into (model, firmware)."""
    match = _VERSION.fullmatch(text)
    if match is None:
        raise DecodeError(f"not a version: {text!r}")
    return f"NE{match[1]}", text[text.index("V") + 1 :]


def format_number(value: Decimal) -> str:
    """Format a value for the pump: at most 4 digits and 3 decimals, exactly, or refuse.

    Args:
        value: a finite, non-negative Decimal.

    Returns:
        The shortest exact text, e.g. Decimal("5.0") -> "5", Decimal("0.125") -> "0.125".

    Raises:
        NotRepresentableError: if the value cannot be sent exactly. It is never rounded.
    """
    if not value.is_finite() or value < 0:
        raise NotRepresentableError(f"{value} is not a finite, non-negative number")
    text = f"{value.normalize():f}"
    whole, _, fraction = text.partition(".")
    if len(whole) + len(fraction) > 4 or len(fraction) > 3:
        raise NotRepresentableError(
            f"{text} needs more than 4 digits or 3 decimals; the pump cannot take it exactly"
        )
    return text
