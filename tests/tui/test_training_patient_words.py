"""Training: what the patient says and what the monitor shows, on the run screen, in words.

A nurse reads "Monitor: temperature 38.4 °C, heart rate 104/min", never the simulator's field
names (`temp_c`, `hr_bpm`); the patient's words stay on the run screen while they last, not only
in a notice that fades.
"""

from __future__ import annotations

from simulator.scenario import VITAL_FIELDS
from tests.support.app import AppFactory
from tests.tui.harness import advance_clock, on_screen, quick_start, screen_text, settle
from tests.tui.test_training_hooks import FakeTraining, dismiss_briefing
from titrator.tui.dialogs.vitals import VitalsModal
from titrator.tui.screens.run import RunScreen
from titrator.tui.training_cues import monitor_words, patient_words

_FULL = {
    "temp_c": "38.4",
    "hr_bpm": "112",
    "sbp_mmhg": "128",
    "dbp_mmhg": "80",
    "rr_bpm": "15",
    "spo2_pct": "98",
}


class QuietThenComplaining(FakeTraining):
    """A full monitor; the patient says nothing until 20 minutes in."""

    def monitor(self) -> dict[str, str]:
        return dict(_FULL)

    def complaints(self) -> list[str]:
        started = self.start_ms is not None and self.now_ms - self.start_ms >= 20 * 60_000
        return ["I have a headache."] if started else []


def test_the_monitor_reads_in_words() -> None:
    text = monitor_words(_FULL)
    assert text == (
        "Monitor: temperature 38.4 °C, heart rate 112/min, blood pressure 128/80 mmHg, "
        "breathing 15/min, SpO2 98 %"
    )
    for field in VITAL_FIELDS:
        assert field not in text


def test_every_monitor_field_has_words() -> None:
    for field in VITAL_FIELDS:
        assert field not in monitor_words({field: "1"}), field


def test_the_patients_words_are_quoted_or_say_nothing() -> None:
    assert patient_words(["I have a headache.", "My face is hot."]) == (
        "Patient says: I have a headache. My face is hot."
    )
    assert patient_words([]) == "Patient says nothing (no complaint)."


async def test_the_run_screen_shows_the_patient_and_the_monitor_in_words(
    make_app: AppFactory,
) -> None:
    built = make_app()
    fake = QuietThenComplaining()
    built.services.training_hooks = fake
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await dismiss_briefing(pilot)
        await quick_start(pilot)
        await on_screen(pilot, RunScreen)
        app.tick()
        await settle(pilot)
        shown = screen_text(pilot)
        assert "Patient says nothing" in shown
        assert "Monitor: temperature 38.4 °C, heart rate 112/min" in shown
        assert "temp_c" not in shown
        assert "hr_bpm" not in shown
        await advance_clock(pilot, minutes=21)
        app.tick()
        await settle(pilot)
        shown = screen_text(pilot)
        assert "Patient says: I have a headache." in shown
        # The vitals dialog shows the same words above the form (which stays empty).
        await pilot.press("v")
        await on_screen(pilot, VitalsModal)
        shown = screen_text(pilot)
        assert "temperature 38.4 °C" in shown
        assert "temp_c" not in shown
        assert "spo2_pct" not in shown
        await pilot.press("escape")


async def test_outside_training_there_is_no_patient_line(make_app: AppFactory) -> None:
    built = make_app()
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        await on_screen(pilot, RunScreen)
        assert "Patient says" not in screen_text(pilot)
        assert "Monitor:" not in screen_text(pilot)
