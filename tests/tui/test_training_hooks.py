"""Training in the app: the hooks are called at the documented points and shown to the trainee."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import SelectionList

from tests.support.app import AppFactory
from tests.tui.harness import (
    on_screen,
    open_session,
    quick_start,
    screen_text,
    settle,
)
from titrator.domain.clock import Instant
from titrator.domain.events import StopRequested
from titrator.domain.session.decision import Decision
from titrator.domain.setup import InfusionSetup, RiskFactor
from titrator.shell.controller import InfusionController
from titrator.tui.dialogs.vitals import VitalsModal
from titrator.tui.screens.setup import SetupScreen
from titrator.tui.screens.summary import SummaryScreen
from titrator.tui.screens.text import TextScreen


@dataclass
class FakeTraining:
    """Records the app's calls; a patient who complains after 20 minutes."""

    calls: list[str] = field(default_factory=list)
    decisions: int = 0
    start_ms: int | None = None
    now_ms: int = 0

    def briefing(self) -> str:
        return "BRIEFING: listen to the patient."

    def risk_factors(self) -> tuple[RiskFactor, ...]:
        return (RiskFactor.DIABETES,)

    def mark_setup(self, setup: InfusionSetup) -> InfusionSetup:
        self.calls.append("mark_setup")
        return setup.model_copy(update={"raw": {**setup.raw, "training": "true"}})

    def attach(self, controller: InfusionController, now: Instant) -> None:
        self.calls.append("attach")

    def tick(self, now: Instant) -> list[str]:
        self.now_ms = now.mono_ms
        if self.start_ms is None:
            self.start_ms = now.mono_ms
        return ["The pump is beeping"] if now.mono_ms - self.start_ms >= 20 * 60_000 else []

    def on_decision(self, decision: Decision, now: Instant) -> list[str]:
        self.decisions += 1
        return []

    def monitor(self) -> dict[str, str]:
        return {"temp_c": "38.4", "hr_bpm": "104"}

    def complaints(self) -> list[str]:
        return ["I feel hot and shivery."]

    def debrief_text(self, audit_path: Path, html_path: Path) -> str:
        self.calls.append("debrief")
        html_path.write_text("<html>debrief</html>")
        return "DEBRIEF: score 50%"


async def dismiss_briefing(pilot: Pilot[Any]) -> None:
    """The briefing comes first: read it, Enter to the setup."""
    await on_screen(pilot, TextScreen)
    await pilot.press("enter")
    await on_screen(pilot, SetupScreen)


async def test_training_hooks_reach_the_trainee(make_app: AppFactory) -> None:
    built = make_app()
    fake = FakeTraining()
    built.services.training_hooks = fake
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await dismiss_briefing(pilot)
        await quick_start(pilot)
        assert fake.calls[:2] == ["mark_setup", "attach"]
        assert fake.decisions > 0
        assert app.setup is not None
        assert app.setup.raw["training"] == "true"  # recorded in session_opened
        # The monitor and the patient's words sit above the vitals form (not pre-filled).
        await pilot.press("v")
        await on_screen(pilot, VitalsModal)
        shown = screen_text(pilot)
        assert "TRAINING" in shown
        assert "Monitor: temperature 38.4 °C" in shown
        assert "hot and shivery" in shown
        await pilot.press("escape")


async def test_the_debrief_follows_the_end_of_a_training_session(make_app: AppFactory) -> None:
    built = make_app()
    fake = FakeTraining()
    built.services.training_hooks = fake
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await dismiss_briefing(pilot)
        await open_session(pilot)
        app.feed(StopRequested(at=app.now(), reason="trainee"))  # aborted: the log closes
        await settle(pilot)
        await on_screen(pilot, TextScreen)
        assert "DEBRIEF: score 50%" in screen_text(pilot)
        assert "debrief" in fake.calls
        await pilot.press("enter")
        await on_screen(pilot, SummaryScreen)
    assert built.log_path.with_suffix(".debrief.html").exists()


async def test_the_briefing_comes_first_and_the_risks_are_ticked(make_app: AppFactory) -> None:
    built = make_app()
    built.services.training_hooks = FakeTraining()
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await on_screen(pilot, TextScreen)
        assert "BRIEFING" in screen_text(pilot)
        await dismiss_briefing(pilot)
        risks: SelectionList[RiskFactor] = app.screen.query_one("#risk_factors", SelectionList)
        assert risks.selected == [RiskFactor.DIABETES]
