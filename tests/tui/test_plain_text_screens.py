"""Meaning never by colour alone, at 80x24 (issue 12, item 3).

Each test reads the screen as plain text, the way a monochrome terminal, a screen reader or a
screenshot printed in grey shows it (`screen_text`: the rendered characters, no colour), and
checks that what matters can be read there: ticked and unticked boxes, unavailable keys,
placeholders, every error message whole, the newest events, the first-infusion line.
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, Select, SelectionList

from tests.support.app import NORMAL_VITALS, AppFactory
from tests.tui.harness import (
    advance,
    fill_vitals,
    finish_preinfusion,
    on_screen,
    open_session,
    prompt_kind,
    quick_start,
    record_vitals,
    screen_text,
    the_app,
    wait_for,
)
from titrator.cli.app import DEMO_PATIENT
from titrator.domain.decisions import PromptKind
from titrator.domain.events import VitalsEntered
from titrator.tui.dialogs.symptoms import SymptomsModal
from titrator.tui.dialogs.vitals import VitalsModal
from titrator.tui.screens.checklist import ChecklistRow, ChecklistScreen
from titrator.tui.screens.preview import PlanPreviewScreen
from titrator.tui.screens.run import RunScreen
from titrator.tui.screens.setup import SetupScreen

SIZE = (80, 24)


def flat(pilot: Pilot[Any]) -> str:
    """The screen's text with every run of whitespace (line breaks too) made one space.

    A message wrapped over several lines reads as one line again, so a test can look for it
    whole; a message cut at the edge of its box cannot be found.
    """
    return " ".join(screen_text(pilot).split())


def dialog_text(pilot: Pilot[Any]) -> str:
    """`flat`, but of the rows inside a dialog's frame (its border characters left out)."""
    inner = []
    for row in screen_text(pilot).splitlines():
        if row.count("█") >= 2:
            inner.append(row[row.index("█") + 1 : row.rindex("█")])
    return " ".join(" ".join(inner).split())


def row_of(pilot: Pilot[Any], label: str) -> str:
    """The screen row that starts with the form label `label`."""
    rows = [row for row in screen_text(pilot).splitlines() if row.strip().startswith(label)]
    assert rows, f"no row for {label!r} on screen:\n{screen_text(pilot)}"
    return rows[0]


def row_with(pilot: Pilot[Any], label: str) -> str:
    """The screen row that shows the form label `label` (a row can carry two fields)."""
    rows = [row for row in screen_text(pilot).splitlines() if f" {label} " in row]
    assert rows, f"no row with {label!r} on screen:\n{screen_text(pilot)}"
    return rows[0]


def displayed(widget: Widget) -> bool:
    """The widget and every container around it are displayed (it may be scrolled away)."""
    return all(node.display for node in widget.ancestors_with_self if isinstance(node, Widget))


def footer(pilot: Pilot[Any]) -> str:
    """The bottom row: the footer's keys."""
    return screen_text(pilot).splitlines()[-1]


# -- tick boxes -----------------------------------------------------------------------------------


async def test_risk_factor_boxes_read_x_when_ticked_and_blank_when_not(
    make_app: AppFactory,
) -> None:
    async with make_app().app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        risks: SelectionList[Any] = pilot.app.screen.query_one("#risk_factors", SelectionList)
        risks.select(risks.get_option_at_index(0).value)
        risks.scroll_visible()
        await pilot.pause()
        risks.focus()
        await pilot.pause()
        assert "[x] pre-existing renal insufficiency" in screen_text(pilot)
        assert "[ ] diabetes mellitus" in screen_text(pilot)


async def test_symptom_boxes_read_x_when_ticked_and_blank_when_not(make_app: AppFactory) -> None:
    async with make_app().app.run_test(size=SIZE) as pilot:
        await open_session(pilot)
        await pilot.press("s")
        await on_screen(pilot, SymptomsModal)
        await pilot.press("space")  # ticks the highlighted first symptom
        await pilot.pause()
        text = screen_text(pilot)
        assert "[x] headache" in text
        assert "[ ] flushing" in text


async def test_checklist_marks_read_done_not_done_and_open(make_app: AppFactory) -> None:
    async with make_app().app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        await pilot.press("f2")
        await on_screen(pilot, ChecklistScreen)
        await pilot.press("y", "n")
        await pilot.pause()
        text = screen_text(pilot)
        assert "[x] done" in row_of(pilot, "[x]")
        assert "Order matches product" in row_of(pilot, "[x]")
        assert "Two patient identifiers" in row_of(pilot, "[-] not done")
        assert text.count("[ ] to check") == len(pilot.app.screen.query(ChecklistRow)) - 2


# -- keys and placeholders ------------------------------------------------------------------------


async def test_unavailable_footer_keys_are_marked_in_text(make_app: AppFactory) -> None:
    async with make_app().app.run_test(size=SIZE) as pilot:
        await open_session(pilot)  # baseline vitals not taken: nothing to accept or override
        await pilot.pause()
        keys = footer(pilot)
        assert "a ✗Accept" in keys
        assert "o ✗Override" in keys
        assert "p ✗Pause" in keys
        assert "v Vitals" in keys
        assert "s Symptoms" in keys
        assert "F9 STOP" in keys  # a session is open: there is something to stop


async def test_placeholders_cannot_pass_for_typed_values(make_app: AppFactory) -> None:
    async with make_app(setup={}).app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        await pilot.pause()
        screen = pilot.app.screen
        # The dose fields of the ways not chosen are hidden (not displayed, not handed over).
        hinted = [box for box in screen.query(Input) if box.placeholder and displayed(box)]
        assert len(hinted) >= 6
        for box in hinted:
            label = screen._labels[box.id or ""]  # type: ignore[attr-defined]
            box.scroll_visible(animate=False)  # the form scrolls at 80x24
            await pilot.pause()
            empty = row_with(pilot, label)
            words = str(box.placeholder).strip("‹›")
            box.value = words  # a nurse who types exactly the hint's words
            await pilot.pause()
            typed = row_with(pilot, label)
            box.value = ""
            await pilot.pause()
            assert empty != typed, f"{label}: the hint reads like the typed text {words!r}"
        for select in screen.query(Select):
            if select.is_blank() and displayed(select):
                label = screen._labels[select.id or ""]  # type: ignore[attr-defined]
                select.scroll_visible(animate=False)
                await pilot.pause()
                assert "‹choose›" in row_with(pilot, label)


# -- every error message whole --------------------------------------------------------------------


async def test_a_vitals_error_is_shown_whole_with_its_fahrenheit_hint(
    make_app: AppFactory,
) -> None:
    async with make_app().app.run_test(size=SIZE) as pilot:
        await open_session(pilot)
        await fill_vitals(pilot, {"temp_c": "98.6"})
        text = dialog_text(pilot)
        assert "outside the plausible range 30 to 44 °C; this looks like degrees" in text
        assert "Fahrenheit: enter degrees Celsius" in text


async def test_a_refused_vitals_set_names_each_field_in_words(make_app: AppFactory) -> None:
    async with make_app().app.run_test(size=SIZE) as pilot:
        await open_session(pilot)
        await fill_vitals(pilot, {**NORMAL_VITALS, "hr_bpm": "", "spo2_pct": "101"})
        await pilot.press("f2")
        modal = pilot.app.screen
        assert isinstance(modal, VitalsModal)
        await wait_for(pilot, lambda: "Not recorded" in screen_text(pilot), "the refusal")
        text = dialog_text(pilot)
        assert "✗ a number is required" in text  # the empty heart rate, at its field
        assert "✗ SpO2 cannot be above 100 %" in text
        assert "Not recorded: 2 fields marked ✗ above." in text
        assert "hr_bpm" not in text
        assert "spo2_pct" not in text


async def test_the_checklist_names_every_open_item_and_why(make_app: AppFactory) -> None:
    async with make_app().app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        await pilot.press("f2")
        await on_screen(pilot, ChecklistScreen)
        await pilot.press("y", "n", "f2")
        await pilot.pause()
        problems = flat(pilot).split("Please complete", 1)[1]
        assert problems.startswith(" (7 items):")
        assert "Two patient identifiers checked: must be confirmed before any infusion" in problems
        for row in list(pilot.app.screen.query(ChecklistRow))[2:]:
            assert row.item.label in problems
        assert problems.split(" y Confirm item")[0].endswith("not answered")


async def test_setup_lists_every_problem_it_counts_and_forgets_fixed_ones(
    make_app: AppFactory,
) -> None:
    async with make_app(setup={}).app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        await pilot.press("f2")
        await pilot.pause()
        problems = flat(pilot).split("Please correct", 1)[1]
        labels = ["Nurse ID", "Patient ID 1", "Patient ID 2", "Weight (kg)", "Dose (g/kg)"]
        labels += ["Lot number", "Product", "Last product"]
        assert problems.startswith(f" ({len(labels)} fields):")
        for label in labels:
            assert f"{label}" in problems.split(" f2 Next")[0], label

        screen = pilot.app.screen
        screen.query_one("#nurse_id", Input).value = "N1"
        screen.query_one("#weight_kg", Input).value = "70"
        await pilot.pause()
        problems = flat(pilot).split("Please correct", 1)[1].split(" f2 Next")[0]
        assert problems.startswith(f" ({len(labels) - 2} fields):")
        assert "Nurse ID" not in problems
        assert "Weight (kg)" not in problems
        assert "Dose (g/kg)" in problems


async def test_a_fixed_weight_leaves_the_problem_list(make_app: AppFactory) -> None:
    setup = {**DEMO_PATIENT, "weight_kg": "70 kg"}
    async with make_app(setup=setup).app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        screen = pilot.app.screen
        await pilot.press("f2")
        await pilot.pause()
        assert "Weight (kg)" in flat(pilot).split("Please correct", 1)[-1]
        screen.query_one("#weight_kg", Input).value = "70"
        await pilot.pause()
        assert "Please correct" not in flat(pilot)


# -- what stays in view ---------------------------------------------------------------------------


async def test_the_newest_events_stay_visible_when_the_next_panel_grows(
    make_app: AppFactory,
) -> None:
    built = make_app()
    async with built.app.run_test(size=SIZE) as pilot:
        await quick_start(pilot)
        app = the_app(pilot)
        for _ in range(12):  # more events than the log has room for
            assert app.submit(VitalsEntered(at=app.now(), raw=dict(NORMAL_VITALS))) is None
        await advance(pilot, built, minutes=15)
        await record_vitals(pilot)
        await advance(pilot, built, minutes=5)
        await record_vitals(pilot)  # the newest event; NEXT is one line ("Infusing")
        await pilot.pause()
        assert "NEXT ▶ Infusing" in screen_text(pilot)
        newest = [row for row in screen_text(pilot).splitlines() if row.startswith(" 09:")][-1]
        assert "09:20:00 vitals recorded" in newest
        # The dwell ends on a tick: the step-up prompt fills four lines; no event is written.
        await advance(pilot, built, minutes=10)
        await pilot.pause()
        assert prompt_kind(app) is PromptKind.STEP_UP
        assert "Keys: a = accept" in screen_text(pilot)
        rows = screen_text(pilot).splitlines()
        shown = [row for row in rows if row.startswith(" 09:")]
        assert shown[-1] == newest, "\n".join(rows)


async def test_the_first_infusion_line_is_on_the_setup_screen_without_scrolling(
    make_app: AppFactory,
) -> None:
    async with make_app().app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        await pilot.pause()
        assert "First infusion: YES, because treatment-naive" in screen_text(pilot)
        await pilot.press("f2")
        await on_screen(pilot, ChecklistScreen)
        await pilot.press(*"yyyyyyyy", "f2")
        await finish_preinfusion(pilot)
        await pilot.pause()
        assert "First infusion: YES, because treatment-naive" in screen_text(pilot)
        assert isinstance(pilot.app.screen, PlanPreviewScreen)
        assert not isinstance(pilot.app.screen, RunScreen)
