"""The engine never invents pump state (issue 12, item 1).

The infusion runs, and its step timer, vitals schedule and volume count, only from the moment the
pump confirms the start; a status read that says the pump is not infusing after a start means the
start did not happen (never "the pump stopped by itself"); STOP during an unconfirmed start stops
the pump; and no `pump_status` event is ever recorded that was not fed in.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.clinical import NORMAL, POLICY
from tests.support.plans import at
from tests.unit.domain.engine_helpers import Driver
from titrator.domain.clock import minutes_to_ms
from titrator.domain.decisions import Choice, LinkState, PromptKind, PumpCommandKind
from titrator.domain.decisions import SessionState as S
from titrator.domain.events import (
    InputEvent,
    NurseDecided,
    PumpOutcome,
    PumpStatusRead,
    StopRequested,
    Tick,
    VitalsEntered,
)
from titrator.domain.session.decision import Decision


def _started_unconfirmed(t: float = 0) -> tuple[Driver, Decision]:
    """A session whose START went out at `t` and has no outcome yet."""
    d = Driver()
    d.to_baseline(-10)
    d.vitals(-5)
    d.feed(d.session.record_symptoms([], at(-5)))
    return d, d.feed(d.session.accept(at(t)), confirm=False)


def _start_command(decision: Decision) -> int:
    [command] = decision.commands
    assert command.kind is PumpCommandKind.START
    return command.command_id


def test_running_and_the_step_timer_begin_when_the_pump_confirms_the_start() -> None:
    d, r = _started_unconfirmed(0)
    assert r.state is S.BASELINE
    assert r.prompt is not None
    assert r.prompt.kind is PromptKind.INFO
    assert "confirm" in r.prompt.text
    r = d.tick(8)  # the nurse is still at the pump
    assert r.state is S.BASELINE
    assert r.volume_ml == 0
    confirm = PumpOutcome(
        at=at(10),
        command_id=_start_command(d.log[-2]),
        outcome="confirmed",
        reported_rate_ml_per_h=Decimal(35),
    )
    r = d.feed(d.session.handle(confirm))
    assert r.state is S.RUNNING
    assert r.volume_ml == 0  # nothing ran before the confirmation
    # The 30-minute dwell counts from the confirmation at 10 min, not from the accept at 0.
    assert r.due.step_up_ms == at(40).mono_ms
    first_check = minutes_to_ms(POLICY.monitoring.first_check_after_start_min)
    assert r.due.vitals_ms == at(10).mono_ms + first_check


def test_a_start_the_pump_never_ran_is_not_a_pump_that_stopped_by_itself() -> None:
    d, r = _started_unconfirmed(0)
    failed = PumpOutcome(at=at(5), command_id=_start_command(r), outcome="uncertain")
    r = d.feed(d.session.handle(failed), confirm=False)
    assert [c.kind for c in r.commands] == [PumpCommandKind.READ_STATUS]
    assert d.session.link is LinkState.UNCERTAIN
    typed = PumpStatusRead(at=at(6), running=False, rate_ml_per_h=Decimal(0))
    r = d.feed(d.session.handle(typed), confirm=False)
    assert r.state is S.BASELINE
    assert r.rate_ml_per_h == 0
    assert r.prompt is not None
    assert r.prompt.kind is PromptKind.START  # asked again, nothing assumed
    assert "stopped by itself" not in r.prompt.text
    assert not r.commands


def test_stop_during_an_unconfirmed_start_stops_the_pump() -> None:
    d, _r = _started_unconfirmed(0)
    r = d.feed(d.session.stop("F9", at(1)), confirm=False)
    assert r.state is S.STOPPED  # not aborted as if nothing had been sent
    assert [c.kind for c in r.commands] == [PumpCommandKind.STOP]


_INPUTS = st.sampled_from(["tick", "vitals", "accept", "stop", "running", "not running"])


@settings(max_examples=80, deadline=None)
@given(steps=st.lists(st.tuples(_INPUTS, st.booleans()), min_size=1, max_size=25))
def test_a_pump_status_is_only_ever_an_input_never_made_up(steps: list[tuple[str, bool]]) -> None:
    """Over any sequence (pump replies given or withheld): no decision adds a pump_status."""
    d = Driver()
    d.to_baseline(-10)
    d.vitals(-5)
    d.feed(d.session.record_symptoms([], at(-5)))
    for minute, (what, reply) in enumerate(steps):
        now = at(minute)
        event: InputEvent
        if what == "tick":
            event = Tick(at=now)
        elif what == "vitals":
            event = VitalsEntered(at=now, raw=dict(NORMAL))
        elif what == "accept":
            event = NurseDecided(at=now, choice=Choice.ACCEPT)
        elif what == "stop":
            event = StopRequested(at=now, reason="F9")
        else:
            running = what == "running"
            event = PumpStatusRead(at=now, running=running, rate_ml_per_h=d.session.rate_ml_per_h)
        d.feed(d.session.handle(event), confirm=reply)
    for decision in d.log:
        made = [e for e in decision.events[1:] if isinstance(e, PumpStatusRead)]
        assert made == [], f"a pump_status made up after {decision.events[0].kind}"
