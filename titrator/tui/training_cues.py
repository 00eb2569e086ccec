"""Training: what the scenario shows the trainee at the bedside, as notices.

A running training scenario (`titrator.tui.services.TrainingHooks`) has cues that fall due with
time or follow a decision (a beeping pump, a new bag) and a simulated patient who says how they
feel. `TrainingCues` shows each as a notice marked TRAINING, the patient's words only when they
change.
"""

from __future__ import annotations

from typing import Any

from textual.app import App

from titrator.domain.clock import Instant
from titrator.domain.session.decision import Decision
from titrator.tui.services import TrainingHooks


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
