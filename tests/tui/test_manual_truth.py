"""The manual pump never invents pump state, in the app (issue 12, item 1).

A rate read back wrong is said plainly and asked again (never "the pump stopped by itself"), the
log keeps exactly what the nurse typed and chose, the infusion runs only once the start is
confirmed, the pump line says there is no link and agrees with the session after STOP, a resumed
session asks the nurse what the pump shows first, and the quit dialog says what is true.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Select

from tests.support.app import NORMAL_VITALS, AppFactory
from tests.tui.harness import (
    Notices,
    decision,
    log_events,
    on_screen,
    open_session,
    prompt_kind,
    settle,
    static_text,
    the_app,
    wait_for,
)
from titrator.audit.reader import read_records
from titrator.domain.clock import Instant
from titrator.domain.decisions import AlarmCode, PromptKind, SessionState
from titrator.domain.events import AuditHealthChanged, SymptomsEntered, VitalsEntered
from titrator.pump.base import (
    EventKind,
    PumpEvent,
    PumpLinkState,
    PumpState,
    PumpStatus,
    WireDirection,
    WireRecord,
)
from titrator.shell.controller import Applied
from titrator.tui.dialogs.manual_pump import ManualPumpModal
from titrator.tui.dialogs.quit import QuitModal
from titrator.tui.dialogs.rate_confirm import RateConfirmModal
from titrator.tui.manual_instructions import RECORD_KIND
from titrator.tui.pump_worker import PumpConnected, PumpWire
from titrator.tui.screens.resume import ResumeScreen
from titrator.tui.screens.run import RunScreen

MISMATCH = "The pump shows 210 mL/h, ordered 21 mL/h: correct the pump to 21 mL/h, or stop it."


async def start_offered(pilot: Pilot[Any]) -> None:
    await open_session(pilot)
    app = the_app(pilot)
    assert app.submit(VitalsEntered(at=app.now(), raw=dict(NORMAL_VITALS))) is None
    assert app.submit(SymptomsEntered(at=app.now(), symptoms=())) is None
    assert prompt_kind(app) is PromptKind.START


async def _instruction(pilot: Pilot[Any], previous: object = None) -> ManualPumpModal:
    """Wait for a (new) pump dialog and return it."""
    app = pilot.app
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, ManualPumpModal) and app.screen is not previous,
        "a manual pump instruction",
    )
    modal = app.screen
    assert isinstance(modal, ManualPumpModal)
    return modal


async def _answer(
    pilot: Pilot[Any], modal: ManualPumpModal, typed: str | None, infusing: str | None = None
) -> None:
    if typed is not None:
        modal.query_one("#displayed", Input).value = typed
    if infusing is not None:
        modal.query_one("#infusing", Select).value = infusing
    await pilot.press("f2")
    await wait_for(pilot, lambda: pilot.app.screen is not modal, "the pump dialog to close")


async def _quit_effect(pilot: Pilot[Any]) -> str:
    """Ask to quit and return what the dialog says will happen."""
    app = the_app(pilot)
    await app.action_quit()
    await on_screen(pilot, QuitModal)
    await wait_for(pilot, lambda: bool(app.screen.query("#quit-effect")), "the quit dialog")
    return static_text(app.screen, "#quit-effect")


def manual_records(built: Any) -> list[dict[str, Any]]:
    return [dict(r.payload) for r in read_records(built.log_path) if r.kind == RECORD_KIND]


async def _start_and_confirm(pilot: Pilot[Any]) -> None:
    await pilot.press("a")
    await on_screen(pilot, RateConfirmModal)
    await pilot.press("enter", "c")
    program = await _instruction(pilot)
    await _answer(pilot, program, "21")
    start = await _instruction(pilot, program)
    await _answer(pilot, start, None)
    await settle(pilot)


async def test_a_rate_read_back_wrong_is_said_plainly_asked_again_and_never_made_a_status(
    make_app: AppFactory,
) -> None:
    built = make_app(pump="manual")
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await start_offered(pilot)
        await pilot.press("a")
        await on_screen(pilot, RateConfirmModal)
        await pilot.press("enter", "c")
        program = await _instruction(pilot)
        await _answer(pilot, program, "210")  # a slip: 210 for 21
        again = await _instruction(pilot, program)
        assert static_text(again, "#instruction") == MISMATCH
        await wait_for(
            pilot,
            lambda: "UNCERTAIN" in app.pump_link.pump_text(),
            "the pump line to say UNCERTAIN",
        )
        assert decision(app).state is SessionState.BASELINE  # not running: nothing confirmed
        assert "stopped by itself" not in str(decision(app).prompt)
        await _answer(pilot, again, "21")  # corrected at the pump
        start = await _instruction(pilot, again)
        assert "Start the pump at 21 mL/h" in static_text(start, "#instruction")
        assert decision(app).state is SessionState.BASELINE  # the start is not confirmed yet
        await _answer(pilot, start, None)
        await settle(pilot)
        assert decision(app).state is SessionState.RUNNING
        assert "UNCERTAIN" not in app.pump_link.pump_text()
    events = log_events(built.log_path)
    assert "pump_status" not in [e.kind for e in events]
    assert not [e for e in events if "stopped by itself" in str(e)]
    answers = [(r["action"], r["choice"], r["typed_rate"]) for r in manual_records(built)]
    assert answers == [
        ("set_rate", "confirmed", "210"),
        ("set_rate", "confirmed", "21"),
        ("start", "confirmed", ""),
    ]


async def test_the_manual_pump_line_says_no_link_and_agrees_with_the_session_after_stop(
    make_app: AppFactory,
) -> None:
    built = make_app(pump="manual")
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await start_offered(pilot)
        line = app.pump_link.pump_text()
        assert "MANUAL (no link)" in line
        assert "CONNECTED" not in line
        await _start_and_confirm(pilot)
        assert "MANUAL (no link) · INFUSING · 21 mL/h" in app.pump_link.pump_text()
        await pilot.press("f9")
        stop = await _instruction(pilot)
        await _answer(pilot, stop, None)
        await settle(pilot)
        d = decision(app)
        assert d.state is SessionState.STOPPED
        assert d.rate_ml_per_h == 0
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), "the run screen")
        shown = static_text(app.screen, "#pump-line")
        assert "STOPPED · not infusing · 0 mL/h" in shown
        assert "CONNECTED" not in shown


async def test_the_quit_dialog_says_what_is_true(make_app: AppFactory) -> None:
    built = make_app(pump="manual")
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await start_offered(pilot)
        before = await _quit_effect(pilot)
        assert "has not started" in before
        assert "keeps running" not in before
        await pilot.press("n")
        await on_screen(pilot, RunScreen)
        await _start_and_confirm(pilot)
        running = await _quit_effect(pilot)
        assert "infusing at 21 mL/h" in running
        await pilot.press("n")
        await on_screen(pilot, RunScreen)
        await pilot.press("f9")
        await _answer(pilot, await _instruction(pilot), None)
        await settle(pilot)
        stopped = await _quit_effect(pilot)
        assert "not infusing" in stopped
        assert "keeps running" not in stopped
        await pilot.press("n")


async def test_a_resumed_manual_session_asks_the_nurse_what_the_pump_shows_first(
    make_app: AppFactory,
) -> None:
    first = make_app(pump="manual")
    async with first.app.run_test(size=(80, 24)) as pilot:
        await start_offered(pilot)
        await _start_and_confirm(pilot)
        assert decision(first.app).state is SessionState.RUNNING
        controller = first.app.controller
        assert controller is not None
        controller.audit.release()  # type: ignore[union-attr]  # the crash

    second = make_app(pump="manual", start=datetime(2026, 11, 20, 9, 30, tzinfo=UTC))
    app = second.app
    async with app.run_test(size=(80, 24)) as pilot:
        await on_screen(pilot, ResumeScreen)
        await pilot.press(*"RN-2", "f2")
        read = await _instruction(pilot)
        assert "Read the pump" in static_text(read, "#instruction")
        # Nothing about the pump is recorded before the nurse says what it shows.
        assert "pump_status" not in [e.kind for e in log_events(second.log_path)]
        await _answer(pilot, read, "21", infusing="yes")
        await settle(pilot)
        assert decision(app).rate_ml_per_h == 21
    statuses = [e for e in log_events(second.log_path) if e.kind == "pump_status"]
    assert [(s.running, s.rate_ml_per_h, s.volume_ml) for s in statuses] == [
        (True, Decimal(21), None)
    ]
    records = manual_records(second)
    assert (records[-1]["action"], records[-1]["typed_rate"], records[-1]["infusing"]) == (
        "read_status",
        "21",
        True,
    )


async def test_the_connect_status_is_not_overwritten_by_the_link_up_event(
    make_app: AppFactory,
) -> None:
    """A driver reports its link up (nothing read yet) before the connect's status read."""
    built = make_app()
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.pump_link.last_status is not None, "the connect")
        link = app.pump_link
        read = PumpStatus(PumpState.STOPPED, PumpLinkState.CONNECTED, Decimal(21))
        link_up = PumpStatus(PumpState.UNKNOWN, PumpLinkState.CONNECTED)
        link.on_notice(PumpEvent(EventKind.LINK_CHANGED, link_up, "link connected"))
        link.on_connected(PumpConnected(PumpLinkState.CONNECTED, read, ""))
        assert "UNKNOWN" not in link.pump_text()
        assert "STOPPED · not infusing · 0 mL/h (set to 21 mL/h)" in link.pump_text()


async def test_a_failed_wire_record_is_adopted_like_any_decision(make_app: AppFactory) -> None:
    built = make_app()
    app = built.app
    notices = Notices()
    async with app.run_test(size=(80, 24), message_hook=notices) as pilot:
        await open_session(pilot)
        controller = app.controller
        assert controller is not None
        failing = controller.session.handle(
            AuditHealthChanged(at=app.now(), healthy=False, detail="disk full")
        )

        def record_extra(record: Mapping[str, Any], now: Instant) -> Applied:
            return Applied(failing, (), audit_error="disk full")

        controller.record_extra = record_extra  # type: ignore[method-assign]
        wire = WireRecord(WireDirection.TX, "3052415433350d", 1.0, "titrator", "test", "RAT")
        app.post_message(PumpWire(wire))
        await wait_for(pilot, lambda: app.decision is failing, "the failed record's decision")
        assert AlarmCode.AUDIT_FAILING in decision(app).alarms
        assert notices.said("Audit log write failed: disk full")
