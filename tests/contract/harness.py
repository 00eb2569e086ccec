"""One harness over every pump adapter: the fake pump, and the driver to the simulator."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from simulator import Fault, ModelConfig, Simulator
from simulator.clock import ManualClock
from simulator.faults import FaultKind
from titrator.pump.base import (
    AlarmKind,
    PumpAdapter,
    PumpEvent,
    PumpLinkState,
    WireDirection,
    WireRecord,
)
from titrator.pump.fake import FakePump
from titrator.pump.newera.driver import NewEraPump

KINDS = ("fake", "sim_pty", "sim_tcp")
SET_RATE = re.compile(r"RAT\d")
WHO = {"requester": "test", "reason": "contract"}


def wait_until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Poll `predicate` until true or fail after `timeout_s` (never a fixed sleep)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


@dataclass
class Harness:
    """An adapter plus ways to look at and poke the pump behind it."""

    kind: str
    adapter: PumpAdapter
    true_rate: Callable[[], Decimal]
    true_infusing: Callable[[], bool]
    stall: Callable[[], None]
    advance: Callable[[float], None]
    sim: Simulator | None = None
    fake: FakePump | None = None
    wire: list[WireRecord] = field(default_factory=list)
    events: list[PumpEvent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_wire(self, record: WireRecord) -> None:
        """Collect wire records (the driver may call from its own thread)."""
        with self.lock:
            self.wire.append(record)

    def on_event(self, event: PumpEvent) -> None:
        """Collect events."""
        with self.lock:
            self.events.append(event)

    def link(self) -> PumpLinkState:
        """The adapter's link state (a call, so type checkers do not narrow it)."""
        return self.adapter.link_state

    def set_rate_frames(self) -> int:
        """How many set-rate commands went out on the wire."""
        with self.lock:
            return sum(
                1
                for r in self.wire
                if r.direction is WireDirection.TX and SET_RATE.match(r.command)
            )


def make_driver(url: str, harness: Harness, **options: object) -> NewEraPump:
    """The driver as tests configure it: short timeouts, no background poll unless asked."""
    settings: dict[str, object] = {"reply_timeout_s": 0.25, "keepalive_s": None}
    settings.update(options)
    return NewEraPump(
        url,
        on_wire=harness.on_wire,
        on_event=harness.on_event,
        **settings,  # type: ignore[arg-type]
    )


@contextmanager
def harness_for(kind: str, **driver_options: object) -> Iterator[Harness]:
    """A connected harness of the given kind, closed afterwards."""
    clock = ManualClock(1000.0)
    if kind == "fake":
        fake = FakePump(  # its hooks feed the harness made next
            clock=clock, on_wire=lambda r: h.on_wire(r), on_event=lambda e: h.on_event(e)
        )
        h = Harness(
            kind,
            fake,
            true_rate=lambda: fake.true_rate_ml_per_h,
            true_infusing=lambda: fake.true_state.value == "infusing",
            stall=lambda: fake.raise_alarm(AlarmKind.STALL),
            advance=clock.advance,
            fake=fake,
        )
        fake.connect(**WHO)
        yield h
        fake.close()
        return
    sim = Simulator(ModelConfig(safe_timeout_s=10), clock=clock)
    url = sim.start_pty() if kind == "sim_pty" else sim.start_tcp()
    h = Harness(
        kind,
        NewEraPump(url),  # replaced below, once the harness exists for the hooks
        true_rate=sim.rate_ml_per_h,
        true_infusing=lambda: sim.model.snapshot()["prompt"] == "I",
        stall=lambda: sim.trigger(FaultKind.STALL),
        advance=clock.advance,
        sim=sim,
    )
    driver = make_driver(url, h, locate=lambda: sim.url, **driver_options)
    h.adapter = driver
    try:
        driver.connect(**WHO)
        driver.alarms()  # the power-up A?R of a fresh simulator
        yield h
    finally:
        driver.close()
        sim.stop()


def inject(h: Harness, kind: FaultKind, on: str, **options: object) -> None:
    """Arm a simulator fault on the next `on` command."""
    assert h.sim is not None
    h.sim.inject(Fault(kind, on=on, **options))  # type: ignore[arg-type]


def reconnect(h: Harness) -> None:
    """Reconnect after a lost link.

    A pty simulator drops the line by reopening at a new path: the driver looks it up again
    (`locate`), as the app's does.
    """
    h.adapter.connect(**WHO)
