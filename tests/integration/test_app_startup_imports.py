"""`titrator run` and `titrator demo` reach their first screen without what they do not use yet.

Issue 17 (app start-up time and memory): each command runs in a fresh interpreter through the
real entry point (`titrator.cli.main.main`), with a private HOME, configuration and data
directory; the app runs headless until its setup screen is mounted and idle, then quits. The
child then reports which modules its `sys.modules` holds: the simulator only for the demo (it
drives the demo's pump), and never training, the serial driver, the session engine or the
barcode parser before a session or a scan needs them, nor the ward store's shipper without a
ward store configured.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.probe import run_probe

PROBE = """
import json, sys
from textual.app import App
from titrator.cli.main import main
from titrator.tui.app import TitratorApp

shown = []

async def first_screen(pilot):
    await pilot.pause()
    shown.append(type(pilot.app.screen).__name__)
    pilot.app.exit(0)

def headless(self, **kwargs):
    return App.run(self, headless=True, size=(80, 24), auto_pilot=first_screen)

TitratorApp.run = headless
code = main(sys.argv[1:])
watched = (
    "simulator", "titrator.training", "titrator.pump.newera", "serial",
    "titrator.domain.session.engine", "titrator.shell.controller", "titrator.domain.events",
    "biip", "titrator.tui.screens.run", "titrator.tui.screens.resume",
    "titrator.shell.shipping", "titrator.shell.outbox",
)
print(json.dumps({"code": code, "shown": shown,
                  "loaded": [name for name in watched if name in sys.modules]}))
"""


def first_screen_modules(home: Path, *argv: str) -> dict[str, object]:
    code, report, stderr = run_probe(PROBE, home, *argv)
    assert code == 0, stderr[-2000:]
    return report


def test_run_starts_without_simulator_training_engine_or_barcode_parser(tmp_path: Path) -> None:
    report = first_screen_modules(tmp_path, "run")
    assert report["code"] == 0
    assert report["shown"] == ["SetupScreen"]
    assert report["loaded"] == []


@pytest.mark.parametrize("argv", [["demo"], ["run", "--pump", "sim"]])
def test_simulator_pump_loads_only_the_simulator(tmp_path: Path, argv: list[str]) -> None:
    report = first_screen_modules(tmp_path, *argv)
    assert report["code"] == 0
    assert report["shown"] == ["SetupScreen"]
    # The simulator's pty and the serial driver that talks to it; still no training or engine.
    assert "simulator" in report["loaded"]  # type: ignore[operator]
    unexpected = {"titrator.training", "titrator.domain.session.engine", "biip"}
    unexpected |= {"titrator.shell.shipping", "titrator.shell.outbox"}
    assert unexpected.isdisjoint(report["loaded"])  # type: ignore[arg-type]
