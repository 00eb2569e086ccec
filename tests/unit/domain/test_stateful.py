"""Generated sessions: the safety invariants of design.md hold after every input.

Run count: 1,000 sessions of 50 inputs with CI set, 100 otherwise.
"""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.support.clinical import NORMAL, POLICY
from tests.support.plans import T0, make_plan
from titrator.domain.checklist import all_confirmed
from titrator.domain.clock import Instant, minutes_to_ms
from titrator.domain.decisions import LinkState, OverrideReason, PumpCommandKind
from titrator.domain.events import (
    AuditEvent,
    AuditHealthChanged,
    LinkStateChanged,
    PumpCommandIssued,
    PumpLinkChanged,
    PumpOutcome,
    PumpStatusRead,
    RateChanged,
    ReactionCleared,
    ReactionOpened,
    StopRequested,
    VitalsAccepted,
)
from titrator.domain.perfect_pump import PerfectPump
from titrator.domain.plan_model import Plan
from titrator.domain.policy import Policy
from titrator.domain.replay import replay
from titrator.domain.session.decision import Decision
from titrator.domain.session.engine import InfusionSession

REESCALATE: Policy = POLICY.model_copy(
    update={
        "restart": POLICY.restart.model_copy(
            update={"after_pause": "may_reescalate", "slow_to": "fraction"}
        )
    }
)
PLANS = [
    make_plan(),
    make_plan(max_rate_ml_per_h="100"),
    make_plan(rates=("20", "40"), dwell_min="15", total_volume_ml="40"),
]
VITALS = st.sampled_from(
    [
        NORMAL,
        NORMAL,
        NORMAL,
        {**NORMAL, "temp_c": "38.2"},
        {**NORMAL, "temp_c": "39.5"},
        {**NORMAL, "spo2_pct": "90"},
        {**NORMAL, "sbp_mmhg": "85", "dbp_mmhg": "50"},
        {**NORMAL, "hr_bpm": "125"},
        {**NORMAL, "temp_c": "370"},
    ]
)
SYMPTOMS = st.lists(
    st.sampled_from(["headache", "flushing", "nausea", "urticaria", "stridor", "chills"]),
    max_size=2,
)


class SessionMachine(RuleBasedStateMachine):
    """Random nurses, pumps and audit writers against one session."""

    def __init__(self) -> None:
        super().__init__()
        self.session: InfusionSession
        self.plan: Plan
        self.policy: Policy
        self.now = T0
        self.log: list[AuditEvent] = []
        self.audit_failing = False
        self.link = LinkState.OK
        self.reaction_open = False
        self.rate_at_reaction = Decimal(0)
        self.last_running_rate = Decimal(0)
        self.never_restart = False
        self.rate = Decimal(0)
        self.step: int | None = None
        self.rate_changed_ms: int | None = None
        self.vitals_ms: int | None = None
        self.true_ms = 0
        """Time that really passed (the engine's clock restarts with the process)."""

    @initialize(
        plan=st.sampled_from(PLANS),
        policy=st.sampled_from([POLICY, REESCALATE]),
        started=st.sampled_from([True, True, True, False]),
    )
    def open_session(self, plan: Plan, policy: Policy, started: bool) -> None:
        self.plan, self.policy = plan, policy
        self.session = InfusionSession(plan, policy, "stateful")
        self.apply(self.session.open(self.now))
        if started:
            self.apply(self.session.answer_checklist(all_confirmed(), self.now))
            self.apply(self.session.record_vitals(NORMAL, self.now))
            self.apply(self.session.accept(self.now))
            self.confirm_commands()

    def confirm_commands(self) -> None:
        """A well-behaved pump: confirm the command awaiting an outcome, if any."""
        issued = [e.command for e in self.log if isinstance(e, PumpCommandIssued)]
        outcomes = {e.command_id for e in self.log if isinstance(e, PumpOutcome)}
        if issued and issued[-1].command_id not in outcomes:
            pump = PerfectPump(self.rate)  # running at the rate the engine last set
            self.apply(self.session.handle(pump.reply(issued[-1], self.now)))

    @rule()
    def follow_the_protocol(self) -> None:
        """Wait for the next due moment, take normal vitals, accept what is offered."""
        upcoming = [t for t in self.session.upcoming_ms() if t > self.now.mono_ms]
        if upcoming:
            self.true_ms += upcoming[0] - self.now.mono_ms
            self.now = self.now.after_ms(upcoming[0] - self.now.mono_ms)
        self.apply(self.session.tick(self.now))
        self.apply(self.session.record_vitals(NORMAL, self.now))
        self.apply(self.session.accept(self.now))
        self.confirm_commands()

    # -- checks applied to every decision ------------------------------------------------------

    def apply(self, decision: Decision) -> Decision:
        issued = [e.command for e in decision.events if isinstance(e, PumpCommandIssued)]
        assert list(decision.commands) == issued, "every command has a prior intent record"
        for event in decision.events:
            self.check_event(event)
        self.log.extend(decision.events)
        assert decision.rate_ml_per_h == self.rate
        assert decision.rate_ml_per_h <= self.plan.max_rate_ml_per_h
        return decision

    def check_event(self, event: AuditEvent) -> None:
        now_ms = self.true_ms  # every check below is in real time, across restarts too
        if isinstance(event, AuditHealthChanged):
            self.audit_failing = not event.healthy
        elif isinstance(event, LinkStateChanged):
            self.link = event.link
        elif isinstance(event, ReactionOpened):
            if not self.reaction_open:  # (during a pause: the rate it ran at before)
                self.rate_at_reaction = self.rate or self.last_running_rate
            self.reaction_open = True
            self.never_restart = self.never_restart or event.never_restart
        elif isinstance(event, ReactionCleared):
            assert not self.never_restart
            self.reaction_open = False
        elif isinstance(event, VitalsAccepted):
            self.vitals_ms = now_ms
        elif isinstance(event, PumpCommandIssued):
            if self.link is not LinkState.OK:
                assert event.command.kind in (PumpCommandKind.STOP, PumpCommandKind.READ_STATUS)
        elif isinstance(event, RateChanged):
            self.check_rate_change(event, now_ms)

    def check_rate_change(self, event: RateChanged, now_ms: int) -> None:
        assert event.from_ml_per_h == self.rate
        to = event.to_ml_per_h
        assert to <= self.plan.max_rate_ml_per_h, "never above the cap"
        if to > self.rate:
            assert not self.audit_failing, "no increase while the audit log fails"
            assert self.link is LinkState.OK
            assert not self.never_restart, "nothing restarts after a severe reaction"
            if self.rate > 0:
                assert not self.reaction_open, "no increase until the reaction is cleared"
                ladder = [s.rate_ml_per_h for s in self.plan.steps if s.rate_ml_per_h > self.rate]
                assert to == ladder[0], "one step at a time"
                assert self.step is not None
                dwell = minutes_to_ms(self.plan.steps[self.step - 1].min_dwell_min)
                assert self.rate_changed_ms is not None
                assert now_ms - self.rate_changed_ms >= dwell, "only after the dwell"
                assert self.vitals_ms is not None
                mon = self.policy.monitoring
                limit = minutes_to_ms(mon.increase_max_age_min + mon.increase_grace_min)
                assert now_ms - self.vitals_ms <= limit, "only with fresh vitals"
            elif self.reaction_open:
                assert to < self.rate_at_reaction, "a resume is always lower"
            elif self.last_running_rate > 0:
                assert to <= self.last_running_rate, "a restart never climbs above the last rate"
        self.rate = to
        if to > 0:
            self.last_running_rate = to
        self.step = event.step
        self.rate_changed_ms = now_ms

    # -- inputs ----------------------------------------------------------------------------

    @rule()
    def follow_the_protocol_again(self) -> None:
        """The same, to weight generated sessions towards long, escalating infusions."""
        self.follow_the_protocol()

    @rule(hours=st.sampled_from([-1, 1, 2]))
    def wall_clock_jumps(self, hours: int) -> None:
        wall = self.now.wall_utc + timedelta(hours=hours)
        self.now = Instant(wall_utc=wall, mono_ms=self.now.mono_ms)
        self.apply(self.session.tick(self.now))

    @rule(minutes=st.integers(0, 40), seconds=st.integers(0, 59))
    def time_passes(self, minutes: int, seconds: int) -> None:
        self.true_ms += minutes * 60_000 + seconds * 1000
        self.now = self.now.after_ms(minutes * 60_000 + seconds * 1000)
        self.apply(self.session.tick(self.now))

    @rule(
        down_min=st.integers(0, 90),
        reboot=st.booleans(),
        jump_h=st.sampled_from([0, 0, -1, 1]),
    )
    def restart(self, down_min: int, reboot: bool, jump_h: int) -> None:
        """The program dies and comes back `down_min` later on a fresh monotonic clock (after
        a reboot) or the same one, with the wall clock possibly stepped meanwhile."""
        down_ms = down_min * 60_000
        if reboot and jump_h > 0:
            jump_h = 0  # a forward step while the machine was off looks like downtime (documented)
        wall = self.now.wall_utc + timedelta(milliseconds=down_ms, hours=jump_h)
        mono = 1_000 + down_ms if reboot else self.now.mono_ms + down_ms
        self.true_ms += down_ms
        self.now = Instant(wall_utc=wall, mono_ms=mono)
        decision = self.apply(self.session.resume(self.now, "generated restart"))
        assert decision.refusal is None
        kinds = [c.kind for c in decision.commands]
        # A status read; and a stop if the dose volume ran out while the program was down.
        assert kinds in (
            [PumpCommandKind.READ_STATUS],
            [PumpCommandKind.READ_STATUS, PumpCommandKind.STOP],
        )
        assert self.link is LinkState.UNCERTAIN
        self.vitals_ms = None  # a set taken before the restart never justifies an increase

    @rule(raw=VITALS)
    def vitals(self, raw: dict[str, str]) -> None:
        self.apply(self.session.record_vitals(raw, self.now))

    @rule(symptoms=SYMPTOMS)
    def symptoms(self, symptoms: list[str]) -> None:
        self.apply(self.session.record_symptoms(symptoms, self.now))

    @rule()
    def clear_symptoms(self) -> None:
        self.apply(self.session.record_symptoms([], self.now))

    @rule()
    def accept(self) -> None:
        self.apply(self.session.accept(self.now))

    @rule(reason=st.sampled_from(list(OverrideReason)))
    def override(self, reason: OverrideReason) -> None:
        self.apply(self.session.override(reason, self.now, "note"))

    @rule(roll=st.integers(0, 3))
    def stop(self, roll: int) -> None:
        if roll:  # a stop ends the interesting part: keep it rarer than the other inputs
            return
        decision = self.apply(self.session.stop("generated", self.now))
        assert decision.refusal is None, "stop is always accepted"
        assert decision.rate_ml_per_h == 0
        assert isinstance(decision.events[0], StopRequested)

    @rule(roll=st.integers(0, 2))
    def nurse_pause(self, roll: int) -> None:
        if roll:  # rarer than the other inputs, like a stop
            return
        decision = self.apply(self.session.pause("generated", self.now))
        if decision.refusal is None:
            assert decision.rate_ml_per_h == 0

    @rule(lot=st.sampled_from(["L1", "L2", "L3"]))
    def lot(self, lot: str) -> None:
        self.apply(self.session.record_lot(lot, self.now))

    @rule(outcome=st.sampled_from(["confirmed", "confirmed", "confirmed", "failed", "uncertain"]))
    def pump_outcome(self, outcome: str) -> None:
        awaiting = [e.command for e in self.log if isinstance(e, PumpCommandIssued)]
        command_id = awaiting[-1].command_id if awaiting else 1
        rate = awaiting[-1].rate_ml_per_h if awaiting else None
        event = PumpOutcome(
            at=self.now,
            command_id=command_id,
            outcome=outcome,  # type: ignore[arg-type]
            reported_rate_ml_per_h=rate,
        )
        self.apply(self.session.handle(event))

    @rule(truthful=st.booleans())
    def status(self, truthful: bool) -> None:
        rate = self.rate if truthful else self.rate + 1
        self.apply(
            self.session.handle(PumpStatusRead(at=self.now, running=rate > 0, rate_ml_per_h=rate))
        )

    @rule(up=st.booleans())
    def link_change(self, up: bool) -> None:
        self.apply(self.session.handle(PumpLinkChanged(at=self.now, up=up)))

    @rule(healthy=st.booleans())
    def audit_health(self, healthy: bool) -> None:
        self.apply(self.session.handle(AuditHealthChanged(at=self.now, healthy=healthy)))

    @invariant()
    def engine_agrees_with_the_model(self) -> None:
        if hasattr(self, "session"):
            assert self.session.rate_ml_per_h == self.rate
            assert self.session.never_restart == self.never_restart

    def teardown(self) -> None:
        if self.log:
            result = replay(self.log)
            assert result.ok, result.mismatch


SessionMachine.TestCase.settings = settings(
    max_examples=1000 if os.environ.get("CI") else 100,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_generated_sessions_hold_the_safety_invariants = SessionMachine.TestCase


def test_instant_after_ms_moves_both_clocks() -> None:
    later: Instant = T0.after_ms(1000)
    assert later.mono_ms - T0.mono_ms == 1000
