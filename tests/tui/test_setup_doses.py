"""The setup screen takes courses, grams and whole vials, an outside-label reason and an age."""

from __future__ import annotations

from decimal import Decimal

from tests.support.app import AppFactory
from tests.tui.harness import (
    finish_setup,
    log_events,
    on_screen,
    open_session,
    screen_text,
    settle,
    static_text,
    the_app,
)
from titrator.cli.app import DEMO_PATIENT
from titrator.domain.events import SessionOpened
from titrator.tui.screens.checklist import ChecklistScreen
from titrator.tui.screens.run import RunScreen
from titrator.tui.screens.setup import SetupScreen

COURSE = {
    **DEMO_PATIENT,
    "indication_id": "cidp",
    "dose_g_per_kg": "",
    "course_g_per_kg": "2",
    "course_days": "5",
    "course_day": "2",
}


async def test_day_2_of_a_course_shows_on_the_run_screen_and_in_the_log(
    make_app: AppFactory,
) -> None:
    built = make_app(setup=COURSE)
    async with built.app.run_test(size=(80, 24)) as pilot:
        await open_session(pilot)
        screen = the_app(pilot).screen
        assert isinstance(screen, RunScreen)
        volume = static_text(screen, "#volume")
        assert "Course day 2 of 5: 28 g today; 28 g of 140 g given before" in volume
        assert "Volume given 0 mL of 280 mL" in volume
    opened = [e for e in log_events(built.log_path) if isinstance(e, SessionOpened)]
    assert len(opened) == 1
    course = opened[0].plan.course
    assert course is not None
    assert (course.day, course.days, course.given_before_g) == (2, 5, Decimal(28))


async def problems_after_f2(pilot: object, setup: dict[str, str] | None = None) -> str:
    await on_screen(pilot, SetupScreen)  # type: ignore[arg-type]
    await pilot.press("f2")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]
    app = the_app(pilot)  # type: ignore[arg-type]
    assert isinstance(app.screen, SetupScreen)
    return static_text(app.screen, "#problems")


async def test_a_split_the_label_does_not_allow_is_named_on_the_course_days_field(
    make_app: AppFactory,
) -> None:
    built = make_app(setup={**COURSE, "course_days": "7", "course_day": "1"})
    async with built.app.run_test(size=(80, 24)) as pilot:
        text = await problems_after_f2(pilot)
        assert "Course days" in text
        assert "2 g/kg over 7 days is not a course the Privigen label allows" in text
        assert the_app(pilot).screen.query_one("#course_days").has_class("-invalid")


async def test_a_dose_above_the_label_range_needs_the_reason_field(
    make_app: AppFactory,
) -> None:
    setup = {**DEMO_PATIENT, "product_id": "gamunex-c", "dose_g_per_kg": "0.8"}
    built = make_app(setup=setup)
    async with built.app.run_test(size=(80, 24)) as pilot:
        text = await problems_after_f2(pilot)
        assert "above the label's usual range of 0.3 to 0.6 g/kg" in text
        assert "needs a reason" in text
    built = make_app(setup={**setup, "outside_label_reason": "trough below target"})
    async with built.app.run_test(size=(80, 24)) as pilot:
        await finish_setup(pilot)
        plan = the_app(pilot).plan
        assert plan is not None
        assert plan.outside_label is not None
        assert "trough below target" in plan.outside_label


async def test_grams_rounded_to_whole_vials_reach_the_plan(make_app: AppFactory) -> None:
    setup = {
        **DEMO_PATIENT,
        "product_id": "gamunex-c",
        "dose_g_per_kg": "",
        "dose_g": "27.3",
        "round_to_vials": "yes",
    }
    built = make_app(setup=setup)
    async with built.app.run_test(size=(80, 24)) as pilot:
        await finish_setup(pilot)
        plan = the_app(pilot).plan
        assert plan is not None
        assert plan.total_dose_g == Decimal("27.5")
        assert plan.rounding_pct == Decimal("0.7")


async def test_a_date_of_birth_under_the_label_age_is_refused_with_the_reason(
    make_app: AppFactory,
) -> None:
    setup = {**DEMO_PATIENT, "product_id": "asceniv", "date_of_birth": "2015-06-01"}
    built = make_app(setup=setup)
    async with built.app.run_test(size=(80, 24)) as pilot:
        await on_screen(pilot, SetupScreen)
        assert "Age: 11 years" in static_text(the_app(pilot).screen, "#derived")
        text = await problems_after_f2(pilot)
        assert "Date of birth" in text
        assert "11 years is outside the label's ages" in text
        assert "12 years and over" in text
    built = make_app(setup={**setup, "date_of_birth": "2010-06-01"})
    async with built.app.run_test(size=(80, 24)) as pilot:
        await finish_setup(pilot)
        assert isinstance(the_app(pilot).screen, ChecklistScreen)
        plan = the_app(pilot).plan
        assert plan is not None
        assert plan.age_text == "16 years (label: 12 years and over)"


async def test_no_date_of_birth_says_the_age_is_not_checked(make_app: AppFactory) -> None:
    built = make_app()
    async with built.app.run_test(size=(80, 24)) as pilot:
        await on_screen(pilot, SetupScreen)
        derived = static_text(the_app(pilot).screen, "#derived")
        assert "Age: not given (the label's age limits are not checked)" in derived
        assert all(len(line) <= 80 for line in screen_text(pilot).splitlines())
