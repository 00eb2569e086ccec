"""The app built with fakes, as `titrator.cli.app` builds it: the builder every TUI test uses.

Everything that varies is injected: a `ManualClock` (also the audit writer's clock and the fake
pump's), a fixed session id, a fixed "today", a data directory, and a key clock for the
rate-confirmation modal that never reads as key bounce unless a test says so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from tests.support.clinical import FEVER, NORMAL, library, policy
from titrator.cli.app import DEMO_PATIENT
from titrator.files.config import AppConfig
from titrator.files.library import Library
from titrator.pump.base import EventHook, PumpAdapter, PumpStatus, WireHook
from titrator.pump.fake import FakePump
from titrator.pump.manual import ManualPump
from titrator.shell.clocks import ManualClock
from titrator.tui.app import TitratorApp
from titrator.tui.services import AppServices

NORMAL_VITALS = NORMAL
"""A normal adult vitals set, as typed into the vitals dialog."""

FEVER_VITALS = FEVER
"""A temperature of 38.1 °C (TEMP-ABS-38 and a rise of more than 1 °C: mild, pause)."""

SESSION_ID = "20261120-0900-test01"
"""Every test session has this id (one session per data directory)."""

TODAY = date(2026, 11, 20)

PumpKind = Literal["fake", "manual"]


class KeyClock:
    """A monotonic clock for the rate-confirmation modal: each reading is `step_s` later.

    With the default step no two keys are ever closer than 50 ms (no bounce); a bounce test sets
    `step_s` to 0.01 or moves `now_s` by hand.
    """

    def __init__(self, step_s: float = 1.0) -> None:
        self.now_s = 1000.0
        self.step_s = step_s

    def __call__(self) -> float:
        self.now_s += self.step_s
        return self.now_s


class GatedFakePump(FakePump):
    """A FakePump whose status reads wait while `gate` is closed (open by default).

    A test closes the gate to hold the app in the moment between a lost reply and the status
    read that resolves it, and must open it again before the app exits.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gate = threading.Event()
        self.gate.set()

    def status(self, *, requester: str, reason: str) -> PumpStatus:
        """Wait for the gate (at most 30 s), then read the status."""
        if not self.gate.wait(30):
            raise AssertionError("the test never opened the status gate")
        return super().status(requester=requester, reason=reason)


@dataclass
class Built:
    """An app and the fakes it was built with."""

    app: TitratorApp
    clock: ManualClock
    services: AppServices
    key_clock: KeyClock
    data_dir: Path
    pumps: list[PumpAdapter] = field(default_factory=list)
    """The pump adapter(s) the app's factory built (one, once the app is mounted)."""

    @property
    def fake_pump(self) -> GatedFakePump:
        """The fake pump (tests built with pump="fake")."""
        pump = self.pumps[0]
        assert isinstance(pump, GatedFakePump)
        return pump

    @property
    def manual_pump(self) -> ManualPump:
        """The manual pump (tests built with pump="manual")."""
        pump = self.pumps[0]
        assert isinstance(pump, ManualPump)
        return pump

    @property
    def log_path(self) -> Path:
        """The session's audit log."""
        return self.data_dir / f"{SESSION_ID}.jsonl"


def build_app(
    data_dir: Path,
    *,
    pump: PumpKind = "fake",
    training: bool = True,
    setup: dict[str, str] | None = None,
    start: datetime | None = None,
    products: Library | None = None,
) -> Built:
    """Build the app the way `app_cli` does, with fakes.

    Args:
        data_dir: where the audit log goes.
        pump: "fake" (FakePump on the manual clock) or "manual" (the nurse programs it).
        training: marks TRAINING everywhere (as the demo does).
        setup: the setup screen's pre-filled values (default: the demo patient).
        start: the manual clock's start time (default 2026-11-20 09:00 UTC).
        products: the product library (default: the shipped one).
    """
    clock = ManualClock(start)
    key_clock = KeyClock()
    pumps: list[PumpAdapter] = []

    def mono_s() -> float:
        return clock.now().mono_ms / 1000

    def factory(wire: WireHook, event: EventHook) -> PumpAdapter:
        adapter: PumpAdapter
        if pump == "fake":
            adapter = GatedFakePump(clock=mono_s, on_wire=wire, on_event=event)
        else:
            adapter = ManualPump(on_event=event, clock=mono_s, confirm_timeout_s=30)
        pumps.append(adapter)
        return adapter

    the_policy, sha = policy()
    services = AppServices(
        library=library() if products is None else products,
        policy=the_policy,
        policy_sha256=sha,
        config=AppConfig(),
        clock=clock,
        pump_factory=factory,
        pump_kind="simulator" if pump == "fake" else "manual",
        data_dir=data_dir,
        today=lambda: TODAY,
        training=training,
        setup_defaults=dict(DEMO_PATIENT if setup is None else setup),
        session_id=lambda _now: SESSION_ID,
        key_monotonic=key_clock,
    )
    return Built(TitratorApp(services), clock, services, key_clock, data_dir, pumps)


AppFactory = Callable[..., Built]
