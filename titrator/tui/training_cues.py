"""Training: what the scenario shows the trainee at the bedside, as notices and in words.

A running training scenario (`titrator.tui.services.TrainingHooks`) has cues that fall due with
time or follow a decision (a beeping pump, a new bag) and a simulated patient who says how they
feel. `TrainingCues` shows each as a notice marked TRAINING, the patient's words only when they
change. `patient_words` and `monitor_words` put what the patient says and what the simulated
monitor shows in the words a nurse reads ("Monitor: temperature 38.4 °C, heart rate 112/min"),
never the simulator's field names; the run screen shows them while a scenario runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from textual.app import App

from titrator.domain.clock import Instant
from titrator.domain.session.decision import Decision
from titrator.tui.services import TrainingHooks

_MONITOR_WORDS: Final = (
    ("temp_c", "temperature {} °C"),
    ("hr_bpm", "heart rate {}/min"),
    ("rr_bpm", "breathing {}/min"),
    ("spo2_pct", "SpO2 {} %"),
)
"""The simulated monitor's fields in words, in the order a nurse reads them (blood pressure,
from `sbp_mmhg` and `dbp_mmhg`, goes after the heart rate)."""


def monitor_words(monitor: Mapping[str, str]) -> str:
    """The monitor as a nurse reads it: 'Monitor: temperature 38.4 °C, heart rate 112/min, ...'.

    A field this list does not know is shown with its underscores as spaces, never dropped.
    """
    words = dict(_MONITOR_WORDS)
    parts = [words[key].format(monitor[key]) for key in ("temp_c", "hr_bpm") if key in monitor]
    sbp, dbp = monitor.get("sbp_mmhg"), monitor.get("dbp_mmhg")
    if sbp is not None and dbp is not None:
        parts.append(f"blood pressure {sbp}/{dbp} mmHg")
    elif sbp is not None:
        parts.append(f"systolic blood pressure {sbp} mmHg")
    elif dbp is not None:
        parts.append(f"diastolic blood pressure {dbp} mmHg")
    parts += [words[key].format(monitor[key]) for key in ("rr_bpm", "spo2_pct") if key in monitor]
    known = {*words, "sbp_mmhg", "dbp_mmhg"}
    parts += [
        f"{key.replace('_', ' ')} {value}" for key, value in monitor.items() if key not in known
    ]
    return "Monitor: " + (", ".join(parts) if parts else "no reading")


def patient_words(complaints: list[str]) -> str:
    """What the patient says now, as a nurse hears it ('Patient says: ...')."""
    said = " ".join(c.strip() for c in complaints if c.strip())
    return f"Patient says: {said}" if said else "Patient says nothing (no complaint)."


def bedside_text(hooks: TrainingHooks) -> str:
    """The patient's words and the monitor, two lines marked TRAINING (for the run screen)."""
    return f"TRAINING · {patient_words(hooks.complaints())}\n{monitor_words(hooks.monitor())}"


class TrainingCues:
    """Shows a training scenario's cues and the patient's words.

    Args:
        app: where the notices are shown.
        hooks: the running scenario.
    """

    def __init__(self, app: App[Any], hooks: TrainingHooks) -> None:
        self._app = app
        self._hooks = hooks
        self._complaints = ""

    def after(self, decision: Decision, now: Instant) -> None:
        """Tell the scenario about an applied decision; show the cues that follow from it."""
        self._show(self._hooks.on_decision(decision, now))

    def tick(self, now: Instant) -> None:
        """Show the cues that fall due now, and what the patient says when it changed."""
        self._show(self._hooks.tick(now))
        said = " ".join(self._hooks.complaints())
        if said != self._complaints:
            self._complaints = said
            if said:
                self._app.notify(f"The patient says: {said}", title="TRAINING", timeout=20)

    def _show(self, notices: list[str]) -> None:
        """Show bedside cues as the trainee would see them."""
        for notice in notices:
            self._app.notify(notice, title="TRAINING", severity="warning", timeout=15)
