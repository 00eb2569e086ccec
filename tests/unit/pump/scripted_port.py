"""A scripted serial port for driver tests: the simulator's pump model answers in the same thread.

`NewEraPump` opens its port with `serial.serial_for_url`; `install()` makes that return a
`ScriptedPort` whose far end is a `simulator.model.PumpModel` behind the simulator's own framing.
Nothing runs on another thread and the pump's inter-byte timer runs on `line_clock`, so faults
on the write side (a short write) and odd replies are exact and repeatable.
"""

from __future__ import annotations

import threading
from collections import deque

import pytest
import serial

from simulator import ModelConfig, PumpModel
from simulator.clock import ManualClock
from simulator.wire import CommandDecoder, frame_reply


class ScriptedPort:
    """Enough of `serial.Serial` for the driver: write, read, in_waiting, close.

    Attributes:
        model: the pump behind the port.
        line_clock: the pump's clock for its 0.5 s inter-byte discard (advance it by hand).
        accept: for each coming write, how many bytes the port takes (a short write); empty
            means every byte.
        replace: reply data to send instead of the pump's next replies (in order).
        written: what actually went out on each write.
    """

    def __init__(self, model: PumpModel, timeout: float) -> None:
        self.model = model
        self.timeout = timeout
        self.line_clock = ManualClock()
        self.accept: deque[int] = deque()
        self.replace: deque[str] = deque()
        self.written: list[bytes] = []
        self.is_open = True
        self._decoder = CommandDecoder()
        self._rx = bytearray()
        self._arrived = threading.Event()

    def write(self, data: bytes) -> int:
        """Hand the accepted bytes to the pump; queue its replies for reading."""
        taken = bytes(data[: self.accept.popleft()] if self.accept else data)
        self.written.append(taken)
        for packet in self._decoder.feed(taken, self.line_clock(), self.model.safe_mode):
            if packet.text is None:
                reply = self.model.note_invalid_packet(packet.error or "invalid")
            else:
                reply = self.model.handle(packet.text)
            if reply is not None and self.replace:
                reply = self.replace.popleft()
            if reply is not None:
                self._rx += frame_reply(reply, packet.safe)
        return len(taken)

    @property
    def in_waiting(self) -> int:
        """Bytes ready to read (unsolicited alarm packets included)."""
        for text in self.model.take_unsolicited():
            self._rx += frame_reply(text, self.model.safe_mode)
        return len(self._rx)

    def read(self, size: int = 1) -> bytes:
        """Up to `size` bytes; with none ready, block for the port timeout like a real port."""
        if not self.in_waiting:
            self._arrived.wait(self.timeout)  # nothing can arrive meanwhile: one thread
            return b""
        out = bytes(self._rx[:size])
        del self._rx[:size]
        return out

    def close(self) -> None:
        """Close the port."""
        self.is_open = False


def install(monkeypatch: pytest.MonkeyPatch, config: ModelConfig | None = None) -> ScriptedPort:
    """Make `serial.serial_for_url` return one scripted port (for every open), and return it."""
    model = PumpModel(config or ModelConfig(safe_timeout_s=10), clock=ManualClock())
    port = ScriptedPort(model, timeout=0.01)

    def open_scripted(url: str, **_settings: object) -> ScriptedPort:
        port.is_open = True
        return port

    monkeypatch.setattr(serial, "serial_for_url", open_scripted)
    return port
