"""The cyclic collector is paused while the app starts, and runs again once it opens.

`titrator.cli.collector` (issue 17): each command runs in a fresh interpreter through
`titrator.cli.main.main`. The app's first screen sees the collector running and start-up's
objects frozen; the configuration, library and policy were loaded with it paused; a command that
stops on an error before the app opens leaves it running; other commands never pause it.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from tests.support.probe import run_probe
from titrator.cli.collector import app_opening, paused_for_start_up

PROBE = """
import gc, json, sys
from textual.app import App
import titrator.cli.app as cli_app
from titrator.cli.main import main
from titrator.tui.app import TitratorApp

seen = {}
prepare = cli_app.prepare

def watched_prepare(*args, **kwargs):
    seen["collector_while_loading"] = gc.isenabled()
    return prepare(*args, **kwargs)

cli_app.prepare = watched_prepare

async def first_screen(pilot):
    await pilot.pause()
    seen["collector_at_first_screen"] = gc.isenabled()
    seen["frozen_at_first_screen"] = gc.get_freeze_count()
    pilot.app.exit(0)

def headless(self, **kwargs):
    return App.run(self, headless=True, size=(80, 24), auto_pilot=first_screen)

TitratorApp.run = headless
seen["code"] = main(sys.argv[1:])
seen["collector_after"] = gc.isenabled()
print(json.dumps(seen))
"""


def probe(home: Path, *argv: str) -> dict[str, object]:
    _code, report, stderr = run_probe(PROBE, home, *argv)
    assert report, stderr[-2000:]
    return report


def test_run_loads_with_the_collector_paused_and_opens_with_it_running(tmp_path: Path) -> None:
    report = probe(tmp_path, "run")
    assert report["code"] == 0
    assert report["collector_while_loading"] is False
    assert report["collector_at_first_screen"] is True
    assert isinstance(report["frozen_at_first_screen"], int)
    assert report["frozen_at_first_screen"] > 10_000  # the modules and models start-up made
    assert report["collector_after"] is True


def test_an_error_before_the_app_opens_leaves_the_collector_running(tmp_path: Path) -> None:
    report = probe(tmp_path, "run", "--policy", str(tmp_path / "no-such-policy.yaml"))
    assert report["code"] == 1
    assert report["collector_while_loading"] is False
    assert "collector_at_first_screen" not in report
    assert report["collector_after"] is True


def stopped_inside_the_pause() -> None:
    with paused_for_start_up():
        assert not gc.isenabled()
        raise RuntimeError("stopped")


def test_the_pause_ends_with_its_block_even_on_an_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="stopped"):
        stopped_inside_the_pause()
    assert gc.isenabled()


def test_app_opening_starts_the_collector_again_inside_the_pause() -> None:
    frozen = gc.get_freeze_count()
    try:
        with paused_for_start_up():
            app_opening()
            assert gc.isenabled()
            assert gc.get_freeze_count() > frozen
        assert gc.isenabled()
    finally:
        gc.unfreeze()  # give this test process's objects back to the collector


def test_a_collector_paused_by_the_caller_stays_paused() -> None:
    gc.disable()
    try:
        with paused_for_start_up():
            app_opening()
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_app_opening_outside_the_pause_changes_nothing() -> None:
    frozen = gc.get_freeze_count()
    app_opening()
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen
