"""Issue 13 item 2 on screen: after an emergency stop the NEXT panel shows the site's anaphylaxis
steps with this patient's dose, and each medicine given is recorded from the m dialog (80x24,
keyboard only; STOP never needs it)."""

from __future__ import annotations

from textual.widgets import Input

from tests.support.app import NORMAL_VITALS, AppFactory
from tests.tui.harness import (
    advance,
    decision,
    log_events,
    on_screen,
    quick_start,
    screen_text,
    settle,
    static_text,
    wait_for,
)
from titrator.domain.decisions import Choice, SessionState
from titrator.domain.events import (
    MedicationGiven,
    NurseDecided,
    StopRequested,
    SymptomsEntered,
    VitalsEntered,
)
from titrator.tui.app import TitratorApp
from titrator.tui.dialogs.medication import MedicationModal
from titrator.tui.screens.run import RunScreen
from titrator.tui.screens.summary import SummaryScreen


async def test_the_emergency_steps_show_the_dose_and_each_medicine_is_recorded(
    make_app: AppFactory,
) -> None:
    built = make_app()
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        plan = app.plan
        assert plan is not None
        next_before = static_text(app.screen, "#next")
        assert "EMERGENCY STEPS" not in next_before

        await advance(pilot, built, minutes=5)
        # Fed as the symptom dialog would (the dialog itself is tested elsewhere).
        assert app.submit(SymptomsEntered(at=app.now(), symptoms=("stridor",))) is None
        await settle(pilot)
        next_text = static_text(app.screen, "#next")
        assert "EMERGENCY STEPS (policy; sources RCUK2021, WAO2020" in next_text
        assert "1. Call for help" in next_text
        assert "Lie flat" in next_text
        weight = plan.request.weight_kg
        assert f"x {weight.normalize():f} kg" in next_text
        assert "ADRENALINE 0.5 mg IM" in next_text  # an adult: the cap binds, and says so
        assert "capped at the adult max 0.5 mg" in next_text
        assert "m = record a medicine given" in next_text
        for row in screen_text(pilot).splitlines():
            assert len(row) <= 80

        # Recording is never required first: STOP works at once.
        await pilot.press("f9")
        await settle(pilot)
        assert decision(app).state is SessionState.STOPPED

        # m: pre-filled with this patient's adrenaline; the time and the name are typed.
        await pilot.press("m")
        await on_screen(pilot, MedicationModal)
        modal = app.screen
        assert modal.query_one("#med-drug", Input).value.startswith("adrenaline")
        assert modal.query_one("#med-dose", Input).value == "0.5"
        assert modal.query_one("#med-route", Input).value == "IM"

        # Bad input: one line naming the field and the text as typed; the dialog stays open.
        modal.query_one("#med-dose", Input).value = "0,5"
        await pilot.press("f2")
        await pilot.pause()
        refusal = static_text(modal, "#medication-refusal")
        assert refusal == '✗ Not recorded: Dose: is not a number (typed "0,5")'
        assert isinstance(app.screen, MedicationModal)

        modal.query_one("#med-dose", Input).value = "0.5"
        modal.query_one("#med-given_by", Input).value = "RN Okafor"
        await pilot.press("f2")
        await wait_for(
            pilot, lambda: isinstance(app.screen, RunScreen), "the medication dialog to close"
        )
        await settle(pilot)

        # A second dose is its own record.
        await pilot.press("m")
        await on_screen(pilot, MedicationModal)
        app.screen.query_one("#med-given_by", Input).value = "RN Okafor"
        await pilot.press("f2")
        await wait_for(
            pilot, lambda: isinstance(app.screen, RunScreen), "the medication dialog to close"
        )

    given = [e for e in log_events(built.log_path) if isinstance(e, MedicationGiven)]
    assert len(given) == 2
    assert {(e.drug, str(e.dose), e.unit, e.route, e.given_by) for e in given} == {
        ("adrenaline (epinephrine) 1 mg/mL", "0.5", "mg", "IM", "RN Okafor")
    }


async def test_the_summary_hands_over_the_delayed_reactions_and_whom_to_call(
    make_app: AppFactory,
) -> None:
    """Issue 13 item 6 on screen: the policy's discharge text, cited, on the summary screen."""
    built = make_app()
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        await advance(pilot, built, minutes=10)
        app.feed(StopRequested(at=app.now(), reason="STOP key (F9)"))
        await settle(pilot)
        _accept_now(app)  # stopped: begin observation
        await settle(pilot)
        due = decision(app).due.observation_end_ms
        assert due is not None
        await advance(pilot, built, seconds=(due - app.now().mono_ms) / 1000)
        assert app.submit(VitalsEntered(at=app.now(), raw=dict(NORMAL_VITALS))) is None
        await settle(pilot)
        _accept_now(app)  # observation complete: close
        await on_screen(pilot, SummaryScreen)
        await wait_for(pilot, lambda: bool(app.screen.query("#discharge")), "the hand-over")
        text = static_text(app.screen, "#discharge")
        for name in ("Aseptic meningitis", "Haemolysis", "Thrombosis", "Kidney problems"):
            assert f"• {name}" in text
        assert "[S34, JOLLES1998, S4]" in text
        assert "Whom to call:" in text
        assert "titrator export LOG --format discharge" in text


def _accept_now(app: TitratorApp) -> None:
    prompt = decision(app).prompt
    assert prompt is not None
    app.feed(NurseDecided(at=app.now(), choice=Choice.ACCEPT, prompt_id=prompt.prompt_id))
