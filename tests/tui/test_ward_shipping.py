"""Background shipping seen from the app: a quiet line on the summary, never a notice or a wait.

The app is the real one (Pilot) with a real `StoreSender` on a SQLite store; the shipping thread
is real, and the tests wait on conditions, never on time.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tests.support.app import AppFactory, Built
from tests.tui.harness import Notices, on_screen, the_app, wait_for
from tests.tui.test_inputs import at_baseline_done
from titrator.shell.outbox import Outbox
from titrator.shell.shipping import Attempt, BackgroundShipper, News, Verdict
from titrator.store.sender import StoreSender
from titrator.tui.app import TitratorApp
from titrator.tui.screens.run import RunScreen
from titrator.tui.screens.summary import SummaryScreen
from titrator.tui.ward_shipping import QUEUED


def with_store(built: Built, store: Path) -> Built:
    """The same services with background shipping to the SQLite file `store`."""
    built.data_dir.mkdir(parents=True, exist_ok=True)
    sender = StoreSender(str(store), key_file=None, ward="ward-3")
    built.services.shipping = BackgroundShipper(Outbox(built.data_dir), sender)
    return dataclasses.replace(built, app=TitratorApp(built.services))


def ward_line(pilot: Pilot[Any]) -> str:
    screen = pilot.app.screen
    if not isinstance(screen, SummaryScreen):
        return ""
    return str(screen.query_one("#ward-store").render())


async def stop_now(pilot: Pilot[Any]) -> None:
    """Open a session, then STOP before the start: it is aborted and summarised."""
    await at_baseline_done(pilot)
    await on_screen(pilot, RunScreen)
    await pilot.press("f9")
    await on_screen(pilot, SummaryScreen)


async def test_an_unreachable_store_is_a_quiet_line_and_the_next_start_ships_it(
    make_app: AppFactory, tmp_path: Path
) -> None:
    store = tmp_path / "down" / "ward.sqlite"  # its folder is missing: the store is down
    built = with_store(make_app(training=False), store)
    notices = Notices()
    async with built.app.run_test(size=(80, 24), message_hook=notices) as pilot:
        await stop_now(pilot)
        await wait_for(pilot, lambda: "not reachable now" in ward_line(pilot), "the ward line")
        line = ward_line(pilot)
        assert "kept in the outbox and sent later in 30 s" in line
        assert "nothing to do at the bedside" in line
        assert not notices.said("Ward store")  # a line on the summary, never a notice
        assert the_app(pilot).ward_shipping.lines
    (entry,) = Outbox(built.data_dir).entries()
    assert (entry.session_id, entry.attempts) == (built.log_path.stem, 1)

    store.parent.mkdir()  # the store is back; the next start-up ships what the outbox holds
    sent = threading.Event()
    told: list[News] = []

    def news(item: News) -> None:
        told.append(item)
        sent.set()

    shipper = BackgroundShipper(
        Outbox(built.data_dir), StoreSender(str(store), key_file=None, ward=None), on_news=news
    )
    shipper.start()
    assert sent.wait(timeout=60)
    shipper.stop()
    assert shipper.join(timeout_s=60)
    lines = len(built.log_path.read_bytes().splitlines())
    assert [(n.attempt.verdict, n.attempt.detail) for n in told] == [
        (Verdict.SENT, f"shipped {lines} records")
    ]
    assert Outbox(built.data_dir).entries() == []


async def test_a_reachable_store_says_the_session_is_stored(
    make_app: AppFactory, tmp_path: Path
) -> None:
    built = with_store(make_app(training=False), tmp_path / "ward.sqlite")
    async with built.app.run_test(size=(80, 24)) as pilot:
        await stop_now(pilot)
        await wait_for(pilot, lambda: "is stored" in ward_line(pilot), "the ward line", 60)
        lines = len(built.log_path.read_bytes().splitlines())
        assert ward_line(pilot) == f"Ward store: this session is stored (shipped {lines} records)."
    assert Outbox(built.data_dir).entries() == []


async def test_without_a_store_the_summary_has_no_ward_line(make_app: AppFactory) -> None:
    built = make_app(training=False)
    async with built.app.run_test(size=(80, 24)) as pilot:
        await stop_now(pilot)
        assert not pilot.app.screen.query("#ward-store")
    assert not (built.data_dir / "ward-outbox.json").exists()


async def test_a_store_that_hangs_never_holds_the_app_up(
    make_app: AppFactory, tmp_path: Path
) -> None:
    built = make_app(training=False)
    built.data_dir.mkdir(parents=True)
    gate, asked = threading.Event(), threading.Event()

    def hanging(log: Path) -> Attempt:  # a store that takes its time (a network timeout)
        asked.set()
        assert gate.wait(timeout=60)
        return Attempt(Verdict.RETRY, "timed out")

    shipper = BackgroundShipper(Outbox(built.data_dir), hanging)
    built.services.shipping = shipper
    built = dataclasses.replace(built, app=TitratorApp(built.services))
    async with built.app.run_test(size=(80, 24)) as pilot:
        await stop_now(pilot)
        await wait_for(pilot, asked.is_set, "the shipping attempt")
        assert ward_line(pilot) == QUEUED  # shipping is still hanging; the screen is not
        await pilot.press("enter")  # the nurse closes titrator: no wait for the store
        await wait_for(pilot, lambda: built.app.return_code == 0, "the app to exit")
    assert not shipper.join(timeout_s=0)  # the thread is still inside the attempt
    gate.set()
    assert shipper.join(timeout_s=60)
    assert [e.attempts for e in Outbox(built.data_dir).entries()] == [1]  # kept for next time
