"""The setup and pre-infusion forms at 80x24, keyboard only (issue 14: the new capabilities in the
app, a bedside usability finding).

The common case (the first infusion of a PI patient, dose in g/kg) shows every field and the
Next button without scrolling; the dose is given one way at a time ("Dose as": g/kg, grams or a
course), only that way's fields are shown, checked and handed over; when the form does not fit,
a line says so in words and the focused field is always in view.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Button, Input, Select, SelectionList, Static

from tests.support.app import AppFactory
from tests.tui.harness import (
    finish_setup,
    on_screen,
    screen_text,
    settle,
    static_text,
    the_app,
    wait_for,
)
from titrator.cli.app import DEMO_PATIENT
from titrator.tui.forms import FormScroll
from titrator.tui.screens.checklist import ChecklistScreen
from titrator.tui.screens.preinfusion import PreInfusionScreen
from titrator.tui.screens.setup import DOSE_WAYS, SetupScreen

SIZE = (80, 24)
SCREEN = Region(0, 0, *SIZE)
ALL_DOSE_FIELDS = {field for fields in DOSE_WAYS.values() for field in fields}


def displayed(widget: Widget) -> bool:
    """The widget and every container around it are displayed (it may be scrolled away)."""
    return all(node.display for node in widget.ancestors_with_self if isinstance(node, Widget))


def fields_shown(pilot: Pilot[Any]) -> list[Widget]:
    """Every field of the form that is displayed (text boxes, choice lists, tick lists)."""
    screen = pilot.app.screen
    widgets = [*screen.query(Input), *screen.query(Select), *screen.query(SelectionList)]
    return [widget for widget in widgets if displayed(widget)]


def assert_in_view(widget: Widget, form: Widget) -> None:
    """The whole widget is drawn inside the form's window and inside the terminal."""
    assert widget.region.area > 0, f"{widget.id} is not drawn"
    assert widget.region.height == widget.outer_size.height, f"{widget.id} is cut off"
    assert form.region.contains_region(widget.region), f"{widget.id} is outside the form"
    assert SCREEN.contains_region(widget.region), f"{widget.id} is off the screen"


def dose_shown(pilot: Pilot[Any]) -> set[str]:
    """The dose fields that are displayed."""
    return {
        field for field in ALL_DOSE_FIELDS if displayed(pilot.app.screen.query_one(f"#{field}"))
    }


# -- fitting 80x24 --------------------------------------------------------------------------------


async def test_the_common_case_shows_every_field_and_next_without_scrolling(
    make_app: AppFactory,
) -> None:
    async with make_app(setup=DEMO_PATIENT).app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        await settle(pilot)
        screen = pilot.app.screen
        form = screen.query_one("#setup-form", FormScroll)
        assert form.max_scroll_y == 0, "the form scrolls at 80x24"
        shown = fields_shown(pilot)
        ids = {widget.id for widget in shown}
        needed = {"nurse_id", "patient_id_1", "patient_id_2", "weight_kg", "product_id"}
        needed |= {"indication_id", "dose_as", "dose_g_per_kg", "lot", "last_infusion"}
        needed |= {"last_product_id", "risk_factors", "order_id", "date_of_birth"}
        needed |= {"height_cm", "sex", "weight_basis", "round_to_vials", "outside_label_reason"}
        assert needed <= ids, needed - ids
        for widget in shown:
            assert_in_view(widget, form)
        button = screen.query_one("#form-next", Button)
        assert SCREEN.contains_region(button.region)
        assert button.region.area > 0
        assert "Next: checklist (F2)" in screen_text(pilot)
        assert not screen.query_one("#setup-more", Static).display  # nothing below: no line
        assert "More below" not in screen_text(pilot)
        assert all(len(line) <= SIZE[0] for line in screen_text(pilot).splitlines())


async def test_the_pre_infusion_form_shows_every_field_and_next_without_scrolling(
    make_app: AppFactory,
) -> None:
    async with make_app().app.run_test(size=SIZE) as pilot:
        await finish_setup(pilot)
        await pilot.press(*["y"] * 8, "f2")
        await on_screen(pilot, PreInfusionScreen)
        await settle(pilot)
        await pilot.press("f2")  # nothing typed: the problem list takes rows from the form
        await settle(pilot)
        screen = pilot.app.screen
        form = screen.query_one("#preinfusion-form", FormScroll)
        assert form.max_scroll_y == 0
        shown = fields_shown(pilot)
        assert len(shown) == 3 + 5 * 3 + 2  # expiry, IgA, history; 3 premedications; hydration
        for widget in shown:
            assert_in_view(widget, form)
        button = screen.query_one("#form-next", Button)
        assert SCREEN.contains_region(button.region)
        assert button.region.area > 0
        assert "Please correct (2 fields)" in screen_text(pilot)


async def test_the_next_button_does_what_f2_does(make_app: AppFactory) -> None:
    async with make_app().app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        screen = pilot.app.screen
        screen.query_one("#form-next", Button).focus()
        await pilot.press("enter")
        await on_screen(pilot, ChecklistScreen)


# -- one way to give the dose ---------------------------------------------------------------------


async def test_f3_and_the_dose_as_list_show_only_the_chosen_way(make_app: AppFactory) -> None:
    async with make_app().app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        screen = pilot.app.screen
        choice = screen.query_one("#dose_as", Select)
        assert choice.value == "g/kg"
        assert dose_shown(pilot) == {"dose_g_per_kg"}
        assert "Dose (g/kg)" in screen_text(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert choice.value == "grams"
        assert dose_shown(pilot) == {"dose_g"}
        assert screen.focused is screen.query_one("#dose_g")
        assert "Dose (g) " in screen_text(pilot)
        assert "Dose (g/kg)" not in screen_text(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert dose_shown(pilot) == {"course_g_per_kg", "course_days", "course_day"}
        text = screen_text(pilot)
        assert "Course (g/kg)" in text
        assert "Course days" in text
        assert "Day of course" in text
        # The list itself, with the keys: Enter opens it on "course", Up twice is g/kg.
        choice.focus()
        await pilot.press("enter", "up", "up", "enter")
        await settle(pilot)
        assert choice.value == "g/kg"
        assert dose_shown(pilot) == {"dose_g_per_kg"}
        # Tab from the choice goes to the chosen way's field (hidden fields take no focus).
        await pilot.press("tab")
        assert screen.focused is screen.query_one("#dose_g_per_kg")


async def test_switching_keeps_what_was_typed_and_submits_only_the_chosen_way(
    make_app: AppFactory,
) -> None:
    built = make_app()  # the demo patient: 0.4 g/kg at 70 kg
    async with built.app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        screen = pilot.app.screen
        await pilot.press("f3")  # grams; the focus is on the grams field
        await pilot.press(*"35")
        await settle(pilot)
        assert screen.query_one("#dose_g_per_kg", Input).value == "0.4"  # kept, not shown
        await pilot.press("f2")
        await on_screen(pilot, ChecklistScreen)
        app = the_app(pilot)
        assert app.plan is not None
        assert app.setup is not None
        assert app.plan.total_dose_g == Decimal(35)
        request = app.setup.plan_request
        assert (request.dose_g, request.dose_g_per_kg) == (Decimal(35), None)
        assert app.setup.raw["dose_g"] == "35"
        assert not (ALL_DOSE_FIELDS - {"dose_g"}) & set(app.setup.raw)  # the hidden text: unsent
        assert "dose_as" not in app.setup.raw


async def test_back_from_the_pre_infusion_step_the_setup_shows_the_way_chosen(
    make_app: AppFactory,
) -> None:
    # The setup is reopened from what was handed over (`setup.raw`): the grams way only.
    built = make_app(setup={**DEMO_PATIENT, "dose_g_per_kg": "", "dose_g": "30"})
    async with built.app.run_test(size=SIZE) as pilot:
        await finish_setup(pilot)
        await pilot.press(*["y"] * 8, "f2")
        await on_screen(pilot, PreInfusionScreen)
        await pilot.press("escape")
        await on_screen(pilot, SetupScreen)
        await settle(pilot)
        screen = pilot.app.screen
        assert screen.query_one("#dose_as", Select).value == "grams"
        assert dose_shown(pilot) == {"dose_g"}
        assert screen.query_one("#dose_g", Input).value == "30"


async def test_hidden_fields_are_not_checked_nor_planned(make_app: AppFactory) -> None:
    # Pre-filled text in the fields of two other ways: with g/kg chosen they are not shown, not
    # checked (a course day without a course total would be refused) and not handed on.
    setup = {**DEMO_PATIENT, "dose_g": "not a number", "course_days": "5", "course_day": "9"}
    built = make_app(setup=setup)
    async with built.app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        assert dose_shown(pilot) == {"dose_g_per_kg"}
        await finish_setup(pilot)
        app = the_app(pilot)
        assert app.plan is not None
        assert app.setup is not None
        assert app.plan.total_dose_g == Decimal(28)  # 0.4 g/kg x 70 kg
        assert app.setup.plan_request.course is None
        assert not {"dose_g", "course_days", "course_day"} & set(app.setup.raw)


async def test_a_course_typed_with_the_keys_reaches_the_plan(make_app: AppFactory) -> None:
    built = make_app(setup={**DEMO_PATIENT, "indication_id": "cidp"})
    async with built.app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        await pilot.press("f3", "f3")  # course; the focus is on its total
        await pilot.press("2", "tab", "5", "tab", "2")
        await settle(pilot)
        screen = pilot.app.screen
        assert screen.focused is screen.query_one("#course_day")
        await pilot.press("f2")
        await on_screen(pilot, ChecklistScreen)
        plan = the_app(pilot).plan
        assert plan is not None
        assert plan.course is not None
        assert (plan.course.day, plan.course.days) == (2, 5)


async def test_a_bad_dose_of_the_chosen_way_is_named_with_the_text_as_typed(
    make_app: AppFactory,
) -> None:
    built = make_app(setup={**DEMO_PATIENT, "dose_g_per_kg": "", "dose_g": "3O"})
    async with built.app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        screen = pilot.app.screen
        assert screen.query_one("#dose_as", Select).value == "grams"  # from what is filled in
        await pilot.press("f2")
        await settle(pilot)
        problems = static_text(screen, "#problems")
        assert "✗ Dose (g): " in problems
        assert "(typed '3O')" in problems
        assert screen.query_one("#dose_g").has_class("-invalid")
        assert screen.focused is screen.query_one("#dose_g")
        # Switching to g/kg re-checks: the g/kg field is now the one missing.
        await pilot.press("f3", "f3")
        await settle(pilot)
        problems = static_text(screen, "#problems")
        assert "Dose (g):" not in problems
        assert "✗ Dose (g/kg): required" in problems


# -- when it does not fit -------------------------------------------------------------------------


async def test_more_below_is_said_in_words_and_the_focused_field_stays_in_view(
    make_app: AppFactory,
) -> None:
    # An empty form refused: the problem list takes most of the screen, the form scrolls.
    async with make_app(setup={}).app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        screen = pilot.app.screen
        form = screen.query_one("#setup-form", FormScroll)
        more = screen.query_one("#setup-more", Static)
        await pilot.press("f2")
        await settle(pilot)
        assert form.max_scroll_y > 0
        await wait_for(pilot, lambda: "More below" in screen_text(pilot), "the more line")
        seen: list[str] = []
        for _ in range(len(fields_shown(pilot)) + 1):
            await settle(pilot)
            focused = screen.focused
            assert focused is not None
            if isinstance(focused, Button):
                break
            seen.append(focused.id or "")

            def in_view(widget: Widget = focused) -> bool:
                return form.region.contains_region(widget.region) and widget.region.area > 0

            await wait_for(pilot, in_view, f"{focused.id} in view")
            below = round(form.scroll_y) < form.max_scroll_y
            assert ("More below" in str(more.content)) == below, (focused.id, more.content)
            await pilot.press("tab")
        assert seen[0] == "nurse_id"
        assert seen[-1] == "risk_factors"
        assert "More above" in str(more.content)  # at the end of the form
