"""What the nurse types and presses: refused vitals, STOP from every screen, the rate-change
confirmation's keys, greyed-out actions, and the manual pump's read-back."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.support.app import NORMAL_VITALS, AppFactory, KeyClock
from tests.tui.harness import (
    Notices,
    accept,
    advance,
    decision,
    fill_vitals,
    finish_preinfusion,
    log_events,
    on_screen,
    open_session,
    prompt_kind,
    quick_start,
    record_vitals,
    settle,
    start_infusion,
    static_text,
    the_app,
    wait_for,
)
from titrator.audit.verify import verify_log
from titrator.domain.decisions import PromptKind, SessionState
from titrator.domain.events import (
    InputRefused,
    StopRequested,
    SymptomsEntered,
    VitalsAccepted,
    VitalsEntered,
)
from titrator.pump.base import PumpState
from titrator.pump.fake import FakePump
from titrator.pump.manual import InstructionOutcome, ManualAction
from titrator.tui.dialogs.manual_pump import ManualPumpModal
from titrator.tui.dialogs.rate_confirm import RateConfirmModal
from titrator.tui.dialogs.reasons import OverrideModal, ReasonModal
from titrator.tui.dialogs.vitals import VitalsModal
from titrator.tui.screens.checklist import ChecklistScreen
from titrator.tui.screens.preinfusion import PreInfusionScreen
from titrator.tui.screens.preview import PlanPreviewScreen
from titrator.tui.screens.run import RunScreen
from titrator.tui.screens.setup import SetupScreen
from titrator.tui.screens.summary import SummaryScreen


async def at_baseline_done(pilot: Pilot[Any]) -> None:
    """The session open, baseline vitals and symptoms recorded: the start is offered."""
    await open_session(pilot)
    app = the_app(pilot)
    assert app.submit(VitalsEntered(at=app.now(), raw=dict(NORMAL_VITALS))) is None
    assert app.submit(SymptomsEntered(at=app.now(), symptoms=())) is None
    assert prompt_kind(app) is PromptKind.START


# -- vitals: refused with the field named, never corrected, raw text kept -------------------------

BAD_VITALS = [
    pytest.param({"temp_c": "370"}, "temp_c", "370", id="370-in-temperature"),
    pytest.param({"temp_c": "98.6"}, "temp_c", "98.6", id="fahrenheit-98.6"),
    pytest.param({"sbp_mmhg": "70", "dbp_mmhg": "90"}, "sbp_mmhg", "70", id="sbp-below-dbp"),
]


@pytest.mark.parametrize(("changes", "field", "raw"), BAD_VITALS)
async def test_bad_vitals_are_refused_naming_the_field_and_the_raw_text_is_logged(
    make_app: AppFactory, changes: dict[str, str], field: str, raw: str
) -> None:
    built = make_app()
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await open_session(pilot)
        modal = await fill_vitals(pilot, NORMAL_VITALS)
        for field_id, text in changes.items():  # typed key by key, as a nurse would
            box = modal.query_one(f"#{field_id}", Input)
            box.focus()
            box.value = ""
            await pilot.press(*text)
        await pilot.pause()
        typed = modal.query_one(f"#{field}", Input)
        assert typed.value == raw  # never corrected
        if len(changes) == 1:  # a single field out of range is flagged as typed
            assert static_text(modal, f"#{field}-check").startswith("✗")
            assert typed.has_class("-invalid")
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, VitalsModal)  # stays open, with the engine's reason
        refusal = static_text(modal, "#vitals-refusal")
        assert refusal.startswith("✗ Not recorded: 1 field marked ✗")
        assert static_text(modal, f"#{field}-check").startswith("✗")  # the reason at the field
        assert decision(app).state is SessionState.BASELINE
        # Corrected by the nurse: now it is recorded.
        for field_id in changes:
            modal.query_one(f"#{field_id}", Input).value = NORMAL_VITALS[field_id]
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), "the dialog to close")

    events = log_events(built.log_path)
    refused = [e for e in events if isinstance(e, InputRefused)]
    assert len(refused) == 1
    assert refused[0].input_kind == "vitals_entered"
    assert refused[0].field == field
    assert refused[0].raw == raw
    accepted = [e for e in events if isinstance(e, VitalsAccepted)]
    assert len(accepted) == 1
    assert accepted[0].raw[field] == NORMAL_VITALS[field]  # type: ignore[index]


# -- STOP (F9) from every screen ------------------------------------------------------------------


async def test_stop_before_the_session_opens_says_there_is_nothing_to_stop(
    make_app: AppFactory,
) -> None:
    built = make_app()
    app = built.app
    notices = Notices()
    async with app.run_test(size=(80, 24), message_hook=notices) as pilot:
        for screen_type, advance_key in (
            (SetupScreen, "f2"),
            (ChecklistScreen, None),
            (PreInfusionScreen, None),
            (PlanPreviewScreen, None),
        ):
            await on_screen(pilot, screen_type)
            assert isinstance(app.focused, Input) or screen_type is not SetupScreen
            await pilot.press("f9")
            await pilot.pause()
            assert notices.said("nothing to stop")
            notices.shown.clear()
            if advance_key:
                await pilot.press(advance_key)
            elif screen_type is ChecklistScreen:
                await pilot.press(*"yyyyyyyy", "f2")
            elif screen_type is PreInfusionScreen:
                await finish_preinfusion(pilot)
        assert app.controller is None
    assert not built.log_path.exists()


async def test_stop_works_on_the_run_screen_and_inside_every_dialog_even_a_focused_input(
    make_app: AppFactory,
) -> None:
    built = make_app()
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        pump = built.fake_pump

        # 1. In the vitals dialog, typing in a focused Input: F9 is not swallowed.
        modal = await fill_vitals(pilot, {"temp_c": "36"}, typed=True)
        assert isinstance(app.focused, Input)
        await pilot.press("f9")
        await settle(pilot)
        assert decision(app).state is SessionState.STOPPED
        assert decision(app).rate_ml_per_h == 0
        assert pump.true_state.value != "infusing"
        assert "STP" in pump.sent
        assert modal.query_one("#temp_c", Input).value == "36"  # the key went nowhere else
        await pilot.press("escape")
        await on_screen(pilot, RunScreen)

        # 2. In the override dialog (its note Input focused), after a stop.
        assert prompt_kind(app) is PromptKind.STOPPED
        await pilot.press("o")
        await on_screen(pilot, OverrideModal)
        app.screen.query_one("#note", Input).focus()
        await pilot.press("f9")
        await settle(pilot)
        await pilot.press("escape")
        await on_screen(pilot, RunScreen)

        # 3. On the run screen itself.
        await pilot.press("f9")
        await settle(pilot)

    events = log_events(built.log_path)
    stops = [e for e in events if isinstance(e, StopRequested)]
    assert len(stops) == 3
    assert all(e.reason == "STOP key (F9)" for e in stops)
    assert pump.sent.count("RUN") == 1


async def test_stop_during_a_rate_confirmation_records_the_stop_and_voids_the_change(
    make_app: AppFactory,
) -> None:
    built = make_app()
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await at_baseline_done(pilot)
        await pilot.press("a")
        await on_screen(pilot, RateConfirmModal)
        await pilot.press("f9")
        await settle(pilot)
        # The start is no longer on screen: the aborted session's log is closed and summarised.
        assert not isinstance(app.screen, RateConfirmModal)
        assert isinstance(app.screen, SummaryScreen)
        assert decision(app).state is SessionState.ABORTED
        await pilot.press("c")
        await settle(pilot)
        assert decision(app).state is SessionState.ABORTED
    assert "RUN" not in built.fake_pump.sent
    assert any(isinstance(e, StopRequested) for e in log_events(built.log_path))
    assert verify_log(built.log_path).ok  # closed and intact


# -- the rate-change confirmation -----------------------------------------------------------------


async def _at_start_confirmation(pilot: Pilot[Any]) -> RateConfirmModal:
    await at_baseline_done(pilot)
    await pilot.press("a")
    await on_screen(pilot, RateConfirmModal)
    modal = pilot.app.screen
    assert isinstance(modal, RateConfirmModal)
    return modal


async def test_a_start_needs_enter_then_c_and_a_repeated_enter_never_confirms(
    make_app: AppFactory,
) -> None:
    built = make_app()
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        modal = await _at_start_confirmation(pilot)
        assert modal.change.needs_second_key
        assert "press Enter, then C" in static_text(modal, "#rate-keys")
        await pilot.press("enter", "enter", "enter")
        assert modal.armed
        assert isinstance(app.screen, RateConfirmModal)
        assert "Press C to confirm" in static_text(modal, "#rate-keys")
        await pilot.press("x", "y")
        assert isinstance(app.screen, RateConfirmModal)
        await pilot.press("c")
        await on_screen(pilot, RunScreen)
        await settle(pilot)
        assert decision(app).state is SessionState.RUNNING
    assert built.fake_pump.sent.count("RUN") == 1


async def test_keys_within_50_ms_of_the_previous_one_never_confirm(make_app: AppFactory) -> None:
    built = make_app()
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        modal = await _at_start_confirmation(pilot)
        clock: KeyClock = built.key_clock
        clock.step_s = 0.01  # every key 10 ms after the previous: bounce or auto-repeat
        await pilot.press("enter", "c")
        assert isinstance(app.screen, RateConfirmModal)
        assert modal.armed  # the first key counts, the bounced C does not
        await pilot.press("c", "c", "c")
        assert isinstance(app.screen, RateConfirmModal)
        clock.step_s = 0.049  # still inside the window
        await pilot.press("c")
        assert isinstance(app.screen, RateConfirmModal)
        clock.step_s = 0.2  # a deliberate key
        await pilot.press("c")
        await on_screen(pilot, RunScreen)
        await settle(pilot)
        assert decision(app).state is SessionState.RUNNING


async def test_escape_cancels_a_rate_change_and_nothing_is_sent(make_app: AppFactory) -> None:
    built = make_app()
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await _at_start_confirmation(pilot)
        await pilot.press("enter", "escape")
        await on_screen(pilot, RunScreen)
        await settle(pilot)
        assert decision(app).state is SessionState.BASELINE
        assert prompt_kind(app) is PromptKind.START
    assert "RUN" not in built.fake_pump.sent


async def test_accept_and_override_are_greyed_out_when_the_prompt_does_not_allow_them(
    make_app: AppFactory,
) -> None:
    built = make_app()
    app = built.app
    notices = Notices()
    async with app.run_test(size=(80, 24), message_hook=notices) as pilot:
        await open_session(pilot)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        # Baseline vitals not taken: nothing to accept or override.
        assert prompt_kind(app) is PromptKind.BASELINE_VITALS
        assert screen.check_action("accept", ()) is None
        assert screen.check_action("override", ()) is None
        assert screen.check_action("vitals", ()) is True
        footer_keys = {b.binding.key: b.enabled for b in app.active_bindings.values()}
        assert footer_keys["a"] is False
        assert footer_keys["o"] is False
        assert footer_keys["f9"] is True
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, RunScreen)  # no dialog
        assert notices.said("Not allowed")

        await start_infusion(pilot)
        assert screen.check_action("accept", ()) is None  # infusing, no step due yet
        await advance(pilot, built, minutes=15)
        await record_vitals(pilot)
        await advance(pilot, built, minutes=15)
        assert prompt_kind(app) is PromptKind.STEP_UP
        assert screen.check_action("accept", ()) is True
        assert screen.check_action("override", ()) is True
        await accept(pilot)  # 21 -> 42 mL/h is x2: Enter then C (harness)
        assert decision(app).rate_ml_per_h == 42

    refused = [e for e in log_events(built.log_path) if isinstance(e, InputRefused)]
    assert [(e.input_kind, e.hard_limit) for e in refused] == [("nurse_decided", False)]


# -- the manual pump ------------------------------------------------------------------------------


async def _answer_manual(pilot: Pilot[Any], displayed: str | None) -> str:
    """Answer the pump dialog on screen; return its instruction text."""
    await on_screen(pilot, ManualPumpModal)
    modal = pilot.app.screen
    assert isinstance(modal, ManualPumpModal)
    instruction = static_text(modal, "#instruction")
    if displayed is not None:
        modal.query_one("#displayed", Input).value = displayed
    await pilot.press("f2")
    await wait_for(pilot, lambda: pilot.app.screen is not modal, "the pump dialog to close")
    return instruction


async def test_manual_pump_instructions_confirmed_by_the_typed_displayed_rate(
    make_app: AppFactory,
) -> None:
    built = make_app(pump="manual")
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await at_baseline_done(pilot)
        await pilot.press("a")
        await on_screen(pilot, RateConfirmModal)
        assert "Set the pump to 21 mL/h" in static_text(app.screen, "#rate-instruction")
        await pilot.press("enter", "c")
        assert "Program the pump to 21 mL/h" in await _answer_manual(pilot, "21")
        assert "Start the pump" in await _answer_manual(pilot, None)
        await settle(pilot)
        assert decision(app).state is SessionState.RUNNING
        assert not decision(app).alarms
        assert "INFUSING · 21 mL/h" in static_text(app.screen, "#pump-line")

        # The next step, read back wrong: refused as a mismatch, never taken as done.
        await advance(pilot, built, minutes=15)
        await record_vitals(pilot)
        await advance(pilot, built, minutes=15)
        assert prompt_kind(app) is PromptKind.STEP_UP
        await pilot.press("a", "enter", "c")
        # Never taken as done: said plainly and asked again until the pump shows 42.
        again = await _answer_manual(pilot, "24")
        assert "Program the pump to 42 mL/h" in again
        assert "The pump shows 24 mL/h, ordered 42 mL/h" in await _answer_manual(pilot, "42")
        await settle(pilot)
        d = decision(app)
        assert d.rate_ml_per_h == 42
        assert "42 mL/h" in static_text(app.screen, "#pump-line")
        assert not isinstance(app.screen, ManualPumpModal)

    records = built.manual_pump.records
    assert [(r.instruction.action, r.outcome) for r in records] == [
        (ManualAction.SET_RATE, InstructionOutcome.CONFIRMED),
        (ManualAction.START, InstructionOutcome.CONFIRMED),
        (ManualAction.SET_RATE, InstructionOutcome.CONFIRMED),
        (ManualAction.SET_RATE, InstructionOutcome.CONFIRMED),
    ]
    assert records[-2].answer is not None
    assert records[-2].answer.displayed_rate_ml_per_h == Decimal(24)
    events = log_events(built.log_path)
    outcomes = [getattr(e, "outcome", None) for e in events if e.kind == "pump_outcome"]
    assert outcomes[-1] == "confirmed"  # only once the pump showed the rate ordered
    assert "pump_status" not in [e.kind for e in events]  # nothing the nurse did not say


async def test_a_manual_pump_dialog_refuses_an_unreadable_rate(make_app: AppFactory) -> None:
    built = make_app(pump="manual")
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await at_baseline_done(pilot)
        await pilot.press("a", "enter", "c")
        await on_screen(pilot, ManualPumpModal)
        modal = app.screen
        modal.query_one("#displayed", Input).value = "21 ml"
        await pilot.press("f2")
        await pilot.pause()
        assert app.screen is modal
        assert static_text(modal, "#manual-refusal").startswith("✗ displayed rate")
        await _answer_manual(pilot, "21")
        await _answer_manual(pilot, None)
        await settle(pilot)
        assert decision(app).state is SessionState.RUNNING
    assert built.manual_pump.records[0].answer is not None


async def test_stop_does_not_wait_behind_an_unanswered_manual_instruction(
    make_app: AppFactory,
) -> None:
    built = make_app(pump="manual")
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await at_baseline_done(pilot)
        await pilot.press("a", "enter", "c")
        await on_screen(pilot, ManualPumpModal)  # "program the pump to 21 mL/h", unanswered
        await pilot.press("f9")
        # The stop instruction comes next at once (it does not wait for the old one to time out).
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, ManualPumpModal)
                and "stop" in static_text(app.screen, "#instruction").lower()
            ),
            "the stop instruction",
        )
        await _answer_manual(pilot, None)
        await settle(pilot)
        assert decision(app).state in (SessionState.ABORTED, SessionState.STOPPED)
    records = built.manual_pump.records
    assert records[0].outcome is InstructionOutcome.DECLINED
    assert any(r.instruction.action is ManualAction.STOP for r in records)


async def test_the_nurse_pauses_with_a_reason_and_resumes_at_the_same_rate(
    make_app: AppFactory,
) -> None:
    built = make_app()
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        await settle(pilot)
        rate = decision(app).rate_ml_per_h
        pump = built.fake_pump
        await pilot.press("p")
        await on_screen(pilot, ReasonModal)
        await pilot.press("f2")  # no reason: refused by the engine, the dialog stays
        await wait_for(
            pilot, lambda: "Not recorded" in static_text(app.screen, "#reason-refusal"), "refusal"
        )
        await pilot.press(*"line check", "f2")
        await on_screen(pilot, RunScreen)
        await settle(pilot)
        assert decision(app).state is SessionState.PAUSED
        assert not delivering(pump)
        assert prompt_kind(app) is PromptKind.RESUME
        await accept(pilot)  # OLD 0 -> NEW rate: a start, two deliberate keys
        await settle(pilot)
        assert decision(app).state is SessionState.RUNNING
        assert decision(app).rate_ml_per_h == rate
        assert pump.true_rate_ml_per_h == rate
    events = log_events(built.log_path)
    pauses = [e for e in events if e.kind == "pause_requested"]
    assert [getattr(e, "reason", "") for e in pauses] == ["", "line check"]


def delivering(pump: FakePump) -> bool:
    return pump.true_state is PumpState.INFUSING
