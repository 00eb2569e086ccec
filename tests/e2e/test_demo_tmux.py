"""End to end: the installed `titrator demo` in a real terminal (tmux, 80x24), driven by keys.

Setup (pre-filled by the demo), checklist, pre-infusion documentation, plan preview, baseline
vitals and symptoms, the start confirmation, one vitals set when due, then STOP (F9). Checks the
screen text and the session's audit log.

Keys are typed as a person types them: one at a time, at least `KEY_GAP_S` apart (enforced in
one place, `Tmux._send`), and each step waits until the screen shows that the previous key took
effect. Every wait polls the pane (or the log) against a deadline; nothing sleeps to wait for a
state. On a failure, the pane as it was at the end is printed (pytest shows it under "Captured
stdout teardown").
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import pytest

from titrator.audit.errors import AuditReadError
from titrator.audit.reader import read_records
from titrator.audit.verify import Outcome, verify_log
from titrator.tui.dialogs.rate_confirm import BOUNCE_S

pytestmark = pytest.mark.e2e

TITRATOR = Path(sys.executable).parent / "titrator"
SPEED = 60
"""Demo time runs 60x: the first vitals fall due 15 s after the start."""

KEY_GAP_S: Final = 3 * BOUNCE_S
"""The least time between two keys, as a person types: three times the app's window (150 ms).

The rate confirmation ignores a key handled within `BOUNCE_S` of the previous one as key bounce
or auto-repeat (requirement R22); keys sent back to back would be dropped there, so a test that
sends them so is flaky, not the rule. The gap is derived from the app's constant so the two
cannot drift apart. It is a typing pace, not a wait for a state: states are polled for.
"""

POLL_S: Final = 0.05
"""How often a deadline wait looks again."""

Check = Callable[[str], bool]


def poll(what: str, probe: Callable[[], bool], timeout: float, describe: Callable[[], str]) -> None:
    """Call `probe` until it holds; after `timeout` s fail with `describe()` (the last state)."""
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}\n{describe()}")
        time.sleep(POLL_S)  # the polling interval of a deadline wait


class Tmux:
    """One tmux server (own socket and config) with one 80x24 session; keys typed at human pace."""

    def __init__(self, socket: str, config: Path) -> None:
        self.socket = socket
        self.config = config
        self.target = "demo"
        self.last_screen = ""
        """The pane's text as last captured (what a failure shows)."""
        self.dead = False
        """The app had exited at the last capture."""
        self._paced_from: float | None = None
        """When the last key was sent, or the screen last showed an awaited state if later."""

    def run(self, *args: str) -> str:
        """Run a tmux command on this server; its stdout."""
        result = subprocess.run(
            ["tmux", "-L", self.socket, "-f", str(self.config), *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=20,
        )
        return result.stdout

    def screen(self) -> str:
        """The pane's text now; `dead` tells whether the app has exited (its output stays)."""
        out = self.run(
            *("capture-pane", "-p", "-t", self.target),
            ";",
            *("display-message", "-p", "-t", self.target, "#{pane_dead}"),
        )
        self.last_screen, _, dead = out.rstrip("\n").rpartition("\n")
        self.dead = dead == "1"
        return self.last_screen

    def _send(self, *args: str) -> None:
        """Send one key, no sooner than `KEY_GAP_S` after the last key or the last awaited state.

        Counting from the awaited state too matters: the app times a key when it handles it,
        which can be as late as the moment the screen shows the result. Counting from the send
        alone could put two keys closer than `BOUNCE_S` at the app when it runs behind (load).
        """
        if self._paced_from is not None:
            pause = self._paced_from + KEY_GAP_S - time.monotonic()
            if pause > 0:
                time.sleep(pause)  # the human typing gap (KEY_GAP_S), not a wait for a state
        self.run("send-keys", "-t", self.target, *args)
        self._paced_from = time.monotonic()

    def press(self, *keys: str) -> None:
        """Press named keys one by one (tmux key names: Enter, F2, F9, Tab, y...)."""
        for key in keys:
            self._send(key)

    def type(self, text: str) -> None:
        """Type `text` character by character (literally, not as key names)."""
        for char in text:
            self._send("-l", char)

    def wait(self, what: str, check: Check, timeout: float = 60.0) -> str:
        """Poll the pane until `check(text)` holds; fail with the last screen after `timeout`.

        Fails at once if the app has exited (a crash): its traceback is on the screen shown.
        """

        def probe() -> bool:
            if check(self.screen()):
                return True
            if self.dead:
                raise AssertionError(
                    f"the app exited while waiting for {what}; screen:\n{self.last_screen}"
                )
            return False

        poll(what, probe, timeout, lambda: f"screen:\n{self.last_screen}")
        self._paced_from = time.monotonic()  # the next key comes after the reader saw this
        return self.last_screen

    def wait_text(self, *needles: str, timeout: float = 60.0) -> str:
        """Wait until every one of `needles` is on screen (in one capture)."""
        return self.wait(
            " and ".join(map(repr, needles)),
            lambda text: all(needle in text for needle in needles),
            timeout,
        )


def row_shows(label: str, value: str, mark: str = "") -> Check:
    """A vitals row: `label`, then exactly `value` (then `mark`, e.g. the ✓, when given)."""
    pattern = re.compile(rf"{re.escape(label)}\s+{re.escape(value)}(?=\s)\s*{re.escape(mark)}")
    return lambda text: pattern.search(text) is not None


VITALS_ROWS = (
    "temperature (°C)",
    "heart rate (/min)",
    "systolic pressure (mmHg)",
    "diastolic pressure (mmHg)",
    "respiratory rate (/min)",
    "SpO2 (%)",
)
"""The vitals dialog's rows, top to bottom, as the nurse sees them."""


def fill_vitals(tmux: Tmux, values: tuple[str, ...], move: str) -> None:
    """Type a vitals set field by field, each key seen on screen; `move` after each field.

    Enter and Tab move to the next field; Enter on the last field records the set.
    """
    tmux.wait_text("Vital signs  (F2 record, Esc cancel)", *VITALS_ROWS)
    for label, value in zip(VITALS_ROWS, values, strict=True):
        for end in range(1, len(value) + 1):
            tmux.type(value[end - 1])
            tmux.wait(f"{label} showing {value[:end]!r}", row_shows(label, value[:end]))
        tmux.wait(f"{label} {value} checked ✓", row_shows(label, value, "✓"))
        tmux.press(move)


def items_done(n: int) -> Check:
    """Exactly `n` checklist items show as done."""
    return lambda text: text.count("[x] done") == n


def log_kinds(log: Path) -> list[str]:
    """The kinds of the log's records; empty while a line is half written (polled again)."""
    try:
        return [record.kind for record in read_records(log)]
    except AuditReadError:
        return []


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    """A private tmux server, killed at the end; prints the last screen (shown on failure)."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (CI installs it in .ci/run)")
    if not TITRATOR.exists():
        pytest.skip(f"the console script is not installed at {TITRATOR}")
    config = tmp_path / "tmux.conf"
    # Keep the pane when the app exits, so a crash's traceback stays on screen for the report.
    config.write_text("set-option -g remain-on-exit on\n", encoding="utf-8")
    server = Tmux(f"titrator-e2e-{uuid.uuid4().hex[:8]}", config)
    try:
        yield server
    finally:
        try:
            print(f"last screen of the tmux pane (80x24):\n{server.screen()}")
        except (subprocess.SubprocessError, OSError) as error:
            print(f"(no screen: {error}); last captured:\n{server.last_screen}")
        subprocess.run(
            ["tmux", "-L", server.socket, "kill-server"], check=False, capture_output=True
        )


def test_key_gap_is_longer_than_the_bounce_window() -> None:
    assert KEY_GAP_S > BOUNCE_S


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

    # Setup: the demo pre-fills a patient; the whole form fits 80x24 (the lot, the history and
    # the Next button are on screen without scrolling); F2 goes on.
    tmux.wait_text(
        "infusion setup",
        "DEMO-0001",
        "DEMO-LOT-1",
        "never treated",
        "Next: checklist (F2)",
        "f2 Next: checklist",
    )
    assert "More below" not in tmux.last_screen
    tmux.press("F2")
    # Checklist: y on each of the 8 items (focus moves down), then F2.
    tmux.wait(
        "the checklist, 8 items open, the first focused",
        lambda text: (
            "Pre-infusion checks" in text
            and text.count("[ ] to check") == 8
            and "y Confirm item" in text
        ),
    )
    for n in range(1, 9):
        tmux.press("y")
        tmux.wait(f"{n} items done", items_done(n))
    tmux.press("F2")
    # Pre-infusion documentation: the lot's expiry typed (a year ahead), Tab, the IgA status
    # chosen from its list (Enter opens it on the blank prompt; 'normal' is two down), F2.
    tmux.wait_text("pre-infusion documentation", "Lot DEMO-LOT-1", "f2 Next: plan preview")
    expiry = (datetime.now(UTC).date() + timedelta(days=365)).isoformat()
    tmux.type(expiry)
    tmux.wait_text(f"Lot expiry      {expiry}")
    tmux.press("Tab", "Enter")
    tmux.wait_text("deficient with anti-IgA antibodies")  # the list is open
    tmux.press("Down", "Down", "Enter")
    tmux.wait(
        "IgA status normal",
        lambda text: re.search(r"IgA status\s+normal", text) is not None and "anti-IgA" not in text,
    )
    tmux.press("F2")
    # Plan preview: F2 confirms.
    tmux.wait_text("plan preview", "f2 Confirm plan")
    tmux.press("F2")
    tmux.wait_text("TRAINING", "Baseline vital signs", "v Vitals")

    # Baseline vitals: typed field by field (Enter moves on; the last Enter records).
    tmux.press("v")
    fill_vitals(tmux, ("36.8", "76", "122", "78", "16", "98"), move="Enter")
    tmux.wait(
        "the baseline vitals recorded",
        lambda text: "vitals recorded" in text and "F2 record" not in text,
    )
    # Symptoms: none ticked, F2 records.
    tmux.press("s")
    tmux.wait_text("Symptoms present NOW")
    tmux.press("F2")
    tmux.wait(
        "the start prompt",
        lambda text: (
            "Start the infusion" in text
            and "Keys: a = accept" in text
            and "Symptoms present NOW" not in text
        ),
    )
    # The start: a, then Enter and C (two deliberate keys, each after the screen asked for it).
    tmux.press("a")
    tmux.wait_text("press Enter, then C to confirm")
    tmux.press("Enter")
    tmux.wait_text("Press C to confirm")
    tmux.press("c")
    tmux.wait(
        "the infusion running",
        lambda text: (
            re.search(r"step 1 of \d+ · RUNNING", text) is not None
            and "mL/h" in text
            and "Press C to confirm" not in text
        ),
    )

    # The first vitals fall due (15 demo minutes); one set, recorded.
    tmux.wait_text("Vital signs due", "v Vitals", timeout=120)
    tmux.press("v")
    fill_vitals(tmux, ("36.9", "78", "120", "76", "16", "98"), move="Tab")
    tmux.press("F2")
    tmux.wait(
        "the second vitals set",
        lambda text: text.count("vitals recorded") >= 2 and "F2 record" not in text,
    )

    # STOP: recorded, shown, and the pump no longer infusing.
    tmux.press("F9")
    tmux.wait(
        "the infusion stopped",
        lambda text: (
            re.search(r"step 1 of \d+ · STOPPED", text) is not None
            and "Infusion stopped" in text
            and ("STOP pressed" in text or "STOP recorded" in text)
            and "INFUSING" not in text
        ),
    )

    # The audit log: private, intact, unfinished (the session is stopped, not closed).
    logs = list((data_dir / "training").glob("*.jsonl"))
    assert len(logs) == 1, logs
    log = logs[0]
    poll(
        "stop_requested in the log",
        lambda: "stop_requested" in log_kinds(log),
        10,
        lambda: f"log kinds: {log_kinds(log)}",
    )
    assert log.stat().st_mode & 0o777 == 0o600
    result = verify_log(log)
    assert result.outcome is Outcome.UNFINISHED, result.summary()
    kinds = log_kinds(log)
    assert kinds.count("vitals_accepted") == 2, kinds
    assert kinds.index("preinfusion_recorded") < kinds.index("checklist_answered"), kinds
    assert "input_refused" not in kinds, kinds

    # Quit deliberately: q is not bound; the app is left to the fixture to kill.
    tmux.press("F9")  # a second STOP is accepted too
    poll(
        "the second STOP in the log",
        lambda: log_kinds(log).count("stop_requested") == 2,
        60,
        lambda: f"log kinds: {log_kinds(log)}",
    )
