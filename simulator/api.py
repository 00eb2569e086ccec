"""The simulator's Python API: start a simulated New Era pump on a pty or TCP port, inject faults.

Example::

    with Simulator() as sim:
        url = sim.start_tcp()  # or sim.start_pty() -> "/dev/pts/N"
        sim.inject(Fault(FaultKind.NO_REPLY, on="RAT"))
"""

from __future__ import annotations

from decimal import Decimal
from types import TracebackType
from typing import Any

from simulator.clock import Clock, ScaledClock
from simulator.control import ControlServer
from simulator.faults import Fault, FaultKind, FaultPlan
from simulator.model import ModelConfig, PumpModel, Received
from simulator.server import PtyTransport, PumpServer, Sent, TcpTransport, happen_in


class Simulator:
    """One simulated pump, served on one transport, with an optional control channel.

    Args:
        config: the pump's fixed properties.
        speed: how many times faster than real time the infusion runs (volume integration).
        clock: replaces the (scaled) physics clock, e.g. a ManualClock in tests.
        comms_clock: replaces the real-time clock of the Safe-mode watchdog.
        baud: the pump's line speed (enforced on a pty: a host at another speed gets garbage).
    """

    def __init__(
        self,
        config: ModelConfig | None = None,
        *,
        speed: float = 1.0,
        clock: Clock | None = None,
        comms_clock: Clock | None = None,
        baud: int = 19200,
    ) -> None:
        self.model = PumpModel(config, clock=clock or ScaledClock(speed), comms_clock=comms_clock)
        self.faults = FaultPlan()
        self.baud = baud
        self._server: PumpServer | None = None
        self._control: ControlServer | None = None

    @property
    def url(self) -> str:
        """The URL (or device path) to open with `serial.serial_for_url`."""
        if self._server is None:
            raise RuntimeError("simulator not started")
        return self._server.transport.url

    def start_pty(self) -> str:
        """Serve on a new pseudo-terminal; return its device path."""
        return self._start(PtyTransport())

    def start_tcp(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on loopback TCP (port 0: a free port); return "socket://127.0.0.1:PORT"."""
        return self._start(TcpTransport(host, port))

    def _start(self, transport: PtyTransport | TcpTransport) -> str:
        if self._server is not None:
            transport.close()
            raise RuntimeError("simulator already started")
        self._server = PumpServer(self.model, transport, self.faults, self.baud)
        self._server.start()
        return transport.url

    def start_control(self, host: str = "127.0.0.1", port: int = 0) -> ControlServer:
        """Start the JSON control channel; its `.host` and `.port` say where it listens."""
        if self._control is None:
            self._control = ControlServer(host, port)
            for op, handler in self.control_handlers().items():
                self._control.register(op, handler)
            self._control.start()
        return self._control

    def control_handlers(self) -> dict[str, Any]:
        """The control-channel ops this simulator offers (for registering elsewhere too)."""

        def fault(req: dict[str, Any]) -> dict[str, Any]:
            self.inject(Fault.from_json(req))
            return {}

        def now(kind: FaultKind) -> Any:
            def handler(_req: dict[str, Any]) -> dict[str, Any]:
                self.trigger(kind)
                return {}

            return handler

        def keypad(req: dict[str, Any]) -> dict[str, Any]:
            rate = req.get("rate_ml_per_h")
            self.model.keypad(str(req.get("key")), None if rate is None else Decimal(str(rate)))
            return {}

        def clear(_req: dict[str, Any]) -> dict[str, Any]:
            self.faults.clear()
            return {}

        return {
            "fault": fault,
            "clear_faults": clear,
            "faults": lambda _req: {"armed": [f.kind.value for f in self.faults.armed()]},
            "state": lambda _req: self.model.snapshot(),
            "received": lambda _req: {"commands": [r.text for r in self.model.received]},
            "url": lambda _req: {"url": self.url},
            "stall": now(FaultKind.STALL),
            "power_reset": now(FaultKind.POWER_RESET),
            "comms_timeout": now(FaultKind.COMMS_TIMEOUT),
            "disconnect": now(FaultKind.DISCONNECT),
            "keypad": keypad,
        }

    def inject(self, fault: Fault) -> None:
        """Arm a fault for the next matching command(s)."""
        self.faults.arm(fault)

    def trigger(self, kind: FaultKind) -> None:
        """Make an event happen now: STALL, POWER_RESET, COMMS_TIMEOUT or DISCONNECT."""
        if kind is FaultKind.DISCONNECT:
            if self._server is None:
                raise RuntimeError("simulator not started")
            self._server.disconnect()
        elif not happen_in(self.model, kind):
            raise ValueError(f"{kind} only happens in reply to a command; use inject()")

    def received(self) -> list[Received]:
        """Every packet the pump has received, in order."""
        return list(self.model.received)

    def sent(self) -> list[Sent]:
        """Every write the pump has made to the host, in order (empty before `start_*`)."""
        return [] if self._server is None else list(self._server.sent)

    def rate_ml_per_h(self) -> Decimal:
        """The pump's true current rate in mL/h (for tests and training views)."""
        return Decimal(self.model.snapshot()["rate_ml_per_h"])

    def stop(self) -> None:
        """Stop serving and close the control channel."""
        if self._server is not None:
            self._server.stop()
        if self._control is not None:
            self._control.stop()

    def __enter__(self) -> Simulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
