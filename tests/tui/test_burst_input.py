"""Keys and input as they really arrive (issue 12, item 4).

A capital C confirms like a small one, and the key-bounce rule still holds for it. Input that
arrives in one burst lands in the fields it was meant for: a barcode scanner types its text and
a Tab faster than the app handles each key (the keys are queued before any is handled), and a
paste can carry several values separated by Tabs.
"""

from __future__ import annotations

import asyncio
from typing import Any

from textual import events
from textual.pilot import Pilot
from textual.widgets import Input

from tests.support.app import NORMAL_VITALS, AppFactory, KeyClock
from tests.tui.harness import (
    burst,
    decision,
    log_events,
    on_screen,
    open_session,
    open_symptoms,
    prompt_kind,
    queue_keys,
    quick_start,
    settle,
    the_app,
    wait_for,
)
from titrator.domain.decisions import PromptKind, SessionState
from titrator.domain.events import SymptomsEntered, VitalsEntered
from titrator.domain.vitals import Symptom
from titrator.tui.dialogs.rate_confirm import BOUNCE_S, RateConfirmModal
from titrator.tui.dialogs.symptoms import SymptomsModal
from titrator.tui.dialogs.vitals import VitalsModal
from titrator.tui.screens.checklist import ChecklistRow, ChecklistScreen
from titrator.tui.screens.run import RunScreen
from titrator.tui.screens.setup import SetupScreen
from titrator.tui.typed import when_typed


async def at_start_confirmation(pilot: Pilot[Any]) -> RateConfirmModal:
    """Baseline recorded, a pressed: the start's two-key confirmation on screen."""
    await open_session(pilot)
    app = the_app(pilot)
    assert app.submit(VitalsEntered(at=app.now(), raw=dict(NORMAL_VITALS))) is None
    assert app.submit(SymptomsEntered(at=app.now(), symptoms=())) is None
    assert prompt_kind(app) is PromptKind.START
    await pilot.press("a")
    await on_screen(pilot, RateConfirmModal)
    modal = app.screen
    assert isinstance(modal, RateConfirmModal)
    assert modal.change.needs_second_key
    return modal


# -- the confirm key ------------------------------------------------------------------------------


async def test_a_capital_c_confirms_a_start(make_app: AppFactory) -> None:
    built = make_app()
    async with built.app.run_test(size=(80, 24)) as pilot:
        modal = await at_start_confirmation(pilot)
        await pilot.press("enter")
        assert modal.armed
        await pilot.press("C")  # Caps Lock on, or Shift held
        await on_screen(pilot, RunScreen)
        await settle(pilot)
        assert decision(built.app).state is SessionState.RUNNING
    assert built.fake_pump.sent.count("RUN") == 1


async def test_a_bounced_capital_c_never_confirms(make_app: AppFactory) -> None:
    built = make_app()
    async with built.app.run_test(size=(80, 24)) as pilot:
        modal = await at_start_confirmation(pilot)
        clock: KeyClock = built.key_clock
        clock.step_s = BOUNCE_S / 5  # each key 10 ms after the one before: bounce
        await pilot.press("enter", "C", "C", "c")
        assert modal.armed  # the first key counts; the bounced ones do not
        assert isinstance(built.app.screen, RateConfirmModal)
        clock.step_s = BOUNCE_S * 0.98  # still inside the window
        await pilot.press("C")
        assert isinstance(built.app.screen, RateConfirmModal)
        clock.step_s = BOUNCE_S * 4  # a deliberate key
        await pilot.press("C")
        await on_screen(pilot, RunScreen)
        await settle(pilot)
        assert decision(built.app).state is SessionState.RUNNING


# -- bursts ---------------------------------------------------------------------------------------


async def test_a_scanner_burst_with_tabs_fills_the_setup_fields_in_order(
    make_app: AppFactory,
) -> None:
    async with make_app(setup={}).app.run_test(size=(80, 24)) as pilot:
        await on_screen(pilot, SetupScreen)
        screen = pilot.app.screen
        await wait_for(
            pilot, lambda: screen.focused is screen.query_one("#nurse_id"), "the first field"
        )
        # The setup reads nurse and order on its first row, then the two patient identifiers.
        burst(pilot, "RN42\tORD-7\tMRN-0042\t1980-01-31\t70")
        await wait_for(
            pilot,
            lambda: screen.query_one("#weight_kg", Input).value == "70",
            "the burst to be handled",
        )
        values = {
            field: screen.query_one(f"#{field}", Input).value
            for field in ("nurse_id", "order_id", "patient_id_1", "patient_id_2", "weight_kg")
        }
        assert values == {
            "nurse_id": "RN42",
            "order_id": "ORD-7",
            "patient_id_1": "MRN-0042",
            "patient_id_2": "1980-01-31",
            "weight_kg": "70",
        }


async def test_a_paste_with_tabs_fills_the_vitals_fields_in_order(make_app: AppFactory) -> None:
    async with make_app().app.run_test(size=(80, 24)) as pilot:
        await open_session(pilot)
        await pilot.press("v")
        await on_screen(pilot, VitalsModal)
        modal = pilot.app.screen
        assert isinstance(modal.focused, Input)
        modal.focused.post_message(events.Paste("36.8\t76\t122\t78\t16\t98"))
        await wait_for(
            pilot,
            lambda: modal.query_one("#spo2_pct", Input).value == "98",
            "the paste to be spread over the fields",
        )
        values = {box.id: box.value for box in modal.query(".vital-input").results(Input)}
        assert values == {
            "temp_c": "36.8",
            "hr_bpm": "76",
            "sbp_mmhg": "122",
            "dbp_mmhg": "78",
            "rr_bpm": "16",
            "spo2_pct": "98",
        }
        await pilot.press("f2")
        await wait_for(pilot, lambda: not isinstance(pilot.app.screen, VitalsModal), "record")
        assert decision(the_app(pilot)).refusal is None


async def test_a_paste_without_tabs_stays_in_its_field(make_app: AppFactory) -> None:
    async with make_app(setup={}).app.run_test(size=(80, 24)) as pilot:
        await on_screen(pilot, SetupScreen)
        screen = pilot.app.screen
        box = screen.query_one("#lot", Input)
        box.focus()
        await pilot.pause()
        box.post_message(events.Paste("A123-45 B"))
        await wait_for(pilot, lambda: box.value == "A123-45 B", "the paste")
        assert screen.focused is box


# -- tick lists ----------------------------------------------------------------------------------


async def test_ticks_typed_in_a_burst_are_the_symptoms_meant_and_all_are_recorded(
    make_app: AppFactory,
) -> None:
    # Space, Down, Space, Down, Down, Space, F2, all queued before any is handled (a fast nurse,
    # or keys waiting while the app was busy). Textual's own SelectionList toggled whatever was
    # highlighted when its message arrived: the second option twice, the first never, and the
    # last Space after F2 had read the list.
    built = make_app()
    async with built.app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        checklist = await open_symptoms(pilot)
        assert checklist.highlighted == 0
        queue_keys(pilot, "space", "down", "space", "down", "down", "space", "f2")
        await wait_for(pilot, lambda: not isinstance(pilot.app.screen, SymptomsModal), "close")
        await settle(pilot)
        entered = [e for e in log_events(built.log_path) if isinstance(e, SymptomsEntered)]
        order = [checklist.get_option_at_index(i).value for i in (0, 1, 3)]
        assert list(entered[-1].symptoms) == [s.value for s in Symptom if s.value in order]


async def test_a_click_ticks_the_option_clicked(make_app: AppFactory) -> None:
    built = make_app()
    async with built.app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        checklist = await open_symptoms(pilot)
        await pilot.click(checklist, offset=(6, 3))  # the third option's line
        await pilot.pause()
        assert list(checklist.selected) == [checklist.get_option_at_index(2).value]
        await pilot.click(checklist, offset=(6, 3))
        await pilot.pause()
        assert list(checklist.selected) == []


async def test_fields_typed_with_tabs_then_f2_are_all_in_the_setup_handed_on(
    make_app: AppFactory,
) -> None:
    # On a form F2 is not a priority key: it follows the keys typed before it through the
    # focused field's queue and up to the app. (Made a priority key, it was handled before the
    # burst reached the fields, and the setup was refused as incomplete.)
    built = make_app()
    async with built.app.run_test(size=(80, 24)) as pilot:
        await on_screen(pilot, SetupScreen)
        screen = pilot.app.screen
        for field in ("nurse_id", "order_id", "patient_id_1"):
            screen.query_one(f"#{field}", Input).value = ""
        screen.query_one("#nurse_id", Input).focus()
        await pilot.pause()
        burst(pilot, "RN42\tORD-7\tMRN-0042")
        queue_keys(pilot, "f2")
        app = the_app(pilot)
        await wait_for(pilot, lambda: app.setup is not None, "the setup to be handed on")
        assert app.setup is not None
        assert (app.setup.nurse_id, app.setup.order_id, app.setup.patient_id_1) == (
            "RN42",
            "ORD-7",
            "MRN-0042",
        )


def when_typed_done(pilot: Pilot[Any]) -> asyncio.Event:
    """An event set once every key queued so far has had its whole effect on the screen.

    Asked through the app's queue, behind the keys, as a priority key would be.
    """
    done = asyncio.Event()
    screen = pilot.app.screen
    pilot.app.call_later(when_typed, screen, done.set)
    return done


async def test_checklist_answers_typed_in_a_burst_land_on_their_items(
    make_app: AppFactory,
) -> None:
    # y y y, n, the reason, Enter, then y for each item left, and F2, all queued before any is
    # handled. The row's keys and the reason's Enter moved the focus only once their key had
    # gone up to the app, so the keys after them went to the item or box they were leaving:
    # the reason became "not neededyyyy" and the items after it stayed unanswered.
    async with make_app().app.run_test(size=(80, 24)) as pilot:
        await on_screen(pilot, SetupScreen)
        await pilot.press("f2")
        await on_screen(pilot, ChecklistScreen)
        screen = pilot.app.screen
        rows = list(screen.query(ChecklistRow))
        assert screen.focused is rows[0]
        left = len(rows) - 4
        burst(pilot, "yyyn" + "not needed")
        queue_keys(pilot, "enter")
        burst(pilot, "y" * left)
        done = when_typed_done(pilot)
        await wait_for(pilot, lambda: done.is_set(), "the burst to be handled")
        answers = [row.answer() for row in rows]
        assert [a.status.value if a else None for a in answers] == [
            "confirmed",
            "confirmed",
            "confirmed",
            "not_done",
            *["confirmed"] * left,
        ]
        assert answers[3] is not None
        assert answers[3].reason == "not needed"
