"""Contract: nesp-lib 2.0.0, an independent New Era client (MIT), drives the simulator end to end.

nesp-lib (florian-lapp/nesp-lib-py, used with real New Era pumps) enters and leaves Safe mode by
sending `SAF<n>` as a Safe-framed packet whatever mode the pump is in, and reads the reply in the
mode the pump is in afterwards (`Pump.__safe_mode_timeout_s_set`). Everything else is its own
code: framing, CRC, unit choice, parsing. Each test runs on a pty and over loopback TCP.

nesp-lib's `Port` opens `serial.Serial(name)` with no read timeout, so a pump that stays silent
hangs it for ever (nesp-lib issue #2). `UrlPort` is the same class opened through pyserial's URL
handlers (`socket://` for TCP) with a one-second timeout: a missing reply fails the operation in
a second instead of hanging the suite.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import nesp_lib  # type: ignore[import-untyped]  # no py.typed marker
import pytest
import serial

from simulator import ModelConfig, Simulator
from simulator.clock import ManualClock

READ_TIMEOUT_S = 1.0
SAFE_TIMEOUT_S = 10
"""nesp-lib's heartbeat polls at half this; every step below takes well under it."""
PUMP_BAUD = 19200
TRANSPORTS = ("pty", "tcp")

pytestmark = pytest.mark.timeout(60)


class UrlPort(nesp_lib.Port):  # type: ignore[misc]
    """nesp-lib's Port on any pyserial URL, with a read timeout (see the module docstring)."""

    def __init__(self, url: str) -> None:
        # nesp-lib keeps its serial object in the name-mangled `Port.__serial`; every other
        # Port method (transmit, receive, waiting counts, close) is nesp-lib's own.
        self._Port__serial = serial.serial_for_url(
            url, baudrate=PUMP_BAUD, timeout=READ_TIMEOUT_S, write_timeout=READ_TIMEOUT_S
        )


@dataclass
class Rig:
    """A simulated pump, its manual physics clock, and nesp-lib's port to it."""

    sim: Simulator
    clock: ManualClock
    port: UrlPort


@pytest.fixture(params=TRANSPORTS)
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    clock = ManualClock()
    # A pump that has been on a while: its power-up "first command ignored" quirk is spent.
    with Simulator(ModelConfig(power_up_quirk=False), clock=clock) as sim:
        url = sim.start_pty() if request.param == "pty" else sim.start_tcp()
        port = UrlPort(url)
        try:
            yield Rig(sim, clock, port)
        finally:
            port.close()


Operation = tuple[str, Callable[[], None]]


def run_operations(operations: list[Operation]) -> None:
    """Run the operations in order; fail naming the first that fails and how many passed."""
    for passed, (name, operation) in enumerate(operations):
        try:
            operation()
        except Exception as exc:
            pytest.fail(
                f"{passed} of {len(operations)} nesp-lib operations passed; "
                f"{name!r} failed: {type(exc).__name__}: {exc}"
            )


def test_nesp_lib_drives_the_simulator_in_safe_mode(rig: Rig) -> None:
    sim, clock, port = rig.sim, rig.clock, rig.port
    pumps: list[nesp_lib.Pump] = []

    def pump() -> nesp_lib.Pump:
        return pumps[0]

    def enter_safe_mode() -> None:
        pumps.append(nesp_lib.Pump(port, safe_mode_timeout_s=SAFE_TIMEOUT_S))
        assert sim.model.safe_mode

    def identify() -> None:
        assert pump().model_number == 1000
        assert pump().firmware_version == (3, 928)
        assert pump().firmware_upgrade == 0

    def safe_timeout() -> None:
        assert pump().safe_mode_timeout_s == SAFE_TIMEOUT_S

    def diameter() -> None:
        pump().syringe_diameter_mm = 26.7
        assert pump().syringe_diameter_mm == pytest.approx(26.7)

    def direction() -> None:
        pump().pumping_direction = nesp_lib.PumpingDirection.INFUSE
        assert pump().pumping_direction is nesp_lib.PumpingDirection.INFUSE

    def volume() -> None:
        pump().pumping_volume_ml = 20.0
        assert pump().pumping_volume_ml == pytest.approx(20.0)

    def rate() -> None:
        pump().pumping_rate_ml_per_min = 0.2  # 12 mL/h; nesp-lib sends it as 200 µL/min
        assert pump().pumping_rate_ml_per_min == pytest.approx(0.2)
        assert sim.rate_ml_per_h() == pytest.approx(12.0)

    def run() -> None:
        pump().run(wait_while_running=False)
        assert pump().status is nesp_lib.Status.INFUSING
        assert pump().running

    def volume_infused() -> None:
        clock.advance(3600.0)  # one hour at 12 mL/h
        assert pump().volume_infused_ml == pytest.approx(12.0, abs=0.01)

    def stop() -> None:
        pump().stop(wait_while_running=True)
        assert pump().status is nesp_lib.Status.PAUSED
        assert sim.model.snapshot()["prompt"] == "P"

    def leave_safe_mode() -> None:
        pump().safe_mode_timeout_s = 0
        assert not sim.model.safe_mode
        assert pump().syringe_diameter_mm == pytest.approx(26.7)  # now in Basic mode

    run_operations(
        [
            ("enter Safe mode", enter_safe_mode),
            ("identify", identify),
            ("read the Safe-mode timeout", safe_timeout),
            ("diameter", diameter),
            ("direction", direction),
            ("volume", volume),
            ("rate", rate),
            ("run", run),
            ("volume infused", volume_infused),
            ("stop", stop),
            ("leave Safe mode", leave_safe_mode),
        ]
    )


def test_nesp_lib_in_basic_mode_opens_with_a_safe_framed_saf0(rig: Rig) -> None:
    """nesp-lib's default `Pump(port)` sends a Safe-framed `SAF0` and reads a Basic reply."""
    sim, port = rig.sim, rig.port
    pumps: list[nesp_lib.Pump] = []

    def connect() -> None:
        pumps.append(nesp_lib.Pump(port))
        assert not sim.model.safe_mode

    def identify() -> None:
        assert pumps[0].model_number == 1000

    def status() -> None:
        assert pumps[0].status is nesp_lib.Status.STOPPED

    run_operations([("connect", connect), ("identify", identify), ("status", status)])


def test_the_saf_replies_are_framed_in_the_mode_the_pump_is_in_afterwards() -> None:
    """The bytes nesp-lib relies on, from the manual's own exit packet (pump-protocol.md §1.1.4)."""
    with Simulator(ModelConfig(power_up_quirk=False)) as sim:
        host, port = sim.start_tcp().removeprefix("socket://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=READ_TIMEOUT_S) as line:

            def ask(packet: bytes, reply_length: int) -> bytes:
                line.sendall(packet)
                reply = b""
                while len(reply) < reply_length:
                    chunk = line.recv(reply_length - len(reply))
                    assert chunk, f"the line closed after {reply!r}"
                    reply += chunk
                return reply

            # Basic mode; SAF10 Safe-framed: the pump is now in Safe mode and answers so.
            assert ask(bytes.fromhex("02 0a 30 53 41 46 31 30 63 be 03"), 8) == bytes.fromhex(
                "02 07 30 30 53 aa a6 03"
            )
            assert sim.model.snapshot()["safe_timeout_s"] == 10
            # The manual's literal exit packet: back in Basic mode, answered in Basic mode.
            assert ask(bytes.fromhex("02 08 53 41 46 30 55 43 03"), 5) == b"\x0200S\x03"
            assert sim.model.snapshot()["safe_timeout_s"] == 0
            # Basic-framed commands are still answered in Basic mode.
            assert ask(b"0SAF\r", 6) == b"\x0200S0\x03"
