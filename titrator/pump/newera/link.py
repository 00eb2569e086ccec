"""The serial link under the New Era driver: open by URL, send frames, read frames by deadline.

Not thread-safe on its own; the driver holds its lock around every use. Every byte sent and
received is reported to the wire hook with the command in flight and its requester and reason.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import NamedTuple

import serial

from titrator.pump.base import (
    ChecksumError,
    FramingError,
    LinkLostError,
    ReplyTimeoutError,
    WireDirection,
    WireHook,
    WireRecord,
)
from titrator.pump.newera.codec import STX, Frame, FrameDecoder, Framing, Junk, command_frame

READ_POLL_S = 0.01
"""How long one low-level read may block; the deadline loop sits above it."""


class Context(NamedTuple):
    """Who asked for the command in flight, why, and its text (for wire records).

    Immutable; a named tuple because every exchange makes one or two (cheaper than a frozen
    dataclass).
    """

    requester: str
    reason: str
    command: str


UNSOLICITED = Context("", "", "")

NoteFor = Callable[[Frame | Junk], str]
"""Gives the wire-record note for a frame or junk as it is received."""


def reply_note(item: Frame | Junk) -> str:
    """The note of bytes received while a reply is awaited: "" for a frame, "junk: ..." else."""
    return "" if isinstance(item, Frame) else f"junk: {item.reason}"


class SerialLink:
    """One open port, framed in Basic or Safe mode.

    Args:
        url: anything `serial.serial_for_url` accepts: a device path, socket://host:port, ...
        baudrate: line speed (ignored by sockets and ptys).
        framing: the framing to start with.
        on_wire: receives every wire record.
        clock: the monotonic clock stamped on records.
    """

    def __init__(
        self,
        url: str,
        *,
        baudrate: int,
        framing: Framing,
        on_wire: WireHook | None,
        clock: Callable[[], float],
    ) -> None:
        self.url = url
        self.framing = framing
        self._on_wire = on_wire
        self._clock = clock
        self._decoder = FrameDecoder(framing)
        self._pending: deque[Frame | Junk] = deque()
        try:
            self._port = serial.serial_for_url(
                url, baudrate=baudrate, timeout=READ_POLL_S, write_timeout=1.0
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise LinkLostError(f"cannot open pump port {url}: {exc}") from exc

    def set_framing(self, framing: Framing) -> None:
        """Switch framing (after the pump's SAF setting changed)."""
        self.framing = framing
        self._decoder = FrameDecoder(framing)
        self._pending.clear()

    def close(self) -> None:
        """Close the port (never raises)."""
        try:
            self._port.close()
        except (serial.SerialException, OSError) as exc:
            self._record(WireDirection.RX, b"", UNSOLICITED, f"error while closing: {exc}")

    def _record(self, direction: WireDirection, data: bytes, ctx: Context, note: str = "") -> None:
        if self._on_wire is not None:
            self._on_wire(
                WireRecord(
                    direction,
                    data.hex(" "),
                    self._clock(),
                    ctx.requester,
                    ctx.reason,
                    ctx.command,
                    note,
                )
            )

    def send_command(self, address: int, ctx: Context) -> None:
        """Frame `ctx.command` to the pump at `address` in the current framing and write it.

        Raises:
            LinkLostError: if the port fails.
        """
        self.send_raw(command_frame(address, ctx.command, self.framing), ctx)

    def send_raw(self, raw: bytes, ctx: Context, note: str = "") -> None:
        """Write already-framed bytes (e.g. the literal SAF0 packet).

        The bytes are recorded before they are written. A short write (the port took only part
        of the frame) is recorded again with just the bytes that went out, and is a lost link:
        what the pump made of a torn frame is unknown until a reconnect re-reads its state.
        """
        if self._on_wire is not None:
            self._record(WireDirection.TX, raw, ctx, note)
        try:
            written = self._port.write(raw)
        except (serial.SerialException, OSError) as exc:
            raise LinkLostError(f"pump line failed while sending: {exc}") from exc
        if written is not None and written != len(raw):
            sent = raw[: max(0, written)]
            self._record(WireDirection.TX, sent, ctx, f"short write: {written} of {len(raw)} bytes")
            raise LinkLostError(f"pump line accepted {written} of {len(raw)} bytes")

    def _read_chunk(self, ctx: Context) -> bytes:
        try:
            waiting = self._port.in_waiting
            return bytes(self._port.read(max(1, waiting)))
        except (serial.SerialException, OSError) as exc:
            raise LinkLostError(f"pump line failed while reading: {exc}") from exc

    def _read_reply_chunk(self, ctx: Context) -> bytes:
        """Read the next part of an awaited reply: blocking reads of known sizes, no polling.

        In Safe mode a frame says its own size. With nothing held, one `read(2)` takes the next
        frame's STX and length byte, and one more read the rest that the length byte counts;
        with part of a frame held, one read takes what completes it. Each `read` returns as soon
        as its bytes are there (or after `READ_POLL_S`; the caller's deadline loop is above).
        So a reply is two reads, the raw exchange's, without asking `in_waiting` first. Bytes
        that cannot start a frame are garbage: whatever else is waiting is read with them and
        reported together. Basic replies say no size (they end at ETX; pyserial's `read_until`
        reads byte by byte), so they are read as they come: what is waiting, at least one byte.
        """
        decoder, port = self._decoder, self._port
        wanted = decoder.wanted()
        if wanted is None:
            return self._read_chunk(ctx)
        try:
            if decoder.holding:
                return bytes(port.read(wanted))
            chunk = bytes(port.read(wanted))
            if not chunk:
                return chunk
            if chunk[0] != STX:
                return chunk + bytes(port.read(port.in_waiting))
            if len(chunk) == 2 and chunk[1] >= 4:  # a length byte: read the rest of the frame
                return chunk + bytes(port.read(chunk[1] - 1))
        except (serial.SerialException, OSError) as exc:
            raise LinkLostError(f"pump line failed while reading: {exc}") from exc
        return chunk

    def _take(self, chunk: bytes, ctx: Context, note_for: NoteFor) -> None:
        items = self._decoder.feed(chunk)
        if self._on_wire is None:  # no wire records, so no notes to work out
            self._pending.extend(items)
            return
        for item in items:
            self._record(WireDirection.RX, item.raw, ctx, note_for(item))
            self._pending.append(item)

    def quiet(self, ctx: Context) -> bool:
        """True when nothing arrived unasked: `collect(0, ...)` would find nothing.

        No frame is left over, no part of one is held, and no byte waits at the port (one
        `in_waiting`, the only one of an exchange).

        Raises:
            LinkLostError: the port failed.
        """
        if self._pending or self._decoder.holding:
            return False
        try:
            return not self._port.in_waiting
        except (serial.SerialException, OSError) as exc:
            raise LinkLostError(f"pump line failed: {exc}") from exc

    def collect(self, duration_s: float, ctx: Context, note_for: NoteFor) -> list[Frame | Junk]:
        """Read whatever arrives for `duration_s` (0: only what is already there) and return it.

        Each item is recorded with the note `note_for` gives it. A partial frame left at the
        end is discarded (the pump's own rule: 0.5 s inter-byte) and recorded as "stale".
        """
        deadline = time.monotonic() + duration_s
        while True:
            if duration_s <= 0 and not self._port_has_bytes(ctx):
                break
            self._take(self._read_chunk(ctx), ctx, note_for)
            if duration_s > 0 and time.monotonic() >= deadline:
                break
        partial = self._decoder.reset()
        if partial:
            self._record(WireDirection.RX, partial, ctx, "stale partial frame discarded")
        items = list(self._pending)
        self._pending.clear()
        return items

    def _port_has_bytes(self, ctx: Context) -> bool:
        try:
            return bool(self._port.in_waiting)
        except (serial.SerialException, OSError) as exc:
            raise LinkLostError(f"pump line failed: {exc}") from exc

    def read_frame(self, timeout_s: float, ctx: Context) -> Frame:
        """Return the next valid frame within `timeout_s`.

        Raises:
            ChecksumError: a frame with a bad CRC arrived first.
            FramingError: garbage arrived first, or only part of a frame before the timeout.
            ReplyTimeoutError: nothing at all arrived.
            LinkLostError: the port failed.
        """
        deadline = time.monotonic() + timeout_s
        while not self._pending:
            if time.monotonic() >= deadline:
                partial = self._decoder.reset()
                if partial:
                    self._record(WireDirection.RX, partial, ctx, "partial frame, then silence")
                    raise FramingError(f"partial reply to {ctx.command!r}, then silence")
                raise ReplyTimeoutError(f"no reply to {ctx.command!r} within {timeout_s} s")
            self._take(self._read_reply_chunk(ctx), ctx, reply_note)
        item = self._pending.popleft()
        if isinstance(item, Frame):
            return item
        if item.reason == "bad crc":
            raise ChecksumError(f"reply to {ctx.command!r} failed its CRC check")
        raise FramingError(f"garbage in reply to {ctx.command!r} ({item.reason})")
