"""The review app lists logs without holding their reviews, and reads a log again to open it.

Issue 17: the session list used to keep every log's full review for as long as it was open, so
the app's memory grew with the folder and with each log's length. It now keeps one
`SessionListing` a log; Enter reads the log again in a worker and opens what it says now.
"""

from __future__ import annotations

import gc
import shutil
from pathlib import Path

from textual.widgets import DataTable

from tests.tui.harness import Notices
from titrator.review.listing import SessionListing, load_listings
from titrator.review.model import SessionReview, load_review
from titrator.review.summary import load_all, summarise, summarise_figures, summary_table
from titrator.review.ui.app import ReviewApp
from titrator.review.ui.list_screen import SessionListScreen, row_cells
from titrator.review.ui.session_screen import SessionScreen
from titrator.review.ui.summary_screen import FolderSummaryScreen


def _live_reviews() -> int:
    gc.collect()
    return sum(isinstance(o, SessionReview) for o in gc.get_objects())


def test_a_listing_is_the_row_and_the_figures_of_its_review(log_dir: Path) -> None:
    logs = sorted(log_dir.glob("*.jsonl"))
    listings, problems = load_listings(logs)
    reviews, _ = load_all(logs)
    assert not problems
    assert [r.path for r in listings] == logs
    for listing, review in zip(listings, reviews, strict=True):
        assert listing == SessionListing.of_review(review)
    assert summary_table(summarise_figures(r.figures for r in listings)) == summary_table(
        summarise(reviews)
    )


async def test_the_list_holds_no_review_and_enter_reads_the_log_again(
    log_dir: Path, tmp_path: Path
) -> None:
    folder, logs = _copied(log_dir, tmp_path)
    before = _live_reviews()
    app = ReviewApp(logs)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, SessionListScreen)
        assert _table(app).row_count == len(logs)
        assert _live_reviews() == before  # listings only
        await pilot.press("slash", *"MRN-0002", "enter", "enter")  # the fever log
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SessionScreen)
        assert screen.review == load_review(folder / "s-fever.jsonl")
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, FolderSummaryScreen)


async def test_a_log_gone_since_it_was_listed_is_named_and_the_list_stays(
    log_dir: Path, tmp_path: Path
) -> None:
    folder, logs = _copied(log_dir, tmp_path)
    app = ReviewApp(logs)
    notices = Notices()
    async with app.run_test(size=(120, 40), message_hook=notices) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = _table(app)
        first = str(table.get_row_at(0)[-1])
        (folder / first).unlink()
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, SessionListScreen)
        assert notices.said(f"{first}: cannot read"), notices.shown


def _copied(log_dir: Path, tmp_path: Path) -> tuple[Path, list[Path]]:
    """A copy of the scenario logs (a test may remove one), and its logs in name order."""
    folder = tmp_path / "logs"
    shutil.copytree(log_dir, folder)
    return folder, sorted(folder.glob("*.jsonl"))


def _table(app: ReviewApp) -> DataTable[object]:
    return app.screen.query_one("#sessions", DataTable)


def test_the_rows_are_those_of_the_reviews(reviews: list[SessionReview]) -> None:
    """The cells the list shows (and filters on) come from the listing as they came from the
    review: every column of every scenario, damaged and unfinished included."""
    cells = [row_cells(SessionListing.of_review(r)) for r in reviews]
    assert len({c[-1] for c in cells}) == len(reviews)
    for review, row in zip(reviews, cells, strict=True):
        assert row[1] == review.integrity.status.label
        assert row[3] == (review.header.patient_id or "—")
        assert row[5] == str(len(review.reactions))
        assert row[6] == str(len(review.overrides))
