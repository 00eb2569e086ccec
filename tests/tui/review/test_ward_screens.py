"""`titrator review --db URL`: the ward store's sessions with filters, and each report a screen.

A real SQLite store filled by `ship_log` from headless sessions; the app is driven with Pilot
and waits on its workers, never on time. Snapshots at 80x24 (the store is opened by a relative
path so the header is the same on every machine).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from tests.integration.store.logs import NOW, Site, record_session, site
from titrator.cli.main import main
from titrator.review.ui.app import ReviewApp
from titrator.review.ui.ward_screen import ReportMenu, WardReportScreen, WardSessionsScreen
from titrator.store.browse import StoreSource
from titrator.store.db import Store, open_store
from titrator.store.reports import REPORTS
from titrator.store.ship import ShipStatus, ship_log
from titrator.store.url import parse_store_url

Snap = Callable[..., bool]

NEW_LOT = (Path(__file__).parents[2] / "data" / "review" / "anaphylaxis.jsonl").read_text(
    encoding="utf-8"
)
NEW_LOT = NEW_LOT.replace(
    '{"t_min": 38, "symptoms"', '{"t_min": 35, "lot": "P200999"}\n{"t_min": 38, "symptoms"', 1
)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """A SQLite store (`ward.sqlite` in the working folder) holding five shipped sessions."""
    monkeypatch.chdir(tmp_path)
    here: Site = site(tmp_path / "site")
    sessions: list[tuple[str, str, str, dict[str, Any]]] = [
        ("s-done", "bay-1", "4 East", {"script": "completed"}),
        (
            "s-anaph",
            "bay-1",
            "4 East",
            {"script": NEW_LOT, "start_utc": "2026-01-06T08:00:00+00:00"},
        ),
        ("s-over", "bay-2", "5 West", {"script": "override", "nurse_id": "rn-0077"}),
        (
            "s-stop",
            "bay-2",
            "5 West",
            {"script": "stopped", "start_utc": "2026-01-07T08:00:00+00:00"},
        ),
        ("s-train", "bay-1", "4 East", {"script": "fever", "training": True}),
    ]
    opened = open_store(parse_store_url("sqlite:///ward.sqlite"))
    for session_id, station, ward, changes in sessions:
        log = record_session(here, session_id, station_id=station, **changes)
        result = ship_log(opened, log, key=here.key, ward=ward, now=NOW)
        assert result.status is ShipStatus.SHIPPED
    yield opened
    opened.close()


async def settle(pilot: Pilot[Any]) -> None:
    """Let the store workers finish and the screen take their results."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def rows(pilot: Pilot[Any], selector: str) -> list[list[str]]:
    table = pilot.app.screen.query_one(selector, DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def status(pilot: Pilot[Any]) -> str:
    return str(pilot.app.screen.query_one("#ward-status", Static).render())


async def test_the_list_shows_stored_sessions_newest_first_without_training(store: Store) -> None:
    app = ReviewApp(ward=StoreSource(store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, WardSessionsScreen)
        listed = rows(pilot, "#ward-sessions")
        assert [row[:2] for row in listed] == [
            ["2026-01-07", "bay-2"],
            ["2026-01-06", "bay-1"],
            ["2026-01-05", "bay-1"],  # opened at the same minute: by station
            ["2026-01-05", "bay-2"],
        ]
        assert listed[1][3] == "P100234, P200999"  # the anaphylaxis session's two lots
        line = str(app.screen.query_one("#ward-row", Static).render())
        assert line.startswith("bay-2 / s-stop: ward 5 West, opened 2026-01-07 07:50 UTC, ")
        assert status(pilot) == "4 session(s), newest first; training left out"
        assert not any("MRN" in cell for row in listed for cell in row)

        await pilot.press("t")
        await settle(pilot)
        outcomes = [row[4] for row in rows(pilot, "#ward-sessions")]
        assert len(outcomes) == 5
        assert sum(outcome.startswith("TRAINING: ") for outcome in outcomes) == 1


async def test_filters_by_ward_product_lot_date_and_outcome(store: Store) -> None:
    app = ReviewApp(ward=StoreSource(store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await pilot.press("tab", "tab")  # to the lot box
        await pilot.press(*"P200999")
        await settle(pilot)
        assert [row[1] for row in rows(pilot, "#ward-sessions")] == ["bay-1"]

        lot = app.screen.query_one("#filter-lot")
        lot.value = ""  # type: ignore[attr-defined]
        app.screen.query_one("#filter-ward").value = "5 West"  # type: ignore[attr-defined]
        app.screen.query_one("#filter-since").value = "2026-01-07"  # type: ignore[attr-defined]
        await settle(pilot)
        assert [row[4] for row in rows(pilot, "#ward-sessions")] == ["aborted"]

        app.screen.query_one("#filter-since").value = "7 Jan"  # type: ignore[attr-defined]
        await settle(pilot)
        assert status(pilot) == (
            "Filter not applied: since: must be a date YYYY-MM-DD (got '7 Jan')"
        )
        assert len(rows(pilot, "#ward-sessions")) == 1  # the last good listing stays

        app.screen.query_one("#filter-since").value = ""  # type: ignore[attr-defined]
        app.screen.query_one("#filter-outcome").value = "completed"  # type: ignore[attr-defined]
        await settle(pilot)
        assert [row[1] for row in rows(pilot, "#ward-sessions")] == ["bay-2"]
        app.screen.query_one("#filter-product").value = "gamunex-c"  # type: ignore[attr-defined]
        await settle(pilot)
        assert rows(pilot, "#ward-sessions") == []
        assert status(pilot).startswith("0 session(s)")


async def test_every_report_opens_as_a_screen_with_the_reports_rows(store: Store) -> None:
    source = StoreSource(store)
    app = ReviewApp(ward=source)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for n, name in enumerate(REPORTS):
            await pilot.press("p")
            await pilot.pause()
            assert isinstance(app.screen, ReportMenu)
            await pilot.press(*(["down"] * n), "enter")
            await settle(pilot)
            assert isinstance(app.screen, WardReportScreen)
            assert app.screen.report_name == name
            expected = source.report(name, app.screen.query_now)
            assert rows(pilot, "#report-rows") == [list(row) for row in expected.rows]
            title = str(app.screen.query_one("#report-title", Static).render())
            assert title == expected.title
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, WardSessionsScreen)


async def test_training_key_on_a_report_counts_training_in(store: Store) -> None:
    app = ReviewApp(ward=StoreSource(store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await pilot.pause()
        await pilot.press(*(["down"] * list(REPORTS).index("integrity")), "enter")
        await settle(pilot)
        assert [row[:2] for row in rows(pilot, "#report-rows")] == [["bay-1", "2"], ["bay-2", "2"]]
        await pilot.press("t")
        await settle(pilot)
        assert [row[:2] for row in rows(pilot, "#report-rows")] == [["bay-1", "3"], ["bay-2", "2"]]
        assert app.screen.sub_title == "integrity: every ward, training counted"


async def test_a_store_that_cannot_be_read_is_a_line_on_the_screen(store: Store) -> None:
    Path("ward.sqlite").unlink()  # the file goes away under the open store
    for extra in ("ward.sqlite-wal", "ward.sqlite-shm"):
        Path(extra).unlink(missing_ok=True)
    app = ReviewApp(ward=StoreSource(store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert status(pilot).startswith("Ward store not readable: cannot read ")
        assert rows(pilot, "#ward-sessions") == []


def test_review_db_bad_input_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", "--db", "mysql://x/y"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("titrator review: error: --db: unsupported scheme 'mysql'")
    assert err.count("\n") == 1

    assert main(["review", "--db", "ward.sqlite", "some.jsonl"]) == 2
    assert capsys.readouterr().err == (
        "titrator review: error: --db: give the store only, not PATH or --summary too\n"
    )


def test_review_db_store_that_cannot_be_opened_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["review", "--db", str(tmp_path / "no-folder" / "ward.sqlite")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("titrator review: error: cannot open ")
    assert err.count("\n") == 1


def test_snapshot_ward_sessions(snap_compare: Snap, store: Store) -> None:
    assert snap_compare(
        ReviewApp(ward=StoreSource(store)), terminal_size=(80, 24), run_before=settle
    )


def test_snapshot_ward_report(snap_compare: Snap, store: Store) -> None:
    async def open_report(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("down", "enter")  # time-to-stop
        await settle(pilot)

    assert snap_compare(
        ReviewApp(ward=StoreSource(store)), terminal_size=(80, 24), run_before=open_report
    )


def test_snapshot_report_menu(snap_compare: Snap, store: Store) -> None:
    async def open_menu(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("p")
        await pilot.pause()

    assert snap_compare(
        ReviewApp(ward=StoreSource(store)), terminal_size=(80, 24), run_before=open_menu
    )
