"""A pause the nurse asks for (not a reaction): same rate on resume, fresh vitals, no STOP-like
side effects, and replay reproduces it."""

from __future__ import annotations

from decimal import Decimal

from tests.support.plans import at
from titrator.domain.decisions import PromptKind, PumpCommandKind
from titrator.domain.decisions import SessionState as S
from titrator.domain.events import AuditEvent
from titrator.domain.replay import replay

from .engine_helpers import Driver


def events_of(driver: Driver) -> list[AuditEvent]:
    return [event for decision in driver.log for event in decision.events]


def test_a_nurse_pause_resumes_at_the_same_rate_when_the_nurse_is_ready() -> None:
    d = Driver()
    d.start()
    d.vitals(15)
    r = d.feed(d.session.pause("line check", at(20)))
    assert r.state is S.PAUSED
    assert r.rate_ml_per_h == 0
    assert [c.kind for c in r.commands] == [PumpCommandKind.PAUSE]
    prompt = d.session.prompt  # once the pump has confirmed the pause
    assert prompt is not None
    assert prompt.kind is PromptKind.RESUME
    assert "Paused by the nurse" in prompt.text
    assert prompt.proposed_rate_ml_per_h == Decimal(35)
    r = d.accept(22)
    assert d.session.state is S.RUNNING  # not a reaction: not "slowed" (start confirmed)
    assert r.rate_ml_per_h == Decimal(35)
    assert [c.kind for c in r.commands] == [PumpCommandKind.START]
    assert replay(events_of(d)).ok


def test_resuming_after_a_long_pause_needs_fresh_vitals() -> None:
    d = Driver()
    d.start()
    d.vitals(15)
    d.feed(d.session.pause("patient to the bathroom", at(20)))
    r = d.tick(40)  # the last vitals (15 min) are older than the policy allows for a restart
    assert r.prompt is not None
    assert r.prompt.kind is not PromptKind.RESUME
    assert d.accept(41).refusal is not None
    d.vitals(42)
    r = d.tick(42)
    assert r.prompt is not None
    assert r.prompt.kind is PromptKind.RESUME


def test_a_pause_needs_a_reason_and_something_running() -> None:
    d = Driver()
    d.to_baseline()
    assert d.feed(d.session.pause("early", at(-10))).refusal == "nothing is running to pause"
    d.start()
    refused = d.feed(d.session.pause("  ", at(5)))
    assert refused.refusal == "say why the infusion is paused"
    assert d.session.state is S.RUNNING


def test_a_nurse_pause_is_not_a_reaction_pause() -> None:
    d = Driver()
    d.start()
    d.vitals(15)
    d.feed(d.session.pause("bag change", at(20)))
    d.accept(21)
    d.vitals(29)
    r = d.tick(30)  # the dwell restarted at the resume: no step-up yet
    assert r.prompt is None or r.prompt.kind is not PromptKind.STEP_UP
    d.vitals(50)
    r = d.tick(51)
    assert r.prompt is not None
    assert r.prompt.kind is PromptKind.STEP_UP  # climbing again is allowed after a nurse pause


def test_a_reaction_during_a_nurse_pause_makes_it_a_reaction_pause() -> None:
    # Found by the stateful test: a fever recorded while paused by the nurse must not let the
    # infusion resume at the same rate.
    d = Driver()
    d.start()
    d.feed(d.session.pause("bathroom", at(5)))
    d.vitals(6, temp_c="38.2")
    assert d.session.reaction_open
    d.vitals(40)  # settled, after the policy's pause time
    r = d.tick(40)
    prompt = d.session.prompt
    assert prompt is not None
    if prompt.kind is PromptKind.RESUME:
        assert prompt.proposed_rate_ml_per_h is not None
        assert prompt.proposed_rate_ml_per_h < Decimal(35), "never the same rate after a reaction"
    assert r.rate_ml_per_h == 0
