"""What a log says is shown as written: square brackets in a note are text, not Rich markup.

A nurse's note "saw [b]rash" was shown as "saw rash", and a note holding "[/]" stopped the
session screen with a markup error. Every static and table cell of the review app now shows
the log's text verbatim (`titrator/review/ui/plain.py`).
"""

from __future__ import annotations

import dataclasses

from rich.text import Text
from textual.widgets import DataTable, Static

from titrator.review.model import SessionReview
from titrator.review.ui.app import ReviewApp
from titrator.review.ui.session_screen import SessionScreen
from titrator.review.ui.timeline_view import TimelineView

PATIENT = "MRN[/]7 [b]x"
NOTE = "saw [b]rash[/b] then [red]hives[/] [@click=app.quit]"
SUMMARY = "nurse wrote: [/] and [link=https://example.org]here"


def _marked(review: SessionReview) -> SessionReview:
    """The override log's review with brackets in the patient id, a note and a timeline line."""
    assert review.overrides, "the override scenario records an override"
    override = dataclasses.replace(review.overrides[0], note=NOTE)
    first = dataclasses.replace(review.timeline[0], summary=SUMMARY)
    return dataclasses.replace(
        review,
        header=dataclasses.replace(review.header, patient_id=PATIENT),
        overrides=(override, *review.overrides[1:]),
        timeline=(first, *review.timeline[1:]),
    )


def _text(widget: Static) -> str:
    return str(widget.render())


def _shown(cell: object) -> str:
    """A table cell as the table draws it (string cells are read as Rich markup)."""
    return Text.from_markup(cell).plain if isinstance(cell, str) else str(cell)


async def test_brackets_in_a_log_are_shown_as_written(reviews: list[SessionReview]) -> None:
    review = _marked(next(r for r in reviews if r.overrides))
    app = ReviewApp(reviews=[review])
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        row = [_shown(c) for c in app.screen.query_one("#sessions", DataTable).get_row_at(0)]
        assert PATIENT in row
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SessionScreen)
        assert f"Patient {PATIENT} /" in _text(screen.query_one("#facts", Static))
        events = screen.query_one("#events", TimelineView)
        assert events.get_row_at(0)[4] == SUMMARY
        assert "".join(s.text for s in events.render_line(1)).rstrip().endswith(SUMMARY)
        assert SUMMARY in _text(screen.query_one("#detail", Static))
        await pilot.press("3")
        await pilot.pause()
        episodes = screen.query_one("#episodes", DataTable)
        reasons = [_shown(episodes.get_row_at(i)[3]) for i in range(episodes.row_count)]
        assert any(reason.endswith(f" — {NOTE}") for reason in reasons), reasons
        assert app.is_running  # no markup error, and "[@click=app.quit]" did nothing
