"""End to end: the installed `titrator demo` in a real terminal (tmux, 80x24), driven by keys.

Setup (pre-filled by the demo), checklist, plan preview, baseline vitals and symptoms, the start
confirmation, one vitals set when due, then STOP (F9). Checks the screen text and the session's
audit log. Every wait polls the pane against a deadline; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from titrator.audit.reader import read_records
from titrator.audit.verify import Outcome, verify_log

pytestmark = pytest.mark.e2e

TITRATOR = Path(sys.executable).parent / "titrator"
SPEED = 60
"""Demo time runs 60x: the first vitals fall due 15 s after the start."""


class Tmux:
    """One tmux server (own socket) with one 80x24 session."""

    def __init__(self, socket: str) -> None:
        self.socket = socket
        self.target = "demo"

    def run(self, *args: str) -> str:
        """Run a tmux command on this server; its stdout."""
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=20,
        )
        return result.stdout

    def screen(self) -> str:
        """The pane's text now."""
        return self.run("capture-pane", "-p", "-t", self.target)

    def keys(self, *keys: str) -> None:
        """Send keys (tmux key names: Enter, F2, F9, Tab...)."""
        self.run("send-keys", "-t", self.target, *keys)

    def wait(self, what: str, check: Callable[[str], bool], timeout: float = 60.0) -> str:
        """Poll the pane until `check(text)` holds; fail with the last screen after `timeout`."""
        deadline = time.monotonic() + timeout
        text = self.screen()
        while not check(text):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n{text}")
            time.sleep(0.1)  # polling interval of a deadline wait, not a wait for an event
            text = self.screen()
        return text

    def wait_text(self, needle: str, timeout: float = 60.0) -> str:
        """Wait until `needle` is on screen."""
        return self.wait(repr(needle), lambda text: needle in text, timeout)


def checked(n: int) -> Callable[[str], bool]:
    """At least `n` fields of the vitals dialog show their ✓."""

    def check(text: str) -> bool:
        return text.count("✓") >= n

    return check


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    """A private tmux server, killed at the end."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (CI installs it in .ci/run)")
    if not TITRATOR.exists():
        pytest.skip(f"the console script is not installed at {TITRATOR}")
    server = Tmux(f"titrator-e2e-{uuid.uuid4().hex[:8]}")
    yield server
    subprocess.run(["tmux", "-L", server.socket, "kill-server"], check=False, capture_output=True)


def test_demo_from_setup_to_stop_in_a_real_terminal(tmux: Tmux, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {
        "TITRATOR_DATA_DIR": str(data_dir),
        "TZ": "UTC",
        "TERM": "xterm-256color",
        "HOME": str(tmp_path),
        "PATH": os.environ.get("PATH", ""),
    }
    exports = " ".join(f"{key}={value!s}" for key, value in env.items())
    command = f"env -i {exports} {TITRATOR} demo --speed {SPEED}"
    tmux.run("new-session", "-d", "-s", tmux.target, "-x", "80", "-y", "24", command)
    tmux.run("set-option", "-t", tmux.target, "remain-on-exit", "on")

    # Setup: the demo pre-fills a patient; F2 goes on.
    tmux.wait_text("infusion setup")
    tmux.wait_text("DEMO-0001")
    tmux.keys("F2")
    # Checklist: y on each of the 8 items, then F2.
    tmux.wait_text("Pre-infusion checks")
    for _ in range(8):
        tmux.keys("y")
    tmux.wait(
        "8 items confirmed",
        lambda text: text.count("✓ done") >= 8 or "?" not in text.split("Pre-infusion")[1],
    )
    tmux.keys("F2")
    # Plan preview: F2 confirms.
    tmux.wait_text("plan preview")
    tmux.keys("F2")
    screen = tmux.wait_text("Baseline vital signs")
    assert "TRAINING" in screen

    # Baseline vitals: typed field by field (Enter moves on; the last Enter records).
    tmux.keys("v")
    tmux.wait_text("(F2 record, Esc cancel)")
    for n, value in enumerate(("36.8", "76", "122", "78", "16", "98"), start=1):
        tmux.keys(*value)
        tmux.wait(f"field {n} checked", checked(n))
        tmux.keys("Enter")
    tmux.wait_text("vitals recorded")
    # Symptoms: none ticked, F2 records.
    tmux.keys("s")
    tmux.wait_text("Symptoms present NOW")
    tmux.keys("F2")
    tmux.wait_text("Start the infusion")
    # The start: a, then Enter and C (two deliberate keys).
    tmux.keys("a")
    tmux.wait_text("press Enter, then C")
    tmux.keys("Enter")
    tmux.wait_text("Press C to confirm")
    tmux.keys("c")
    screen = tmux.wait_text("· RUNNING")
    assert "mL/h" in screen
    assert "step 1 of" in screen

    # The first vitals fall due (15 demo minutes); one set, recorded.
    tmux.wait_text("Vital signs due", timeout=120)
    tmux.keys("v")
    tmux.wait_text("(F2 record, Esc cancel)")
    for n, value in enumerate(("36.9", "78", "120", "76", "16", "98"), start=1):
        tmux.keys(*value)
        tmux.wait(f"field {n} checked", checked(n))
        tmux.keys("Tab")
    tmux.keys("F2")
    tmux.wait(
        "the second vitals set",
        lambda text: text.count("vitals recorded") >= 2 and "F2 record" not in text,
    )

    # STOP.
    tmux.keys("F9")
    screen = tmux.wait_text("STOPPED")
    assert "STOP pressed" in screen or "STOP recorded" in screen
    assert "Infusion stopped" in screen

    # The audit log: private, intact, unfinished (the session is stopped, not closed).
    logs = list((data_dir / "training").glob("*.jsonl"))
    assert len(logs) == 1, logs
    log = logs[0]
    assert log.stat().st_mode & 0o777 == 0o600
    result = verify_log(log)
    assert result.outcome is Outcome.UNFINISHED, result.summary()
    kinds = [record.kind for record in read_records(log)]
    assert "stop_requested" in kinds
    assert kinds.count("vitals_accepted") == 2
    assert "input_refused" not in kinds

    # Quit deliberately: q is not bound; the app is left to the fixture to kill.
    tmux.keys("F9")  # a second STOP is accepted too
    tmux.wait(
        "the second STOP",
        lambda _text: [r.kind for r in read_records(log)].count("stop_requested") == 2,
    )
