"""Driving the review app with Pilot: list, sort, filter, session view, banner, summary."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Static, TabbedContent

from titrator.review.model import SessionReview
from titrator.review.ui.app import ReviewApp
from titrator.review.ui.chart import RateVitalsChart
from titrator.review.ui.list_screen import SessionListScreen
from titrator.review.ui.session_screen import SessionScreen
from titrator.review.ui.summary_screen import FolderSummaryScreen
from titrator.review.ui.timeline_view import TimelineView


def _table(app: ReviewApp, selector: str) -> DataTable[object]:
    return app.screen.query_one(selector, DataTable)


def _column(app: ReviewApp, index: int) -> list[str]:
    table = _table(app, "#sessions")
    return [str(table.get_row_at(i)[index]) for i in range(table.row_count)]


async def test_the_list_shows_every_log_with_integrity_words(reviews: list[SessionReview]) -> None:
    app = ReviewApp(reviews=reviews)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, SessionListScreen)
        counts = str(app.screen.query_one("#counts", Static).render())
        # Read without a key or a head hash: intact logs are "chain-only", never "verified".
        assert "7 log(s): 0 ✓ verified, 5 ○ chain-only, 1 ✗ damaged, 1 … unfinished" in counts
        assert sorted(set(_column(app, 1))) == [
            "…\xa0unfinished",
            "○ chain-only",
            "✗ damaged",
        ] or set(_column(app, 1)) == {"… unfinished", "○ chain-only", "✗ damaged"}
        assert "stopped for reaction" in _column(app, 2)


async def test_sort_and_reverse_and_filter(reviews: list[SessionReview]) -> None:
    app = ReviewApp(reviews=reviews)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("s", "s", "s")  # sort by patient
        patients = _column(app, 3)
        assert patients == sorted(patients)
        await pilot.press("r")
        assert _column(app, 3) == sorted(patients, reverse=True)
        await pilot.press("slash", *"damaged")
        assert _table(app, "#sessions").row_count == 1
        await pilot.press("escape")
        assert _table(app, "#sessions").row_count == len(reviews)


async def test_enter_opens_the_session_and_the_tabs_work(reviews: list[SessionReview]) -> None:
    app = ReviewApp(reviews=reviews)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"MRN-0002", "enter", "enter")  # the fever log
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SessionScreen)
        assert screen.review.header.patient_id == "MRN-0002"
        assert "CHAIN ONLY" in str(screen.query_one("#banner", Static).render())
        events = screen.query_one("#events", TimelineView)
        assert events.row_count == len(screen.review.timeline)
        await pilot.press("k")  # vitals only
        assert 0 < events.row_count < len(screen.review.timeline)
        assert "Showing: vitals" in str(screen.query_one("#kind", Static).render())
        await pilot.press("2", "v")
        assert screen.query_one(TabbedContent).active == "chart"
        assert screen.query_one("#plot", RateVitalsChart).vital_name == "blood pressure (mmHg)"
        await pilot.press("3")
        episodes = _table(app, "#episodes")
        assert "REACTION mild" in str(episodes.get_row_at(0)[1])
        await pilot.press("4")
        assert _table(app, "#commands").row_count == len(screen.review.pump_commands)
        await pilot.press("escape")
        assert isinstance(app.screen, SessionListScreen)


async def test_a_damaged_log_shows_the_banner(damaged_review: SessionReview) -> None:
    app = ReviewApp(reviews=[damaged_review])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        banner = app.screen.query_one("#banner", Static)
        text = str(banner.render())
        assert "DAMAGED at line 60" in text
        assert "record altered" in text
        assert banner.has_class("damaged")
        cells = app.screen.query_one("#events", TimelineView).get_row_at(59)
        assert cells[1] == "✗59"


async def test_the_summary_screen(reviews: list[SessionReview]) -> None:
    app = ReviewApp(reviews=reviews)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, FolderSummaryScreen)
        text = str(app.screen.query_one("#summary", Static).render())
        first_row = text.splitlines()[2]
        assert first_row.startswith("Privigen — ")
        assert "  7  " in first_row  # 7 infusions
        assert "DAMAGED (counted with what is readable):" in text
        assert "s-damaged.jsonl" in text


async def test_logs_are_read_in_a_worker(log_dir: Path) -> None:
    app = ReviewApp(sorted(log_dir.glob("*.jsonl")))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert _table(app, "#sessions").row_count == 7


async def test_an_empty_folder_says_so(tmp_path: Path) -> None:
    app = ReviewApp([])
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "no .jsonl logs found" in str(app.screen.query_one("#counts", Static).render())
