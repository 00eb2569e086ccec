"""The session's timeline drawn line by line (`TimelineView`): keys, clicks, the detail line.

The timeline used to be a `DataTable`, which measures every cell of every row when the rows are
added (a 20,000-record log took 2.6 s to open, issue 17). `TimelineView` draws only the lines on
screen; these tests hold it to what the table did for the reviewer: the same cells, a cursor
moved by the same keys and kept in view, and the detail line under it.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Static

from tests.tui.harness import screen_text
from tests.tui.review.helpers import open_session
from titrator.review.model import SessionReview
from titrator.review.ui.app import ReviewApp
from titrator.review.ui.session_screen import SessionScreen
from titrator.review.ui.timeline_view import TimelineView


def _long(review: SessionReview, times: int) -> SessionReview:
    """The review with its timeline repeated (the lines differ in seq, so each is told apart)."""
    entries = [
        dataclasses.replace(entry, seq=n)
        for n, entry in enumerate(entry for _ in range(times) for entry in review.timeline)
    ]
    return dataclasses.replace(review, timeline=tuple(entries))


def _seqs_on_screen(pilot: Pilot[Any]) -> set[int]:
    """The seq of every timeline line on screen (lines that start with a time)."""
    found = set()
    for line in screen_text(pilot).splitlines():
        words = line.split()
        if len(words) > 2 and re.fullmatch(r"\d\d:\d\d:\d\d", words[0]):
            found.add(int(words[1].lstrip("✗")))
    return found


def _detail(screen: SessionScreen) -> str:
    return str(screen.query_one("#detail", Static).render())


async def test_the_keys_move_the_cursor_and_keep_it_in_view(
    damaged_review: SessionReview,
) -> None:
    review = _long(damaged_review, 40)  # 5,360 lines
    count = len(review.timeline)
    app = ReviewApp(reviews=[review])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_session(pilot)
        view = screen.query_one("#events", TimelineView)
        assert view.row_count == count
        assert f"Showing: all ({count} of {count})" in screen_text(pilot)
        view.focus()
        await pilot.press("end")
        await pilot.pause()
        assert view.cursor == count - 1
        last = review.timeline[-1]
        assert _detail(screen).startswith(f"line {last.line}, seq {last.seq}, {last.kind}")
        assert last.seq in _seqs_on_screen(pilot)
        await pilot.press("pageup", "up")
        await pilot.pause()
        page = view.cursor
        assert count - 1 - page > 1
        shown = review.timeline[page]
        assert _detail(screen).startswith(f"line {shown.line}, seq {shown.seq},")
        assert shown.seq in _seqs_on_screen(pilot)
        await pilot.press("home", "down", "down")
        await pilot.pause()
        assert view.cursor == 2
        assert view.scroll_offset.y == 0
        await pilot.press("up", "up", "up")  # stops at the first line
        assert view.cursor == 0


async def test_a_click_picks_the_line_and_the_header_stays(
    damaged_review: SessionReview,
) -> None:
    app = ReviewApp(reviews=[damaged_review])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_session(pilot)
        view = screen.query_one("#events", TimelineView)
        header = "".join(segment.text for segment in view.render_line(0))
        assert header.split() == ["Time", "(UTC)", "Seq", "Kind", "Nurse", "What"]
        await pilot.click(TimelineView, offset=(10, 3))  # the third line under the header
        await pilot.pause()
        assert view.cursor == 2
        assert _detail(screen).startswith("line 3, seq 2,")
        await pilot.click(TimelineView, offset=(10, 0))  # the header: nothing
        await pilot.pause()
        assert view.cursor == 2


async def test_the_kind_filter_and_the_wire_hex_show_through(
    damaged_review: SessionReview,
) -> None:
    app = ReviewApp(reviews=[damaged_review])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_session(pilot)
        view = screen.query_one("#events", TimelineView)
        await pilot.press("k")  # the first kind of the filter
        await pilot.pause()
        kinds = {view.get_row_at(i)[2] for i in range(view.row_count)}
        assert len(kinds) == 1
        assert 0 < view.row_count < len(damaged_review.timeline)
        unvouched = [i for i in range(view.row_count) if view.get_row_at(i)[1].startswith("✗")]
        if unvouched:  # the damaged log's lines after line 60 keep their mark
            view.cursor = unvouched[0]
            await pilot.pause()
            assert "NOT VOUCHED FOR" in _detail(screen)
