"""The setup form's rows without a container per part (issue 17: fewer widgets at start-up).

Each row's parts sit in the row itself (`FormScreen.cell`); their widths are worked out in
code. These tests check the arithmetic on the drawn screen at 80x24, whichever dose way is
shown: every second part of a row starts at the same column (`LEFT` after the row's start),
every label is drawn whole at its width, and a row's widgets never overlap or run past the
row. The screen has no container per part (the count that cost start-up time).
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.containers import Horizontal
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Label, Select

from tests.support.app import AppFactory
from tests.tui.harness import on_screen, settle
from titrator.cli.app import DEMO_PATIENT
from titrator.tui.forms import LABEL_WIDTH
from titrator.tui.screens.setup import LEFT, SetupScreen

SIZE = (80, 24)


def shown_in_row(row: Horizontal) -> list[Widget]:
    return [child for child in row.children if child.display]


def check_rows(pilot: Pilot[Any]) -> int:
    """Check every displayed row of the form; the number of rows with two parts."""
    two_parts = 0
    for row in pilot.app.screen.query(".form-row").results(Horizontal):
        if not row.display:
            continue
        widgets = shown_in_row(row)
        labels = [w for w in widgets if isinstance(w, Label)]
        for label in labels:
            assert label.region.width == LABEL_WIDTH, label.render()
        right_edge = row.region.right
        previous_end = row.region.x
        for widget in widgets:
            assert widget.region.x >= previous_end, f"{widget} overlaps the widget before it"
            assert widget.region.right <= right_edge, f"{widget} runs past its row"
            previous_end = widget.region.right
        if len(labels) == 2:
            two_parts += 1
            assert labels[0].region.x == row.region.x
            assert labels[1].region.x == row.region.x + LEFT, f"{labels[1].render()} misplaced"
    return two_parts


@pytest.mark.parametrize("presses", [0, 1, 2])  # g/kg, grams, course (F3 moves on)
async def test_every_row_lines_up_whichever_dose_way_is_shown(
    make_app: AppFactory, presses: int
) -> None:
    async with make_app(setup=DEMO_PATIENT).app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        for _ in range(presses):
            await pilot.press("f3")
        await settle(pilot)
        rows_of_two = check_rows(pilot)
        # Nurse/Order, patient IDs, weight/height, sex/dosing weight, dose, round/off-label,
        # lot/date of birth, last infusion/product; and a course's days/day of course.
        assert rows_of_two == (9 if presses == 2 else 8)


async def test_the_weight_in_pounds_is_shown_next_to_the_weight(make_app: AppFactory) -> None:
    async with make_app(setup=DEMO_PATIENT).app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        await settle(pilot)
        screen = pilot.app.screen
        hint = screen.query_one("#weight-lb")
        weight = screen.query_one("#weight_kg")
        assert hint.region.x == weight.region.right + 1
        assert "= 154.3 lb" in str(hint.render())
        assert hint.region.right < screen.query_one("#setup-form").region.x + 1 + LEFT


async def test_the_form_has_no_container_per_part(make_app: AppFactory) -> None:
    async with make_app(setup=DEMO_PATIENT).app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        form = pilot.app.screen.query_one("#setup-form")
        rows = [w for w in form.query(Horizontal) if "form-row" in w.classes]
        others = [w for w in form.query(Horizontal) if "form-row" not in w.classes]
        assert len(rows) == 11
        # The only other containers are the insides of the choice lists (Textual's own).
        inside_choice = [w for w in others if any(isinstance(a, Select) for a in w.ancestors)]
        assert others == inside_choice, [w for w in others if w not in inside_choice]
