"""Words a nurse reads (issue 12, item 7).

One demo session walked screen by screen at 80x24, from the setup through a reaction, a pause, a
resume at a lower rate and a STOP to the summary. On every screen: no internal names
(`VITALS_DUE`, `sbp_mmhg`: any snake_case or UPPER_SNAKE token), no "Paused: Paused:", never
"Vitals due —" while vitals are due, no "Step 1 is due" while on step 1, and F9 STOP offered
only where there is something to stop.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.support.app import FEVER_VITALS, NORMAL_VITALS, build_app
from tests.tui.harness import (
    accept,
    advance,
    decision,
    fill_vitals,
    finish_preinfusion,
    on_screen,
    open_session,
    prompt_kind,
    record_symptoms,
    record_vitals,
    screen_text,
    settle,
    the_app,
    wait_for,
)
from titrator.domain.decisions import AlarmCode, PromptKind, SessionState
from titrator.domain.events import StopRequested
from titrator.domain.policy import Action
from titrator.tui.dialogs.symptoms import SymptomsModal
from titrator.tui.dialogs.vitals import VitalsModal
from titrator.tui.screens.checklist import ChecklistScreen
from titrator.tui.screens.preinfusion import PreInfusionScreen
from titrator.tui.screens.run import RunScreen
from titrator.tui.screens.setup import SetupScreen
from titrator.tui.screens.summary import SummaryScreen
from titrator.tui.screens.words import ACTION_WORDS, ALARM_WORDS, STATE_WORDS

INTERNAL_NAME = re.compile(r"\b[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]+\b")
"""snake_case or UPPER_SNAKE: an engine, event or field name, not a word."""


class Walk:
    """Reads every screen it is shown and keeps what a nurse should never read."""

    def __init__(self, pilot: Pilot[Any]) -> None:
        self.pilot = pilot
        self.seen: list[str] = []
        self.problems: list[str] = []

    def look(self, where: str) -> str:
        """Read the screen now; note every rule it breaks."""
        text = screen_text(self.pilot)
        self.seen.append(where)
        flat = " ".join(text.split())
        for name in INTERNAL_NAME.findall(text):
            self.problems.append(f"{where}: internal name {name!r}")
        if "Paused: Paused:" in flat:
            self.problems.append(f"{where}: 'Paused: Paused:'")
        app = the_app(self.pilot)
        d = app.decision
        if d is not None and isinstance(app.screen, RunScreen):
            due = d.state is SessionState.VITALS_DUE or prompt_kind(app) is PromptKind.VITALS_DUE
            if due and "Vitals due —" in flat:
                self.problems.append(f"{where}: 'Vitals due —' while vitals are due")
            if d.step is not None and f"Step {d.step} is due" in flat:
                self.problems.append(f"{where}: 'Step {d.step} is due' on step {d.step}")
        stop_offered = "F9 STOP" in text.splitlines()[-1]
        active = app.infusion_active
        if stop_offered != active and not isinstance(app.screen, (VitalsModal, SymptomsModal)):
            state = "offered with nothing to stop" if stop_offered else "not offered"
            self.problems.append(f"{where}: F9 STOP {state}")
        return text


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tmp working directory: the summary shows the log's path relative to it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


async def test_a_whole_demo_session_shows_no_internal_names(in_tmp: Path) -> None:
    built = build_app(Path("sessions"))
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        walk = Walk(pilot)
        await on_screen(pilot, SetupScreen)
        await pilot.pause()
        walk.look("setup")
        await pilot.press("f2")
        await on_screen(pilot, ChecklistScreen)
        await pilot.press("y", "f2")  # not all done: the problem list
        await pilot.pause()
        walk.look("checklist with problems")
        await pilot.press(*"yyyyyyy", "f2")
        await on_screen(pilot, PreInfusionScreen)
        await pilot.pause()
        walk.look("pre-infusion documentation")
        await finish_preinfusion(pilot)
        await pilot.pause()
        walk.look("plan preview")
        await pilot.press("f2")
        await on_screen(pilot, RunScreen)
        await settle(pilot)
        walk.look("baseline")

        await fill_vitals(pilot, {**NORMAL_VITALS, "sbp_mmhg": "abc", "hr_bpm": ""})
        await pilot.press("f2")
        await wait_for(pilot, lambda: "Not recorded" in screen_text(pilot), "the refusal")
        walk.look("vitals refused")
        await pilot.press("escape")
        await on_screen(pilot, RunScreen)
        walk.look("the refusal in the events")
        await record_vitals(pilot)
        await record_symptoms(pilot)
        walk.look("start offered")
        await accept(pilot)
        assert decision(app).state is SessionState.RUNNING
        walk.look("running")

        await advance(pilot, built, minutes=15)
        assert decision(app).state is SessionState.VITALS_DUE
        walk.look("vitals due")
        await advance(pilot, built, minutes=16)
        walk.look("vitals overdue, dwell over")
        await record_vitals(pilot)
        assert prompt_kind(app) is PromptKind.STEP_UP
        walk.look("step-up offered")
        await accept(pilot)
        walk.look("step 2")

        await record_vitals(pilot, FEVER_VITALS)  # a reaction: pause recommended
        walk.look("reaction")
        await accept(pilot)
        await settle(pilot)
        assert decision(app).state is SessionState.PAUSED
        walk.look("paused for the reaction")
        await advance(pilot, built, minutes=10)
        walk.look("paused, not ready to resume")
        await advance(pilot, built, minutes=25)
        await record_vitals(pilot)
        await record_symptoms(pilot)
        walk.look("resume offered")
        if prompt_kind(app) is PromptKind.RESUME:
            await accept(pilot)
            walk.look("resumed lower")
            for _ in range(4):
                await advance(pilot, built, minutes=15)
                walk.look("after a resume")
                await record_vitals(pilot)
                walk.look("after a resume, vitals taken")

        app.feed(StopRequested(at=app.now(), reason="STOP key (F9)"))
        await settle(pilot)
        walk.look("stopped")

    assert len(walk.seen) >= 15
    assert walk.problems == []


async def test_the_summary_of_a_stopped_session_offers_no_stop(in_tmp: Path) -> None:
    built = build_app(Path("sessions"))
    async with built.app.run_test(size=(80, 24)) as pilot:
        walk = Walk(pilot)
        await open_session(pilot)
        walk.look("baseline")
        await pilot.press("f9")  # before the start: the session is aborted and summarised
        await on_screen(pilot, SummaryScreen)
        await pilot.pause()
        text = walk.look("summary")
        assert "Session closed." in text
        assert "F9 STOP" not in text
    assert walk.problems == []


def test_every_state_alarm_and_action_has_words() -> None:
    assert set(STATE_WORDS) == set(SessionState)
    assert set(ALARM_WORDS) == set(AlarmCode)
    assert set(ACTION_WORDS) == set(Action)
    for words in (*STATE_WORDS.values(), *ALARM_WORDS.values(), *ACTION_WORDS.values()):
        assert INTERNAL_NAME.search(words) is None, words
