"""The words of the engine's prompts (issue 12, item 7): never a step "due" that is already the
step on screen, never "Paused: Paused:"."""

from __future__ import annotations

from tests.support.plans import at
from titrator.domain.decisions import OverrideReason, PromptKind
from titrator.domain.decisions import SessionState as S

from .engine_helpers import Driver


def test_back_up_to_the_rate_of_the_current_step_is_not_called_that_step_being_due() -> None:
    d = Driver()
    d.start()
    d.feed(d.session.record_symptoms(["flushing"], at(5)))
    r = d.accept(5)  # the reaction's pause, on step 1
    assert r.state is S.PAUSED
    d.feed(d.session.record_symptoms([], at(20)))
    d.vitals(30)
    r = d.tick(36)
    assert r.prompt is not None
    assert r.prompt.kind is PromptKind.RESUME
    r = d.accept(36)  # resumed below the rate of step 1
    assert d.session.step == 1
    first_rate = d.session.plan.steps[0].rate_ml_per_h
    assert r.rate_ml_per_h < first_rate
    r = d.feed(d.session.override(OverrideReason.PRESCRIBER_ORDER, at(37), "Dr A"))
    d.vitals(70)
    r = d.tick(75)
    assert r.prompt is not None
    assert r.prompt.kind is PromptKind.STEP_UP
    assert r.prompt.proposed_rate_ml_per_h == first_rate
    assert "Step 1 is due" not in r.prompt.text
    assert r.prompt.text.startswith("Back to the planned rate of step 1: increase from")


def test_a_pause_that_cannot_end_yet_says_so_once() -> None:
    d = Driver()
    d.start()
    d.feed(d.session.record_symptoms(["flushing"], at(5)))
    r = d.accept(5)
    assert r.state is S.PAUSED
    r = d.tick(10)
    assert r.prompt is not None
    assert r.prompt.title == "Paused"
    assert not r.prompt.text.startswith("Paused")
    assert r.prompt.text.startswith("Not ready to resume: the pause has not ended")
