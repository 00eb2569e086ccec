"""What was typed just before F2 is what is recorded, whole, in every dialog.

F2 is a priority binding: the app handles it as soon as it reads the key, while the keys typed
just before it may still wait in the queue of the field they were sent to (a fast nurse, a
barcode scanner, or keys queued while the app was busy). Each test queues its keys and the F2
in one burst, before any is handled. Before the dialogs waited for those keys, a lot number or
a pause reason typed this way was refused as empty and the manual pump's read-back as "not a
number", and when some keys had reached the field, what was recorded was cut short (a rate of 2
for 21).
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Select

from tests.support.app import AppFactory
from tests.tui.harness import (
    burst,
    log_events,
    on_screen,
    queue_keys,
    quick_start,
    settle,
    the_app,
    wait_for,
)
from tests.tui.test_manual_truth import manual_records, start_offered
from titrator.audit.reader import read_records
from titrator.domain.events import SymptomsEntered
from titrator.tui.dialogs.lot import LotModal
from titrator.tui.dialogs.manual_pump import ManualPumpModal
from titrator.tui.dialogs.medication import MedicationModal
from titrator.tui.dialogs.rate_confirm import RateConfirmModal
from titrator.tui.dialogs.reasons import OverrideModal, ReasonModal


async def closed(pilot: Pilot[Any], dialog: Screen[Any]) -> None:
    await wait_for(pilot, lambda: pilot.app.screen is not dialog, "the dialog to close")
    await settle(pilot)


async def test_a_lot_number_typed_then_f2_is_recorded_whole(make_app: AppFactory) -> None:
    built = make_app()
    async with built.app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        await pilot.press("l")
        await on_screen(pilot, LotModal)
        burst(pilot, "LOT-98765")
        queue_keys(pilot, "f2")
        await closed(pilot, pilot.app.screen)
    lots = [e for e in log_events(built.log_path) if e.kind == "lot_recorded"]
    assert getattr(lots[-1], "lot", None) == "LOT-98765"


async def test_a_pause_reason_typed_then_f2_is_recorded_whole(make_app: AppFactory) -> None:
    built = make_app()
    async with built.app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        await pilot.press("p")
        await on_screen(pilot, ReasonModal)
        burst(pilot, "line check")
        queue_keys(pilot, "f2")
        await closed(pilot, pilot.app.screen)
    pauses = [e for e in log_events(built.log_path) if e.kind == "pause_requested"]
    assert [getattr(e, "reason", None) for e in pauses] == ["line check"]


async def test_an_override_note_typed_then_f2_is_recorded_whole(make_app: AppFactory) -> None:
    built = make_app()
    async with built.app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        app = the_app(pilot)
        assert app.submit(SymptomsEntered(at=app.now(), symptoms=("headache",))) is None
        await pilot.press("o")
        await on_screen(pilot, OverrideModal)
        modal = app.screen
        modal.query_one("#reason", Select).value = "other"
        modal.query_one("#note", Input).focus()
        await pilot.pause()
        burst(pilot, "headache was there before")
        queue_keys(pilot, "f2")
        await closed(pilot, modal)
    decided = [e for e in log_events(built.log_path) if e.kind == "nurse_decided"]
    assert getattr(decided[-1], "note", None) == "headache was there before"


async def test_the_manual_pump_read_back_typed_then_f2_is_the_rate_typed(
    make_app: AppFactory,
) -> None:
    built = make_app(pump="manual")
    async with built.app.run_test(size=(80, 24)) as pilot:
        await start_offered(pilot)
        await pilot.press("a")
        await on_screen(pilot, RateConfirmModal)
        await pilot.press("enter", "c")
        await on_screen(pilot, ManualPumpModal)
        program = pilot.app.screen
        burst(pilot, "21")
        queue_keys(pilot, "f2")
        # Answered: the next instruction (start the pump) waits for the nurse.
        await wait_for(
            pilot,
            lambda: (
                isinstance(pilot.app.screen, ManualPumpModal) and pilot.app.screen is not program
            ),
            "the next instruction",
        )
    answers = [(r["action"], r["typed_rate"]) for r in manual_records(built)]
    assert answers == [("set_rate", "21")]


async def test_who_gave_a_medicine_typed_then_f2_is_recorded_whole(make_app: AppFactory) -> None:
    built = make_app()
    async with built.app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        await pilot.press("f9")
        await settle(pilot)
        await pilot.press("m")
        await on_screen(pilot, MedicationModal)
        modal = pilot.app.screen
        for name, value in {"drug": "paracetamol", "dose": "1", "unit": "g", "route": "PO"}.items():
            modal.query_one(f"#med-{name}", Input).value = value
        modal.query_one("#med-given_by").focus()
        await pilot.pause()
        burst(pilot, "RN Okafor")
        queue_keys(pilot, "f2")
        await closed(pilot, modal)
        assert the_app(pilot).screen is not modal
    given = [r.payload for r in read_records(built.log_path) if r.kind == "medication_given"]
    assert [p.get("given_by") for p in given] == ["RN Okafor"]
