"""The simulator's own implementation of New Era framing (deliberately independent of titrator).

Host to pump: Basic mode is `<data> CR` (spaces and control characters stripped, upper-cased);
Safe mode is `STX <len> <data> <crc hi> <crc lo> ETX`, framed by the length byte. A partial packet
is discarded after 0.5 s without a byte. Pump to host: `STX <data> ETX` (Basic) or a Safe packet.

A pump in Basic mode also takes a Safe-framed packet (one that starts with STX): that is how a
host switches it into Safe mode with `SAF<n>`, and how nesp-lib (florian-lapp/nesp-lib-py
`nesp_lib/pump.py`, used with real pumps) always sends `SAF`, in either mode. In Safe mode only
Safe packets count, as before. How the reply is framed is the server's (`simulator.server`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

STX: Final = 2
ETX: Final = 3
CR: Final = 13
INTER_BYTE_TIMEOUT_S: Final = 0.5


def crc_ccitt_xmodem(data: bytes) -> int:
    """Bitwise CRC-16/XMODEM (poly 0x1021, init 0), written out rather than borrowed."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def frame_reply(data: str, safe: bool) -> bytes:
    """Frame reply data for the host in the given mode."""
    body = data.encode("ascii")
    if not safe:
        return bytes([STX]) + body + bytes([ETX])
    crc = crc_ccitt_xmodem(body)
    return bytes([STX, len(body) + 4]) + body + bytes([crc >> 8, crc & 0xFF, ETX])


@dataclass(frozen=True)
class Packet:
    """A packet from the host: canonical command text, or the reason it is invalid.

    Attributes:
        text: canonical command text (e.g. "0RAT5MH"); None when invalid.
        error: why the packet is invalid ("crc", "length", "terminator", "encoding"), or None.
        raw: the bytes as received.
        safe: whether it arrived Safe-framed.
    """

    text: str | None
    error: str | None
    raw: bytes
    safe: bool


class CommandDecoder:
    """Incremental decoder of host packets. Never raises on any input."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._last_byte_s = 0.0

    def feed(self, data: bytes, now_s: float, safe: bool) -> list[Packet]:
        """Add bytes received at `now_s`; return the packets they complete."""
        if self._buffer and now_s - self._last_byte_s > INTER_BYTE_TIMEOUT_S:
            self._buffer.clear()
        if data:
            self._last_byte_s = now_s
        self._buffer += data
        return self._drain_safe() if safe else self._drain_basic()

    def expire(self, now_s: float) -> None:
        """Discard a partial packet when the inter-byte timeout has passed."""
        if self._buffer and now_s - self._last_byte_s > INTER_BYTE_TIMEOUT_S:
            self._buffer.clear()

    def _drain_basic(self) -> list[Packet]:
        out: list[Packet] = []
        buf = self._buffer
        while buf:
            if buf[0] == STX:  # a Safe-framed packet, taken in Basic mode too
                progressed, packet = self._take_safe()
                if packet is not None:
                    out.append(packet)
                if not progressed:
                    break
                continue
            end = buf.find(CR)
            if end < 0:
                break
            raw = bytes(buf[: end + 1])
            del buf[: end + 1]
            kept = bytes(b for b in raw if 32 < b < 127)
            out.append(Packet(kept.decode("ascii").upper(), None, raw, safe=False))
        return out

    def _drain_safe(self) -> list[Packet]:
        out: list[Packet] = []
        buf = self._buffer
        while buf:
            if buf[0] != STX:
                start = buf.find(STX)
                del buf[: len(buf) if start < 0 else start]
                continue
            progressed, packet = self._take_safe()
            if packet is not None:
                out.append(packet)
            if not progressed:
                break
        return out

    def _take_safe(self) -> tuple[bool, Packet | None]:
        """Take one Safe packet off the buffer, which starts with STX.

        Returns:
            (False, None) while the packet is incomplete; else (True, the packet or the reason
            it is invalid). A bad terminator drops only the STX, so a packet inside is found.
        """
        buf = self._buffer
        if len(buf) < 2:
            return False, None
        length = buf[1]
        if length < 4:
            invalid = Packet(None, "length", bytes(buf[:2]), safe=True)
            del buf[:2]
            return True, invalid
        if len(buf) < length + 1:
            return False, None
        raw = bytes(buf[: length + 1])
        if raw[-1] != ETX:
            del buf[:1]
            return True, Packet(None, "terminator", raw[:1], safe=True)
        del buf[: length + 1]
        body, crc = raw[2:-3], (raw[-3] << 8) | raw[-2]
        if crc != crc_ccitt_xmodem(body):
            return True, Packet(None, "crc", raw, safe=True)
        if not all(32 <= b < 127 for b in body):
            return True, Packet(None, "encoding", raw, safe=True)
        return True, Packet(body.decode("ascii").upper(), None, raw, safe=True)
