"""After an emergency stop the rate never rises above 0 in that session, whatever follows.

Generated event sequences (issue 13, item 1): an anaphylaxis presentation is recognised and the
emergency stop followed; then overrides with every reason (a prescriber's order included), new
lots, resumes after a crash (a replay of the log, `session_resumed`, a status read that may
report the pump still running), replays, vitals, cleared symptoms, pauses, STOP and time passing.
No rate above 0, no START or SET_RATE, and every override that would restart the infusion
refused and recorded (`input_refused` with `hard_limit: true`).
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.clinical import NORMAL
from tests.support.plans import at
from tests.unit.domain.engine_helpers import Driver
from titrator.domain.decisions import OverrideReason, PromptKind, PumpCommandKind
from titrator.domain.events import (
    AuditEvent,
    InputRefused,
    PumpStatusRead,
    RateChanged,
)
from titrator.domain.policy import Action
from titrator.domain.replay import replay
from titrator.domain.session.decision import Decision

PRESENTATIONS: list[tuple[list[str], dict[str, str]]] = [
    (["urticaria", "wheeze"], {}),  # was "moderate" and restartable before issue 13
    (["urticaria", "vomiting"], {}),
    (["angioedema", "abdominal_pain"], {}),
    (["flushing", "rash"], {"sbp_mmhg": "80", "dbp_mmhg": "50"}),
    (["wheeze"], {}),
    (["stridor"], {}),
    ([], {"sbp_mmhg": "84", "dbp_mmhg": "50"}),
    (["respiratory_distress", "urticaria"], {"spo2_pct": "91"}),
]
RESTARTING = (PromptKind.STOPPED, PromptKind.REACTION, PromptKind.HOLDING)
"""Prompts whose override would restart the infusion or keep it running."""
Action_ = tuple[str, object]
ACTIONS = st.one_of(
    st.tuples(st.just("override"), st.sampled_from(list(OverrideReason))),
    st.tuples(st.just("accept"), st.none()),
    st.tuples(st.just("lot"), st.sampled_from(["L2", "L3"])),
    st.tuples(st.just("crash"), st.booleans()),
    st.tuples(st.just("replay"), st.none()),
    st.tuples(st.just("vitals"), st.none()),
    st.tuples(st.just("clear"), st.none()),
    st.tuples(st.just("time"), st.integers(1, 150)),
    st.tuples(st.just("pause"), st.none()),
    st.tuples(st.just("stop"), st.none()),
    st.tuples(st.just("status"), st.booleans()),
)


class Bedside:
    """A driver that remembers the whole log (for replays) and the time in minutes."""

    def __init__(self) -> None:
        self.d = Driver()
        self.t = Decimal(40)
        self.after: list[Decision] = []

    def events(self) -> list[AuditEvent]:
        return [event for decision in self.d.log for event in decision.events]

    def feed(self, decision: Decision, confirm: bool = True) -> Decision:
        start = len(self.d.log)
        self.d.feed(decision, confirm)
        self.after.extend(self.d.log[start:])
        return decision

    def act(self, kind: str, arg: object) -> None:
        s, now = self.d.session, at(self.t)
        if kind == "override":
            assert isinstance(arg, OverrideReason)
            prompt = s.prompt
            decision = self.feed(s.override(arg, now, "retry ordered"))
            refused = [e for e in decision.events if isinstance(e, InputRefused)]
            if prompt is not None and prompt.kind in RESTARTING:
                # An override there would restart or keep infusing: refused, and recorded.
                assert refused, f"an override was accepted after the emergency stop ({prompt})"
                assert refused[0].hard_limit, refused[0].reason
        elif kind == "accept":
            self.feed(s.accept(now))
        elif kind == "lot":
            self.feed(s.record_lot(str(arg), now))
        elif kind in ("crash", "replay"):
            result = replay(self.events())
            assert result.ok, result.mismatch
            assert result.session.rate_ml_per_h == 0
            assert result.session.never_restart
            self.d.session = result.session
            if kind == "crash":
                self.t += 7
                decision = self.feed(self.d.session.resume(at(self.t), "crash"), confirm=False)
                self.status(running=bool(arg), decision=decision)
        elif kind == "vitals":
            self.feed(s.record_vitals(NORMAL, now))
        elif kind == "clear":
            self.feed(s.record_symptoms([], now))
        elif kind == "time":
            assert isinstance(arg, int)
            self.t += arg
            self.feed(s.tick(at(self.t)))
        elif kind == "pause":
            self.feed(s.pause("line check", now))
        elif kind == "stop":
            self.feed(s.stop("F9", now))
        else:
            self.status(running=bool(arg), decision=None)

    def status(self, running: bool, decision: Decision | None) -> None:
        """A status read: the truth (stopped), or a pump that says it is still infusing."""
        rate = Decimal(42) if running else Decimal(0)
        read = PumpStatusRead(at=at(self.t), running=running, rate_ml_per_h=rate)
        self.feed(self.d.session.handle(read))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    presentation=st.sampled_from(PRESENTATIONS),
    by_stop_key=st.booleans(),
    actions=st.lists(ACTIONS, max_size=25),
)
def test_no_rate_above_zero_after_an_emergency_stop(
    presentation: tuple[list[str], dict[str, str]], by_stop_key: bool, actions: list[Action_]
) -> None:
    bed = Bedside()
    d = bed.d
    d.start()
    d.vitals(15)
    d.vitals(30)
    d.accept(30)  # step 2
    assert d.session.rate_ml_per_h > 0
    symptoms, vitals = presentation
    d.feed(d.session.record_symptoms(symptoms, at(38)))
    decision = d.vitals(38, **vitals)
    assert decision.recommendation is not None
    assert decision.recommendation.action is Action.EMERGENCY_STOP
    assert d.session.never_restart
    if by_stop_key:
        bed.feed(d.session.stop("F9: anaphylaxis", at(39)))
    else:
        bed.feed(d.session.accept(at(39)))
    assert d.session.rate_ml_per_h == 0
    for kind, arg in actions:
        bed.act(kind, arg)
        assert bed.d.session.rate_ml_per_h == 0
    for decision in bed.after:
        assert decision.rate_ml_per_h == 0
        for command in decision.commands:
            assert command.kind not in (PumpCommandKind.START, PumpCommandKind.SET_RATE)
        for event in decision.events:
            if isinstance(event, RateChanged):
                assert event.to_ml_per_h == 0


def test_the_refusal_record_is_an_input_refused_event_with_hard_limit() -> None:
    bed = Bedside()
    d = bed.d
    d.start()
    d.feed(d.session.record_symptoms(["urticaria", "wheeze"], at(20)))
    d.accept(21)
    decision = d.feed(d.session.override(OverrideReason.PRESCRIBER_ORDER, at(25), "Dr A"))
    kinds = [event.kind for event in decision.events]
    assert kinds == ["nurse_decided", "input_refused"]
    refused = decision.events[1]
    assert isinstance(refused, InputRefused)
    assert refused.hard_limit
    assert refused.input_kind == "nurse_decided"
    assert decision.refusal == refused.reason
