"""The symptom checklist at 80x24: boxed-warning symptoms in nurse words, and free text graded.

Issue 13, items 3 and 4: the new symptom ids are on the checklist; free text ("other") has a
severity tick list (one tick); a free-text symptom recorded without a grade is held and asked
about, never silently "mild"; two grades ticked are refused in one line and nothing is lost.
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, SelectionList

from tests.support.app import AppFactory
from tests.tui.harness import (
    decision,
    log_events,
    on_screen,
    quick_start,
    record_symptoms,
    screen_text,
    settle,
    static_text,
    wait_for,
)
from titrator.domain.decisions import PromptKind
from titrator.domain.events import AssessmentMade, SymptomsEntered
from titrator.domain.policy import Action, Severity
from titrator.domain.vitals import SYMPTOM_LABELS, Symptom
from titrator.tui.dialogs.symptoms import GRADE_WORDS, SymptomsModal

NEW = [
    Symptom.CHEST_PAIN,
    Symptom.LIMB_SWELLING,
    Symptom.UNILATERAL_WEAKNESS,
    Symptom.SPEECH_DIFFICULTY,
    Symptom.SUDDEN_VISION_LOSS,
    Symptom.DARK_URINE,
    Symptom.JAUNDICE,
    Symptom.SEVERE_HEADACHE,
    Symptom.PHOTOPHOBIA,
    Symptom.RESPIRATORY_DISTRESS,
]


async def open_dialog(pilot: Pilot[Any]) -> SymptomsModal:
    await pilot.press("s")
    await on_screen(pilot, SymptomsModal)
    modal = pilot.app.screen
    assert isinstance(modal, SymptomsModal)
    return modal


async def test_the_new_symptoms_are_listed_in_nurse_words_and_fit_80x24(
    make_app: AppFactory,
) -> None:
    built = make_app()
    async with built.app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        modal = await open_dialog(pilot)
        checklist: SelectionList[str] = modal.query_one("#symptom-list", SelectionList)
        values = [checklist.get_option_at_index(i).value for i in range(checklist.option_count)]
        assert [Symptom(v) for v in values] == list(Symptom)
        for symptom in NEW:
            assert symptom.value in values
        box = modal.query_one("#symptoms-modal").region
        assert box.right <= 80
        assert box.bottom <= 24
        text = screen_text(pilot)
        assert "Other symptom: how bad?" in text
        for words in GRADE_WORDS.values():
            assert words in text
        assert all(len(line) <= 80 for line in text.splitlines())
        # Scrolling down the list shows the new ids in their nurse words, ticked as [ ].
        checklist.focus()
        checklist.highlighted = checklist.option_count - 1
        await pilot.pause()
        assert f"[ ] {SYMPTOM_LABELS[Symptom.PHOTOPHOBIA]}" in screen_text(pilot)


async def test_a_listed_thrombosis_sign_stops_with_no_override(make_app: AppFactory) -> None:
    built = make_app()
    async with built.app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        await record_symptoms(pilot, ["unilateral_weakness", "speech_difficulty"])
        prompt = decision(built.app).prompt
        assert prompt is not None
        assert prompt.kind is PromptKind.REACTION
        assert prompt.recommendation is not None
        assert "BW-THROMBOSIS" in prompt.recommendation.rule_ids
        assert not prompt.override


async def test_free_text_with_its_grade_is_recorded_and_decided(make_app: AppFactory) -> None:
    built = make_app()
    async with built.app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        modal = await open_dialog(pilot)
        modal.query_one("#other", Input).value = "dark red urine"
        modal.query_one("#other-severity", SelectionList).select("moderate")
        await pilot.press("f2")
        await wait_for(pilot, lambda: not isinstance(pilot.app.screen, SymptomsModal), "close")
        await settle(pilot)
        events = log_events(built.log_path)
        recorded = [e for e in events if isinstance(e, SymptomsEntered)]
        assert recorded[-1].other == "dark red urine"
        assert recorded[-1].other_severity is Severity.MODERATE
        # the assessment of that answer, as logged (a later quiet decision, a tick, may have
        # replaced the app's latest decision by the time the test looks)
        after = [e for e in events[events.index(recorded[-1]) :] if isinstance(e, AssessmentMade)]
        assert after, "no assessment after the symptoms"
        rec = after[0].recommendation
        assert rec.action is Action.STOP
        assert "SYM-OTHER-MODERATE" in rec.rule_ids


async def test_free_text_without_a_grade_is_held_and_asked_not_paused(
    make_app: AppFactory,
) -> None:
    built = make_app()
    async with built.app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        await record_symptoms(pilot, other="new left arm weakness and slurred speech")
        events = log_events(built.log_path)
        answered = [e for e in events if isinstance(e, SymptomsEntered)][-1]
        # the assessment of that answer, as logged (the app's latest decision may already be a
        # later quiet one, a tick, in a loaded run)
        after = [e for e in events[events.index(answered) :] if isinstance(e, AssessmentMade)]
        assert after, "no assessment after the symptoms"
        rec = after[0].recommendation
        assert rec.action is Action.HOLD
        assert rec.rule_ids == ("SYM-OTHER-UNGRADED",)
        assert decision(built.app).rate_ml_per_h > 0
        text = screen_text(pilot)
        assert "Choose its severity" in text
        modal = await open_dialog(pilot)  # pre-filled: the text as typed, no grade yet
        assert modal.query_one("#other", Input).value.startswith("new left arm weakness")
        assert not modal.query_one("#other-severity", SelectionList).selected


async def test_two_grades_are_refused_in_one_line_and_nothing_is_lost(
    make_app: AppFactory,
) -> None:
    built = make_app()
    async with built.app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        before = len(log_events(built.log_path))
        modal = await open_dialog(pilot)
        modal.query_one("#other", Input).value = "tingling lips"
        grades: SelectionList[str] = modal.query_one("#other-severity", SelectionList)
        grades.select("mild")
        grades.select("severe")
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(pilot.app.screen, SymptomsModal)  # still open, text kept
        refusal = static_text(modal, "#symptoms-refusal")
        assert refusal == (
            "✗ Not recorded: other symptom, how bad: tick one only (ticked: mild, severe)"
        )
        assert len(refusal) <= 78
        assert modal.query_one("#other", Input).value == "tingling lips"
        assert len(log_events(built.log_path)) == before
