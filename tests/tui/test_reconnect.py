"""Reconnecting the pump after a lost link, in the running app (c on the run screen).

The app drives the real New Era driver against the bundled simulator over TCP loopback, with a
short reply timeout, a 0.1 s keepalive and link loss after 0.5 s, so a lost link is noticed in
about a second. Each test waits on conditions, never on a fixed sleep. What is checked: the
engine's link, the rate on screen against the simulator's real rate, and the `pump_reconnect`
records in the audit log (requester, outcome, detail).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Digits

from simulator import Fault, ModelConfig, Simulator
from simulator.clock import ManualClock as SimClock
from simulator.faults import FaultKind
from tests.support.app import (
    SESSION_ID,
    TODAY,
    AppFactory,
    Built,
    KeyClock,
)
from tests.support.clinical import library, policy
from tests.tui.harness import (
    Notices,
    decision,
    kinds,
    log_events,
    open_session,
    quick_start,
    settle,
    static_text,
    wait_for,
)
from titrator.audit.log_replay import replay_log
from titrator.audit.reader import read_for_review, read_records
from titrator.audit.verify import Outcome, verify_log
from titrator.cli.app import DEMO_PATIENT
from titrator.domain.decisions import LinkState as EngineLink
from titrator.domain.decisions import SessionState
from titrator.domain.events import PumpCommandIssued, PumpLinkChanged, PumpStatusRead
from titrator.files.config import AppConfig
from titrator.pump.base import EventHook, PumpAdapter, PumpInfo, WireHook
from titrator.pump.newera.driver import NewEraPump
from titrator.review.model import build_review
from titrator.review.timeline import Category
from titrator.shell.clocks import ManualClock
from titrator.tui.app import TitratorApp
from titrator.tui.reconnect import REASON, RECORD_KIND
from titrator.tui.screens.run import RunScreen
from titrator.tui.services import AppServices

NURSE = DEMO_PATIENT["nurse_id"]
SILENT = Fault(FaultKind.NO_REPLY, count=1_000_000, execute=False)
"""The pump hears nothing and answers nothing (every command), until the faults are cleared."""
LOSS_TIMEOUT_S = 15.0
"""Link loss takes about a second here; generous for a loaded box."""


class GatedNewEraPump(NewEraPump):
    """The New Era driver, counting `connect` calls; each waits while `gate` is closed."""

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self.gate = threading.Event()
        self.gate.set()
        self.connects: list[tuple[str, str]] = []

    def connect(self, *, requester: str, reason: str) -> PumpInfo:
        """Count the call and wait for the gate (at most 30 s) before connecting."""
        self.connects.append((requester, reason))
        if not self.gate.wait(30):
            raise AssertionError("the test never opened the connect gate")
        return super().connect(requester=requester, reason=reason)


@dataclass
class Rig:
    """The app, the simulator it talks to over TCP, and the driver it built."""

    built: Built
    sim: Simulator

    @property
    def app(self) -> TitratorApp:
        """The app."""
        return self.built.app

    @property
    def pump(self) -> GatedNewEraPump:
        """The driver the app's factory built."""
        pump = self.built.pumps[0]
        assert isinstance(pump, GatedNewEraPump)
        return pump

    def real_rate(self) -> Decimal:
        """What the simulated pump really delivers now (0 unless infusing)."""
        state = self.sim.model.snapshot()
        return Decimal(state["rate_ml_per_h"]) if state["prompt"] == "I" else Decimal(0)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    """The app built as `app_cli` builds it for a serial pump, on a simulator over TCP."""
    sim = Simulator(ModelConfig(safe_timeout_s=10), clock=SimClock(1000.0))
    url = sim.start_tcp()
    clock = ManualClock()
    pumps: list[PumpAdapter] = []
    drivers: list[GatedNewEraPump] = []
    key_clock = KeyClock()

    def factory(wire: WireHook, event: EventHook) -> PumpAdapter:
        pump = GatedNewEraPump(
            url,
            on_wire=wire,
            on_event=event,
            reply_timeout_s=0.2,
            keepalive_s=0.1,
            link_loss_after_s=0.5,
            safe_timeout_s=60,  # the pump's own watchdog stays out of the way unless a test says
        )
        pumps.append(pump)
        drivers.append(pump)
        return pump

    the_policy, sha = policy()
    services = AppServices(
        library=library(),
        policy=the_policy,
        policy_sha256=sha,
        config=AppConfig(),
        clock=clock,
        pump_factory=factory,
        pump_kind="serial",
        data_dir=tmp_path / "sessions",
        today=lambda: TODAY,
        training=False,
        setup_defaults=dict(DEMO_PATIENT),
        session_id=lambda _now: SESSION_ID,
        key_monotonic=key_clock,
    )
    built = Built(TitratorApp(services), clock, services, key_clock, tmp_path / "sessions", pumps)
    try:
        yield Rig(built, sim)
    finally:
        for pump in drivers:
            pump.gate.set()
            pump.close()
        sim.stop()


def engine_link(app: TitratorApp) -> EngineLink:
    """What the engine knows about the pump link."""
    assert app.controller is not None
    return app.controller.session.link


def reconnect_records(path: Path) -> list[dict[str, Any]]:
    """The `pump_reconnect` records of a session log, in order."""
    return [dict(r.payload) for r in read_records(path) if r.kind == RECORD_KIND]


def run_screen(app: TitratorApp) -> RunScreen:
    """The run screen (the active screen)."""
    screen = app.screen
    assert isinstance(screen, RunScreen)
    return screen


def rate_shown(app: TitratorApp) -> str:
    """The large rate on the run screen."""
    return run_screen(app).query_one("#rate-digits", Digits).value


async def test_c_reconnects_a_lost_link_and_the_engine_follows_the_status_read(rig: Rig) -> None:
    app = rig.app
    async with app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        assert rig.real_rate() == Decimal(21)
        assert run_screen(app).check_action("reconnect", ()) is False  # nothing to reconnect

        rig.sim.trigger(FaultKind.DISCONNECT)  # the cable is pulled
        await wait_for(
            pilot, lambda: engine_link(app) is EngineLink.LOST, "a lost link", LOSS_TIMEOUT_S
        )
        await pilot.pause()
        assert "press c to reconnect" in static_text(run_screen(app), "#next")
        assert "LINK LOST" in static_text(run_screen(app), "#alarms")
        assert run_screen(app).check_action("reconnect", ())

        await pilot.press("c")
        await wait_for(
            pilot,
            lambda: engine_link(app) is EngineLink.OK and not app.pump_link.reconnecting,
            "the link back and the status read",
        )
        await settle(pilot)
        assert rig.pump.connects[-1] == (NURSE, REASON)
        assert decision(app).state is SessionState.RUNNING
        assert decision(app).rate_ml_per_h == rig.real_rate() == Decimal(21)
        assert rate_shown(app) == "21"
        assert "CONNECTED" in static_text(run_screen(app), "#pump-line")
        assert "press c" not in static_text(run_screen(app), "#next")
        assert not decision(app).alarms

    events = log_events(rig.built.log_path)
    # The chain: the driver's "connected" reached the engine as the link back, the engine asked
    # for a status read, and the read (what the pump really does) resolved it.
    link_back = next(e for e in events if isinstance(e, PumpLinkChanged) and e.up)
    assert (link_back.detail or "").startswith("link connected")  # the driver's own event
    back = events.index(link_back)
    after = events[back:]
    read = next(e for e in after if isinstance(e, PumpCommandIssued))
    assert read.command.kind.value == "read_status"
    status = next(e for e in after if isinstance(e, PumpStatusRead))
    assert status.running
    assert status.rate_ml_per_h == Decimal(21)
    assert kinds(after).index("pump_command") < kinds(after).index("pump_status")
    records = reconnect_records(rig.built.log_path)
    assert [r["outcome"] for r in records] == ["requested", "connected"]
    assert {r["requester"] for r in records} == {NURSE}
    assert "NE1000" in records[1]["detail"]
    assert verify_log(rig.built.log_path).outcome is Outcome.UNFINISHED  # intact, still open


async def test_a_failed_reconnect_stays_lost_and_a_retry_follows_a_pump_that_stopped_meanwhile(
    rig: Rig,
) -> None:
    app = rig.app
    async with app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        rig.sim.inject(SILENT)  # the pump stops answering
        await wait_for(
            pilot, lambda: engine_link(app) is EngineLink.LOST, "a lost link", LOSS_TIMEOUT_S
        )

        # One attempt at a time: presses while it is under way are refused, not queued.
        assert len(rig.pump.connects) == 1  # at start-up
        rig.pump.gate.clear()
        try:
            await pilot.press("c")
            await wait_for(pilot, lambda: len(rig.pump.connects) == 2, "the worker to connect")
            await pilot.press("c", "c")
            await pilot.pause()
            assert "reconnecting" in static_text(run_screen(app), "#next")
            assert app.pump_worker.queued == 0
            assert app.pump_link.reconnecting
        finally:
            rig.pump.gate.set()
        await wait_for(
            pilot, lambda: not app.pump_link.reconnecting, "the attempt to fail", LOSS_TIMEOUT_S
        )
        await pilot.pause()
        assert len(rig.pump.connects) == 2
        assert engine_link(app) is EngineLink.LOST
        line = static_text(run_screen(app), "#pump-line")
        assert "reconnect failed: ConnectError" in line
        assert "Traceback" not in line
        assert "press c to try again" in static_text(run_screen(app), "#next")
        assert run_screen(app).check_action("reconnect", ())

        # Meanwhile the pump stopped by itself (its watchdog): the reconnect must find out.
        rig.sim.faults.clear()
        rig.sim.trigger(FaultKind.COMMS_TIMEOUT)
        assert rig.real_rate() == 0
        await pilot.press("c")
        await wait_for(
            pilot,
            lambda: engine_link(app) is EngineLink.OK and not app.pump_link.reconnecting,
            "the link back and the status read",
        )
        await settle(pilot)
        assert rig.pump.connects[1:] == [(NURSE, REASON)] * 2
        assert decision(app).rate_ml_per_h == rig.real_rate() == 0  # never assumed: read
        assert decision(app).state is SessionState.STOPPED
        assert rate_shown(app) == "0"

    records = reconnect_records(rig.built.log_path)
    assert [r["outcome"] for r in records] == [
        "requested",
        "refused",
        "refused",
        "failed",
        "requested",
        "connected",
    ]
    assert "already under way" in records[1]["detail"]
    assert records[3]["detail"].startswith("ConnectError: ")
    assert {r["requester"] for r in records} == {NURSE}
    log = rig.built.log_path
    events = log_events(log)
    # Nothing the pump said while the link was lost was fed as a status read (it would be
    # refused): the read after the reconnect decided.
    assert not [e for e in events if e.kind == "input_refused"]
    assert verify_log(log).outcome is Outcome.UNFINISHED  # intact, still open
    # Replay skips the records (they are no engine events); review shows them as pump lines.
    replayed = replay_log(log)
    assert replayed.equal, replayed.summary()
    assert replayed.skipped[RECORD_KIND] == len(records)
    review = build_review(log, read_for_review(log))
    lines = [e for e in review.timeline if e.kind == RECORD_KIND]
    assert {e.category for e in lines} == {Category.PUMP}
    assert lines[3].summary.startswith(f"pump reconnect failed ({NURSE}): ConnectError: ")


async def test_stop_after_a_failed_reconnect_keeps_the_reconnect_on_offer_and_the_read_decides(
    rig: Rig,
) -> None:
    app = rig.app
    async with app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        rig.sim.inject(SILENT)
        await wait_for(
            pilot, lambda: engine_link(app) is EngineLink.LOST, "a lost link", LOSS_TIMEOUT_S
        )
        await pilot.press("c")
        await wait_for(
            pilot, lambda: not app.pump_link.reconnecting, "the attempt to fail", LOSS_TIMEOUT_S
        )

        # The driver is now not connected at all: STOP cannot reach the pump. The engine must
        # still know the link is lost (not wait for a status read that can never come).
        await pilot.press("f9")
        await settle(pilot)
        assert decision(app).state is SessionState.STOPPED
        assert engine_link(app) is EngineLink.LOST
        assert run_screen(app).check_action("reconnect", ())
        assert rig.real_rate() == Decimal(21)  # the pump never heard the STOP

        rig.sim.faults.clear()
        await pilot.press("c")
        await wait_for(
            pilot,
            lambda: engine_link(app) is EngineLink.OK and rig.real_rate() == 0,
            "the read to find the pump running and the engine to stop it",
        )
        await settle(pilot)
        assert decision(app).rate_ml_per_h == 0
        assert rate_shown(app) == "0"

    reads = [e for e in log_events(rig.built.log_path) if isinstance(e, PumpStatusRead)]
    assert reads[-1].running
    assert reads[-1].rate_ml_per_h == Decimal(21)


async def test_c_is_refused_with_the_reason_while_the_link_is_not_lost(
    make_app: AppFactory,
) -> None:
    built = make_app()
    app = built.app
    notices = Notices()
    async with app.run_test(size=(80, 24), message_hook=notices) as pilot:
        await quick_start(pilot)
        connected = built.fake_pump.link_state
        await pilot.press("c")
        await pilot.pause()
        assert app.pump_worker.queued == 0
        assert not app.pump_link.reconnecting
        assert built.fake_pump.link_state is connected
        assert notices.said("not lost"), notices.shown
    records = reconnect_records(built.log_path)
    assert [(r["outcome"], r["requester"]) for r in records] == [("refused", NURSE)]
    assert "is not lost (it is OK)" in records[0]["detail"]


async def test_the_manual_pump_has_nothing_to_reconnect(make_app: AppFactory) -> None:
    built = make_app(pump="manual")
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await open_session(pilot)
        app.feed(PumpLinkChanged(at=app.now(), up=False, detail="test"))
        await pilot.pause()
        assert run_screen(app).check_action("reconnect", ()) is False
        assert "press c" not in static_text(run_screen(app), "#next")
        await pilot.press("c")
        await pilot.pause()
        assert app.pump_worker.queued == 0
    records = reconnect_records(built.log_path)
    assert [r["detail"] for r in records] == ["The manual pump has no link to reconnect."]
