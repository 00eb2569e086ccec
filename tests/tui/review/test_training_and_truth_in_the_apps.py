"""Issue 12 items 5 and 6 in the apps: the demo's log says TRAINING, the run screen's volumes add
up, and the review app marks training logs, names each file, hides wire hex unless asked and
leaves training logs out of the folder summary unless asked."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.widgets import DataTable, Static

from tests.support.app import AppFactory
from tests.tui.harness import advance, decision, log_events, quick_start, static_text
from tests.tui.review.helpers import open_session
from tests.unit.review.logbuild import LogSpec, build_log
from titrator.domain.events import SessionOpened
from titrator.review.model import SessionReview, load_review
from titrator.review.ui.app import ReviewApp
from titrator.review.ui.list_screen import SessionListScreen
from titrator.review.ui.session_screen import SessionScreen
from titrator.review.ui.summary_screen import FolderSummaryScreen
from titrator.review.ui.timeline_view import TimelineView
from titrator.tui.screens.run import RunScreen


@pytest.mark.parametrize("training", [True, False])
async def test_the_apps_log_says_whether_it_is_training(
    make_app: AppFactory, training: bool
) -> None:
    built = make_app(training=training)
    async with built.app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
    opened = [e for e in log_events(built.log_path) if isinstance(e, SessionOpened)]
    assert [e.training for e in opened] == [training]
    assert load_review(built.log_path).training is training


async def test_the_run_screens_given_and_remaining_add_up(make_app: AppFactory) -> None:
    built = make_app()
    async with built.app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        await advance(pilot, built, seconds=127)  # 21 mL/h for 127 s: 0.74083… mL
        given = decision(built.app).volume_ml
        assert given != given.quantize(Decimal("0.1"))  # more digits than are shown
        text = static_text(pilot.app.screen, "#volume")
        assert isinstance(pilot.app.screen, RunScreen)
    parts = text.replace("Volume given ", "").replace(" of ", "|").replace(" · remaining ", "|")
    shown_given, planned, remaining = (Decimal(p.removesuffix(" mL")) for p in parts.split("|"))
    assert shown_given == Decimal("0.7")
    assert shown_given + remaining == planned, text


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> list[SessionReview]:
    folder = tmp_path_factory.mktemp("mixed")
    build_log(folder, LogSpec(session_id="s-real", script="completed"))
    build_log(folder, LogSpec(session_id="s-demo", script="fever", training=True))
    return [load_review(p) for p in sorted(folder.glob("*.jsonl"))]


def _row(app: ReviewApp, index: int) -> list[str]:
    table = app.screen.query_one("#sessions", DataTable)
    return [str(c) for c in table.get_row_at(index)]


async def test_the_list_marks_training_and_names_each_file(mixed: list[SessionReview]) -> None:
    app = ReviewApp(reviews=mixed)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, SessionListScreen)
        counts = str(app.screen.query_one("#counts", Static).render())
        assert "1 TRAINING (demo, train)" in counts
        rows = [_row(app, 0), _row(app, 1)]
        by_file = {row[-1]: row for row in rows}
        assert set(by_file) == {"s-demo.jsonl", "s-real.jsonl"}
        assert by_file["s-demo.jsonl"][2].startswith("TRAINING: ")
        assert "TRAINING" not in " ".join(by_file["s-real.jsonl"])
        line = str(app.screen.query_one("#file", Static).render())
        first = app.screen.shown_reviews()[0]
        assert f"File: {first.path.name}" in line.replace("\n", "")
        await pilot.press("down")
        line = str(app.screen.query_one("#file", Static).render()).replace("\n", "")
        second = app.screen.shown_reviews()[1]
        assert f"File: {second.path.name}" in line


async def test_the_session_view_of_a_training_log_says_so(mixed: list[SessionReview]) -> None:
    demo = next(r for r in mixed if r.training)
    app = ReviewApp(reviews=[demo])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, SessionScreen)
        banner = str(app.screen.query_one("#training", Static).render())
        assert banner.startswith("TRAINING: demo or training session, not a real patient")


async def test_wire_hex_is_shown_only_when_asked(make_app: AppFactory) -> None:
    built = make_app()
    async with built.app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
    review = load_review(built.log_path)
    wires = [e for e in review.timeline if e.kind == "pump_wire"]
    assert wires, "the fake pump's wire trace is recorded"
    hexes = [str(e.payload["data_hex"]) for e in wires if e.payload["data_hex"]]
    assert hexes
    app = ReviewApp(reviews=[review])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_session(pilot)
        keys = {(b.key, b.description) for b in screen.BINDINGS if isinstance(b, Binding)}
        assert ("w", "Wire hex") in keys

        def cells() -> str:
            view = screen.query_one("#events", TimelineView)
            return "\n".join(view.get_row_at(i)[4] for i in range(view.row_count))

        assert not any(h in cells() for h in hexes)
        assert "w: wire hex (hidden)" in str(screen.query_one("#kind", Static).render())
        await pilot.press("w")
        assert all(h in cells() for h in hexes)
        assert "w: wire hex (shown)" in str(screen.query_one("#kind", Static).render())
        await pilot.press("w")
        assert not any(h in cells() for h in hexes)


async def test_the_summary_screen_leaves_training_out_until_asked(
    mixed: list[SessionReview],
) -> None:
    app = ReviewApp(reviews=mixed)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("m")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, FolderSummaryScreen)
        text = str(screen.query_one("#summary", Static).render())
        assert max(len(line) for line in text.splitlines()) <= 78
        assert "1 log(s) counted" in text
        assert "1 TRAINING log(s) (demo, train) left out; t counts them." in text
        await pilot.press("t")
        text = str(screen.query_one("#summary", Static).render())
        assert "2 log(s) counted" in text
        assert "1 TRAINING log(s) (demo, train) counted in these figures." in text


async def test_include_training_reaches_the_summary(mixed: list[SessionReview]) -> None:
    app = ReviewApp(reviews=mixed, include_training=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("m")
        await pilot.pause()
        text = str(app.screen.query_one("#summary", Static).render())
        assert "2 log(s) counted" in text


def test_logs_are_files(mixed: list[SessionReview]) -> None:
    assert all(isinstance(r.path, Path) and r.path.is_file() for r in mixed)


async def test_every_row_names_its_file(reviews: list[SessionReview]) -> None:
    app = ReviewApp(reviews=reviews)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#sessions", DataTable)
        files = {str(table.get_row_at(i)[-1]) for i in range(table.row_count)}
        assert files == {r.path.name for r in reviews}
        line = str(app.screen.query_one("#file", Static).render()).replace("\n", "")
        assert line.startswith("File: ")
        assert line.endswith(".jsonl")
