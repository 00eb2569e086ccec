"""Serving the pump model over a pseudo-terminal or loopback TCP, with fault injection.

One `PumpServer` runs one thread that reads host bytes, decodes packets in the model's current
mode, lets the model answer, applies any armed fault, and writes the framed reply. It also sends
the model's unsolicited Safe-mode alarm packets as they appear.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import select
import socket
import termios
import threading
import time
import tty
from dataclasses import dataclass
from typing import Protocol

from simulator.faults import GARBAGE_BYTES, Fault, FaultKind, FaultPlan
from simulator.model import PumpModel
from simulator.wire import CommandDecoder, Packet, frame_reply

POLL_S = 0.01


@dataclass(frozen=True)
class Sent:
    """One write to the host.

    Attributes:
        data: the bytes written.
        fault: the injected fault that shaped them (e.g. a late reply), None for a normal write.
    """

    data: bytes
    fault: FaultKind | None = None


class Transport(Protocol):
    """A byte pipe to one host at a time."""

    @property
    def url(self) -> str:
        """What a host passes to `serial.serial_for_url` to reach the pump."""
        ...

    def read(self, timeout_s: float) -> bytes:
        """Bytes from the host, b"" if none arrived within the timeout."""
        ...

    def write(self, data: bytes) -> None:
        """Send bytes to the host (dropped when no host is attached)."""
        ...

    def drop(self) -> None:
        """Pull the cable: the host sees the line go dead."""
        ...

    def close(self) -> None:
        """Release everything."""
        ...


class PtyTransport:
    """A pseudo-terminal pair; the host opens the slave path. The slave is raw before any write."""

    def __init__(self) -> None:
        self._master = -1
        self._slave = -1
        self._open_pair()

    def _open_pair(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # before anything is written, or the line discipline echoes it back
        self._master, self._slave = master, slave
        self._path = os.ttyname(slave)

    @property
    def url(self) -> str:
        """The slave device path, e.g. /dev/pts/7."""
        return self._path

    def line_speed(self) -> int:
        """The output speed the host configured on the slave (a termios B* constant)."""
        return int(termios.tcgetattr(self._slave)[5])

    def read(self, timeout_s: float) -> bytes:
        """Read what the host wrote."""
        master = self._master
        try:
            ready, _, _ = select.select([master], [], [], timeout_s)
            return os.read(master, 4096) if ready else b""
        except (OSError, ValueError):
            # EIO when no host has the slave open; EBADF when drop() closed this pair meanwhile.
            time.sleep(timeout_s)
            return b""

    def write(self, data: bytes) -> None:
        """Write to the host."""
        with contextlib.suppress(BlockingIOError):  # host not reading and queue full: dropped
            os.write(self._master, data)

    def drop(self) -> None:
        """Close the pair (the host's reads fail) and open a fresh one at a new path.

        The new pair is open (and `url` names it) before the old one closes, so a host that
        sees the hangup always finds the new path.
        """
        old = (self._master, self._slave)
        self._open_pair()
        for fd in old:
            with contextlib.suppress(OSError):
                os.close(fd)

    def close(self) -> None:
        """Close both ends."""
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._master = self._slave = -1


class TcpTransport:
    """A loopback TCP listener; one host connection at a time (a new one replaces the old)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the simulator only listens on loopback, not {host}")
        self._listener = socket.create_server((host, port))
        self._host, self._port = self._listener.getsockname()[:2]
        self._client: socket.socket | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """socket://127.0.0.1:PORT."""
        return f"socket://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self._port)

    def read(self, timeout_s: float) -> bytes:
        """Accept a new host or read from the current one."""
        with self._lock:
            client = self._client
        watched = [self._listener] + ([client] if client else [])
        ready, _, _ = select.select(watched, [], [], timeout_s)
        if self._listener in ready:
            new, _ = self._listener.accept()
            new.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                old, self._client = self._client, new
            if old is not None:
                old.close()
            return b""
        if client is not None and client in ready:
            try:
                data = client.recv(4096)
            except OSError:
                data = b""
            if not data:
                self._forget(client)
            return data
        return b""

    def _forget(self, client: socket.socket) -> None:
        with self._lock:
            if self._client is client:
                self._client = None
        client.close()

    def write(self, data: bytes) -> None:
        """Send to the current host, if any."""
        with self._lock:
            client = self._client
        if client is not None:
            try:
                client.sendall(data)
            except OSError:
                self._forget(client)

    def drop(self) -> None:
        """Close the current host connection; keep listening."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
            client.close()

    def close(self) -> None:
        """Stop listening."""
        self.drop()
        self._listener.close()


class PumpServer:
    """Serves a `PumpModel` over a transport on a background thread.

    Args:
        model: the pump.
        transport: where to serve it.
        faults: the fault plan (shared with the control channel).
        baud: the line speed the pump is set to; on a pty a host at another speed gets garbage.
    """

    def __init__(
        self,
        model: PumpModel,
        transport: PtyTransport | TcpTransport,
        faults: FaultPlan,
        baud: int = 19200,
    ) -> None:
        self.model = model
        self.transport = transport
        self.faults = faults
        self.baud = baud
        self._decoder = CommandDecoder()
        self._stop = threading.Event()
        self._write_lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="pump-sim", daemon=True)
        self.sent: list[Sent] = []
        """Every write to the host, in order, appended once written."""

    def start(self) -> None:
        """Start serving."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the transport."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.transport.close()

    def disconnect(self) -> None:
        """Drop the line now."""
        with self._write_lock:
            self.transport.drop()
            self._decoder = CommandDecoder()

    def _write(self, data: bytes, fault: FaultKind | None = None) -> None:
        with self._write_lock:
            self.transport.write(data)
            self.sent.append(Sent(data, fault))

    def _serve(self) -> None:
        while not self._stop.is_set():
            data = self.transport.read(POLL_S)
            now_s = time.monotonic()
            safe = self.model.safe_mode
            for packet in self._decoder.feed(data, now_s, safe):
                self._on_packet(packet)
            self._decoder.expire(now_s)
            self._send_unsolicited()

    def _send_unsolicited(self) -> None:
        for text in self.model.take_unsolicited():
            self._write(frame_reply(text, self.model.safe_mode))

    def _wrong_baud(self) -> bool:
        if not isinstance(self.transport, PtyTransport):
            return False
        expected = getattr(termios, f"B{self.baud}", None)
        return expected is not None and self.transport.line_speed() != expected

    def _reply_safe(self, packet: Packet) -> bool:
        """Whether the reply to `packet` is Safe-framed: only if both it and the pump now are.

        That is, the packet came Safe-framed and the pump is in Safe mode after handling it.
        So `SAF<n>` sent Safe-framed to a pump in Basic mode is answered Safe-framed, and `SAF0`
        (the manual's literal exit packet, Safe-framed) is answered in Basic mode: nesp-lib, used
        with real pumps, reads both replies so (florian-lapp/nesp-lib-py `nesp_lib/pump.py`,
        `__safe_mode_timeout_s_set`; its default `Pump(port)` sends the Safe-framed `SAF0` to a
        pump in Basic mode first, and nesp-lib issue #1 shows a real pump getting past it to
        `VER`). A Basic-framed packet is answered in Basic mode (the manual does not say).
        """
        return packet.safe and self.model.safe_mode

    def _on_packet(self, packet: Packet) -> None:
        if self._wrong_baud():
            self._write(GARBAGE_BYTES)
            return
        if packet.text is None:
            reply = self.model.note_invalid_packet(packet.error or "invalid")
            self._send_unsolicited()
            if reply is not None:
                self._write(frame_reply(reply, self._reply_safe(packet)))
            return
        fault = self.faults.take(packet.text)
        if fault is not None and self._pre_fault(fault):
            return
        if fault is not None and not fault.execute and fault.kind in _REPLY_FAULTS:
            return
        reply = self.model.handle(packet.text)
        self._send_unsolicited()
        if reply is None:
            return
        if fault is not None and fault.kind is FaultKind.OTHER_ADDRESS:
            reply = f"{(int(reply[:2]) + 1) % 100:02d}{reply[2:]}"
        safe = self._reply_safe(packet)
        frame = frame_reply(reply, safe)
        if fault is None or fault.kind not in _REPLY_FAULTS:
            self._write(frame)
        else:
            self._faulty_reply(fault, frame, safe)

    def _pre_fault(self, fault: Fault) -> bool:
        """Apply a fault that happens before the command is handled; True if it is consumed."""
        if fault.kind is FaultKind.DISCONNECT:
            self.disconnect()
            return True
        happen_in(self.model, fault.kind)
        return False

    def _faulty_reply(self, fault: Fault, frame: bytes, safe: bool) -> None:
        if fault.kind is FaultKind.NO_REPLY:
            return
        if fault.kind is FaultKind.LATE_REPLY:
            timer = threading.Timer(fault.delay_s, self._write, args=(frame, fault.kind))
            timer.daemon = True
            timer.start()
        elif fault.kind is FaultKind.GARBAGE:
            self._write(GARBAGE_BYTES, fault.kind)
        elif fault.kind is FaultKind.DUPLICATE_REPLY:
            self._write(frame + frame, fault.kind)
        elif fault.kind is FaultKind.PARTIAL:
            self._write(frame[: max(1, len(frame) // 2)], fault.kind)
        elif fault.kind is FaultKind.BAD_CRC:
            index = -2 if safe else 1
            corrupted = bytearray(frame)
            corrupted[index] ^= 0x5A
            self._write(bytes(corrupted), fault.kind)


_REPLY_FAULTS = frozenset(
    {
        FaultKind.NO_REPLY,
        FaultKind.LATE_REPLY,
        FaultKind.GARBAGE,
        FaultKind.PARTIAL,
        FaultKind.BAD_CRC,
        FaultKind.DUPLICATE_REPLY,
    }
)


def happen_in(model: PumpModel, kind: FaultKind) -> bool:
    """Make a pump event happen in `model` now (stall, comms time-out, power reset).

    Returns:
        False when `kind` is not such an event (nothing happened).
    """
    if kind is FaultKind.STALL:
        model.raise_alarm("S")
    elif kind is FaultKind.COMMS_TIMEOUT:
        model.raise_alarm("T")
    elif kind is FaultKind.POWER_RESET:
        model.power_reset()
    else:
        return False
    return True
