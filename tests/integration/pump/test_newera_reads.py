"""The driver's read path against the simulator over a pty: no polling, one read per need.

A Safe-mode reply is read as the raw pyserial exchange reads it: its STX and length byte, then
the rest its length byte counts. `in_waiting` is asked once per exchange, before the command
goes out (to find replies nobody waited for), never while a reply is awaited.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import serial

from simulator import ModelConfig, Simulator
from simulator.faults import Fault, FaultKind
from titrator.pump.base import FramingError, PumpLinkState, WireDirection, WireRecord
from titrator.pump.newera.driver import NewEraPump

WHO = {"requester": "test", "reason": "read path"}


class CountingPort:
    """A real pyserial port that notes every `read` size and every `in_waiting` asked."""

    def __init__(self, port: Any) -> None:
        self.port = port
        self.calls: list[str] = []

    @property
    def in_waiting(self) -> int:
        self.calls.append("in_waiting")
        return int(self.port.in_waiting)

    def read(self, size: int = 1) -> bytes:
        data = bytes(self.port.read(size))
        self.calls.append(f"read {size} -> {len(data)}")
        return data

    def write(self, data: bytes) -> int | None:
        self.calls.append("write")
        written: int | None = self.port.write(data)
        return written

    def close(self) -> None:
        self.port.close()


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Simulator, list[CountingPort]]]:
    opened: list[CountingPort] = []
    real_open = serial.serial_for_url

    def open_counted(url: str, **settings: Any) -> CountingPort:
        port = CountingPort(real_open(url, **settings))
        opened.append(port)
        return port

    monkeypatch.setattr(serial, "serial_for_url", open_counted)
    with Simulator(ModelConfig(safe_timeout_s=10, power_up_quirk=False)) as sim:
        sim.start_pty()
        yield sim, opened


def test_a_set_rate_reads_each_reply_by_its_length_without_polling(
    counted: tuple[Simulator, list[CountingPort]],
) -> None:
    sim, opened = counted
    with NewEraPump(sim.url, keepalive_s=None, reply_timeout_s=2.0) as pump:
        pump.connect(**WHO)
        port = opened[-1]
        port.calls.clear()

        pump.set_rate(Decimal(5), **WHO)

    # RAT5MH -> "00S" (8-byte frame), RAT -> "00S5.000MH" (15-byte frame); each exchange asks
    # in_waiting once before writing, then reads the head and the rest, nothing else.
    assert port.calls == [
        "in_waiting",
        "write",
        "read 2 -> 2",
        "read 6 -> 6",
        "in_waiting",
        "write",
        "read 2 -> 2",
        "read 13 -> 13",
    ]


def test_garbage_in_a_reply_is_read_whole_and_reported_once(
    counted: tuple[Simulator, list[CountingPort]],
) -> None:
    sim, _opened = counted
    wire: list[WireRecord] = []
    with NewEraPump(sim.url, keepalive_s=None, reply_timeout_s=2.0, on_wire=wire.append) as pump:
        pump.connect(**WHO)
        sim.faults.arm(Fault(FaultKind.GARBAGE, on="RAT"))
        before = len(wire)

        with pytest.raises(FramingError, match="garbage"):
            pump.set_rate(Decimal(5), **WHO)

        assert pump.link_state is PumpLinkState.UNCERTAIN
    received = [r for r in wire[before:] if r.direction is WireDirection.RX]
    assert [r.note for r in received] == ["junk: garbage"]
