"""Session engine: lifecycle transitions, step discipline, reactions, refusals, time."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.support.clinical import NORMAL, POLICY
from tests.support.plans import at, make_plan
from titrator.domain.checklist import ItemAnswer, ItemStatus, all_confirmed
from titrator.domain.clock import Instant
from titrator.domain.decisions import (
    AlarmCode,
    Choice,
    OverrideReason,
    PromptKind,
    PumpCommandKind,
    SessionState,
)
from titrator.domain.events import (
    AuditHealthChanged,
    ClockJumped,
    InputRefused,
    NurseDecided,
    OverrideRecorded,
    PumpLinkChanged,
    PumpOutcome,
    PumpStatusRead,
    ReactionCleared,
    StateChanged,
)
from titrator.domain.policy import Action
from titrator.domain.session.engine import InfusionSession

from .engine_helpers import Driver

S = SessionState


def kinds(decision: object) -> list[str]:
    return [e.kind for e in decision.events]  # type: ignore[attr-defined]


def refused(decision: object) -> InputRefused:
    events = decision.events  # type: ignore[attr-defined]
    assert isinstance(events[-1], InputRefused), [e.kind for e in events]
    return events[-1]


def running_at_step_2() -> Driver:
    d = Driver()
    d.start()
    d.vitals(15)
    d.vitals(30)
    d.accept(30)
    assert d.session.step == 2
    return d


# -- lifecycle transitions ---------------------------------------------------------------------


def test_setup_to_pre_checks_to_baseline_to_running() -> None:
    d = Driver()
    s = d.session
    assert s.state is S.SETUP
    r = d.feed(s.open(at(-30)))
    assert r.state is S.PRE_CHECKS
    assert r.prompt is not None
    assert r.prompt.kind is PromptKind.CHECKLIST
    assert not r.prompt.accept, "the checklist is answered item by item, not with one accept"
    r = d.feed(s.answer_checklist(all_confirmed(), at(-29)))
    assert r.state is S.BASELINE
    assert r.prompt is not None
    assert r.prompt.kind is PromptKind.BASELINE_VITALS
    r = d.vitals(-10)
    assert r.prompt is not None
    assert r.prompt.kind is PromptKind.START
    assert r.prompt.accept
    r = d.accept(0)
    assert r.state is S.BASELINE  # running only once the pump confirms the start
    assert r.rate_ml_per_h == Decimal(35)
    assert [c.kind for c in r.commands] == [PumpCommandKind.START]
    confirmed = d.log[-1]  # the pump's confirmation of the start
    assert confirmed.state is S.RUNNING
    changes = [e for e in confirmed.events if isinstance(e, StateChanged)]
    assert (changes[0].from_state, changes[0].to_state) == (S.BASELINE, S.RUNNING)


def test_running_to_vitals_due_and_back() -> None:
    d = Driver()
    d.start()
    assert d.tick(14.9).state is S.RUNNING
    r = d.tick(15)
    assert r.state is S.VITALS_DUE
    assert "vitals_due" in kinds(r)
    assert d.vitals(16).state is S.RUNNING


def test_step_up_only_after_the_dwell_with_fresh_vitals() -> None:
    d = Driver()
    d.start()
    d.vitals(15)
    r = d.tick(29.99)
    assert r.prompt is not None
    assert r.prompt.kind is not PromptKind.STEP_UP
    r = d.tick(30)
    # vitals from minute 15 are exactly 15 min old: still fresh (no older than the policy allows)
    assert r.prompt is not None
    assert r.prompt.kind is PromptKind.STEP_UP
    assert r.recommendation is not None
    assert r.recommendation.rule_ids == ("STEP-UP",)
    r = d.tick(30.1)
    assert r.prompt is not None
    assert r.prompt.kind is PromptKind.VITALS_DUE
    assert refused(d.accept(30.2)).reason.startswith("nothing to accept")
    d.vitals(31)
    r = d.accept(31)
    assert r.step == 2
    assert r.rate_ml_per_h == Decimal(70)


def test_stale_vitals_within_grace_need_an_override_reason() -> None:
    d = Driver()
    d.start()
    d.vitals(20)
    r = d.tick(40)
    assert r.prompt is not None
    assert r.prompt.kind is PromptKind.VITALS_DUE
    assert r.prompt.override
    r = d.feed(d.session.override(OverrideReason.VITALS_CHECKED, at(40), "taken on paper"))
    assert r.step == 2
    assert any(isinstance(e, OverrideRecorded) for e in r.events)


def test_vitals_beyond_the_grace_cannot_be_overridden() -> None:
    d = Driver()
    d.start()
    d.vitals(10)
    d.tick(40)
    r = d.feed(d.session.override(OverrideReason.VITALS_CHECKED, at(40)))
    assert "cannot be overridden" in refused(r).reason
    assert d.session.step == 1


def test_reaction_pause_then_resume_lower_and_finish_at_last_tolerated() -> None:
    d = running_at_step_2()
    r = d.feed(d.session.record_symptoms(["flushing"], at(35)))
    assert r.state is S.ASSESSMENT
    assert r.recommendation is not None
    assert r.recommendation.action is Action.PAUSE
    r = d.accept(35)
    assert r.state is S.PAUSED
    assert r.rate_ml_per_h == 0
    assert [c.kind for c in r.commands] == [PumpCommandKind.PAUSE]
    d.feed(d.session.record_symptoms([], at(50)))
    d.vitals(60)
    r = d.tick(65)
    assert r.prompt is not None
    assert r.prompt.kind is PromptKind.RESUME
    r = d.accept(65)
    assert d.session.state is S.SLOWED  # once the pump confirmed the start
    assert r.rate_ml_per_h == Decimal(35)
    r = d.vitals(100)
    assert r.prompt is not None
    assert r.prompt.kind is PromptKind.HOLDING
    r = d.feed(d.session.override(OverrideReason.SYMPTOMS_RESOLVED, at(100)))
    assert "prescriber" in refused(r).reason
    r = d.feed(d.session.override(OverrideReason.PRESCRIBER_ORDER, at(100), "Dr A"))
    assert any(isinstance(e, ReactionCleared) for e in r.events)
    assert r.state is S.RUNNING


def test_symptoms_still_present_at_the_end_of_the_pause_mean_stop() -> None:
    d = running_at_step_2()
    d.feed(d.session.record_symptoms(["headache"], at(35)))
    d.accept(35)
    r = d.tick(65)
    assert r.recommendation is not None
    assert r.recommendation.action is Action.STOP
    assert r.recommendation.rule_ids[0] == "PAUSE-UNRESOLVED"
    assert d.accept(65).state is S.STOPPED


def test_a_reaction_after_a_restart_never_restarts() -> None:
    d = running_at_step_2()
    d.feed(d.session.record_symptoms(["flushing"], at(35)))
    d.accept(35)
    d.feed(d.session.record_symptoms([], at(50)))
    d.vitals(60)
    d.tick(65)
    d.accept(65)
    r = d.feed(d.session.record_symptoms(["flushing"], at(70)))
    assert r.recommendation is not None
    assert r.recommendation.action is Action.STOP
    assert "RECUR-AFTER-RESTART" in r.recommendation.rule_ids
    d.accept(70)
    assert d.session.never_restart
    r = d.feed(d.session.override(OverrideReason.PRESCRIBER_ORDER, at(80)))
    assert refused(r).hard_limit


def test_severe_reaction_emergency_stop_cannot_be_overridden() -> None:
    d = running_at_step_2()
    r = d.vitals(40, spo2_pct="91")
    assert r.recommendation is not None
    assert r.recommendation.action is Action.EMERGENCY_STOP
    r = d.feed(d.session.override(OverrideReason.CLINICAL_JUDGEMENT, at(40)))
    assert refused(r).hard_limit
    r = d.accept(41)
    assert r.state is S.STOPPED
    assert r.rate_ml_per_h == 0
    assert [c.kind for c in r.commands] == [PumpCommandKind.STOP]
    r = d.feed(d.session.override(OverrideReason.PRESCRIBER_ORDER, at(50)))
    assert refused(r).hard_limit


def test_override_of_a_reaction_holds_and_blocks_increases() -> None:
    d = running_at_step_2()
    d.feed(d.session.record_symptoms(["headache"], at(35)))
    r = d.feed(d.session.override(OverrideReason.CLINICAL_JUDGEMENT, at(36), "known migraine"))
    assert r.state is S.HOLDING
    assert r.rate_ml_per_h == Decimal(70)
    d.vitals(60)
    r = d.tick(61)
    assert r.prompt is not None
    assert r.prompt.kind is PromptKind.HOLDING
    assert d.session.rate_ml_per_h == Decimal(70)


def test_stop_is_accepted_in_every_state() -> None:
    for stop_at in ("setup", "pre_checks", "baseline", "running", "paused", "stopped", "closed"):
        d = Driver()
        s = d.session
        if stop_at != "setup":
            d.feed(s.open(at(-30)))
        if stop_at not in ("setup", "pre_checks"):
            d.feed(s.answer_checklist(all_confirmed(), at(-29)))
        if stop_at in ("running", "paused", "stopped", "closed"):
            d.vitals(-10)
            d.accept(0)
        if stop_at == "paused":
            d.feed(s.record_symptoms(["headache"], at(5)))
            d.accept(5)
        if stop_at in ("stopped", "closed"):
            d.feed(s.stop("first", at(6)))
        if stop_at == "closed":
            d.accept(7)
            d.tick(7 + 20)
            d.vitals(7 + 20)
            d.accept(7 + 20)
            assert s.state is S.CLOSED
        r = d.feed(s.stop("nurse", at(60)))
        assert r.refusal is None, stop_at
        expected = {"setup": S.ABORTED, "pre_checks": S.ABORTED, "baseline": S.ABORTED}
        assert r.state is expected.get(stop_at, S.CLOSED if stop_at == "closed" else S.STOPPED)
        assert r.rate_ml_per_h == 0


def test_volume_completion_then_end_vitals_observation_and_close() -> None:
    d = Driver(make_plan(rates=("60",), total_volume_ml="30"))
    d.start()
    d.vitals(15)
    r = d.tick(30)
    assert r.state is S.COMPLETE
    assert r.rate_ml_per_h == 0
    assert r.volume_ml == Decimal(30)
    assert [c.kind for c in r.commands] == [PumpCommandKind.STOP]
    r = d.vitals(32)
    assert r.state is S.OBSERVATION
    assert r.due.observation_end_ms == at(50).mono_ms
    assert d.tick(50).state is S.OBSERVATION
    r = d.vitals(51)
    assert r.prompt is not None
    assert r.prompt.kind is PromptKind.CLOSE
    r = d.accept(52)
    assert r.state is S.CLOSED
    assert "session_closed" in kinds(r)


def test_first_infusion_observes_longer() -> None:
    d = Driver(make_plan(rates=("60",), total_volume_ml="30", first_infusion=True))
    d.start()
    d.vitals(15)
    d.tick(30)
    r = d.vitals(30)
    assert r.due.observation_end_ms == at(90).mono_ms


def test_lot_change_restarts_the_ramp_and_the_schedule() -> None:
    d = running_at_step_2()
    d.feed(d.session.record_lot("A1", at(-1)))
    d.feed(d.session.record_lot("A1", at(31)))
    r = d.feed(d.session.record_lot("B2", at(32)))
    assert r.prompt is not None
    assert r.prompt.kind is PromptKind.LOT_CHANGE
    r = d.accept(32)
    assert r.step == 1
    assert r.rate_ml_per_h == Decimal(35)
    assert r.due.vitals_ms == at(47).mono_ms


def test_the_cap_is_never_passed_even_when_the_ladder_goes_higher() -> None:
    d = Driver(make_plan(max_rate_ml_per_h="100"))
    d.start()
    for t in range(15, 300, 15):
        d.vitals(t)
        r = d.tick(t)
        if r.prompt is not None and r.prompt.kind is PromptKind.STEP_UP:
            d.accept(t)
    assert d.session.rate_ml_per_h == Decimal(70)
    assert all(r.rate_ml_per_h <= 100 for r in d.log)


def test_wall_clock_jump_is_recorded_and_does_not_shorten_the_dwell() -> None:
    d = Driver()
    d.start()
    d.vitals(14)
    jumped = Instant(wall_utc=at(15).wall_utc + timedelta(hours=2), mono_ms=at(15).mono_ms)
    r = d.feed(d.session.tick(jumped))
    assert any(isinstance(e, ClockJumped) and e.skew_ms == 7_200_000 for e in r.events)
    later = Instant(wall_utc=at(25).wall_utc + timedelta(hours=2), mono_ms=at(25).mono_ms)
    r = d.feed(d.session.record_vitals(NORMAL, later))
    assert r.prompt is not None
    assert r.prompt.kind is not PromptKind.STEP_UP


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("vitals_before_open", "not open"),
        ("vitals_before_checks", "checks first"),
        ("bad_vitals", "temperature: outside"),  # the nurse's word, not the field's name
        ("unknown_symptom", "not a symptom"),
        ("accept_nothing", "nothing to accept"),
        ("override_without_reason", "needs a reason"),
        ("other_without_note", "needs a note"),
        ("wrong_prompt_id", "prompt"),
        ("open_twice", "already open"),
        ("mono_backwards", "backwards"),
        ("empty_lot", "lot number"),
        ("stale_baseline", "older than 60 min"),
        ("unknown_outcome", "awaiting"),
        ("after_close", "closed"),
    ],
)
def test_refusals_change_nothing_and_say_why(setup: str, reason: str) -> None:
    d = Driver()
    s = d.session
    if setup == "vitals_before_open":
        r = s.record_vitals(NORMAL, at(0))
    elif setup == "vitals_before_checks":
        s.open(at(-30))
        r = s.record_vitals(NORMAL, at(-20))
    else:
        d.start()
        if setup == "bad_vitals":
            r = s.record_vitals({**NORMAL, "temp_c": "370"}, at(5))
        elif setup == "unknown_symptom":
            r = s.record_symptoms(["sneezing"], at(5))
        elif setup == "accept_nothing":
            r = s.accept(at(5))
        elif setup == "override_without_reason":
            s.record_symptoms(["headache"], at(5))
            r = s.handle(NurseDecided(at=at(5), choice=Choice.OVERRIDE))
        elif setup == "other_without_note":
            s.record_symptoms(["headache"], at(5))
            r = s.override(OverrideReason.OTHER, at(5))
        elif setup == "wrong_prompt_id":
            s.record_symptoms(["headache"], at(5))
            r = s.accept(at(5), prompt_id=1)
        elif setup == "open_twice":
            r = s.open(at(5))
        elif setup == "mono_backwards":
            s.tick(at(10))
            s.record_vitals(NORMAL, at(10))
            r = s.record_vitals(NORMAL, at(9))
        elif setup == "empty_lot":
            r = s.record_lot("  ", at(5))
        elif setup == "stale_baseline":
            d2 = Driver()
            d2.to_baseline(-80)
            d2.vitals(-75)
            r = d2.session.accept(at(0))
            s = d2.session
        elif setup == "unknown_outcome":
            r = s.handle(PumpOutcome(at=at(5), command_id=99, outcome="confirmed"))
        else:
            s.stop("x", at(5))
            s.accept(at(5))
            s.tick(at(25))
            s.record_vitals(NORMAL, at(25))
            s.accept(at(25))
            r = s.record_vitals(NORMAL, at(30))
    assert r.refusal is not None
    assert reason in r.refusal
    assert [e.kind for e in r.events][-1] == "input_refused"
    assert not r.commands


# -- shell inputs -------------------------------------------------------------------------------


def test_no_increase_while_the_audit_log_fails_but_stop_works() -> None:
    d = Driver()
    d.start()
    d.vitals(15)
    d.feed(d.session.handle(AuditHealthChanged(at=at(20), healthy=False)))
    r = d.vitals(30)
    assert AlarmCode.AUDIT_FAILING in r.alarms
    assert r.prompt is not None
    assert r.prompt.kind is not PromptKind.STEP_UP
    r = d.feed(d.session.handle(AuditHealthChanged(at=at(31), healthy=True)))
    assert r.prompt is not None
    assert r.prompt.kind is PromptKind.STEP_UP
    d.feed(d.session.handle(AuditHealthChanged(at=at(32), healthy=False)))
    assert d.feed(d.session.stop("x", at(33))).state is S.STOPPED


def test_uncertain_outcome_asks_for_a_status_read_and_blocks_increases() -> None:
    d = Driver()
    d.start()
    d.vitals(15)
    d.vitals(30)
    r = d.feed(d.session.accept(at(30)), confirm=False)
    command = r.commands[0]
    r = d.feed(
        d.session.handle(
            PumpOutcome(at=at(30), command_id=command.command_id, outcome="uncertain")
        ),
        confirm=False,
    )
    assert [c.kind for c in r.commands] == [PumpCommandKind.READ_STATUS]
    assert AlarmCode.PUMP_UNCERTAIN in r.alarms
    r = d.feed(
        d.session.handle(PumpStatusRead(at=at(31), running=True, rate_ml_per_h=Decimal(35))),
        confirm=False,
    )
    # The increase never reached the pump: titrator follows the pump's lower rate, with a new
    # dwell, and never re-sends the increase.
    assert AlarmCode.PUMP_RATE_MISMATCH not in r.alarms
    assert r.rate_ml_per_h == 35
    assert not r.commands
    assert r.prompt is not None
    assert r.prompt.kind is not PromptKind.STEP_UP
    followed = [e for e in r.events if e.kind == "rate_changed"]
    assert followed
    assert "following it" in getattr(followed[0], "cause", "")


def test_a_pump_that_stopped_by_itself_is_followed_and_restarts_only_by_override() -> None:
    d = Driver()
    d.start()
    r = d.feed(
        d.session.handle(PumpStatusRead(at=at(10), running=False, rate_ml_per_h=Decimal(0))),
        confirm=False,
    )
    assert r.state is S.STOPPED
    assert r.rate_ml_per_h == 0
    assert not r.commands
    assert AlarmCode.PUMP_RATE_MISMATCH not in r.alarms
    assert r.prompt is not None
    assert r.prompt.kind is PromptKind.STOPPED
    assert r.prompt.override
    assert "stopped by itself" in r.prompt.text
    assert "restart at 35 mL/h" in r.prompt.text
    r = d.feed(d.session.override(OverrideReason.EQUIPMENT, at(12), "line unkinked"))
    assert r.refusal is None
    assert d.session.state is S.RUNNING  # once the pump confirmed the start
    assert r.rate_ml_per_h == 35  # the rate it ran at before the pump stopped, never higher
    assert [c.kind for c in r.commands] == [PumpCommandKind.START]


def test_a_pump_running_faster_than_expected_is_set_back_down() -> None:
    d = Driver()
    d.start()
    r = d.feed(
        d.session.handle(PumpStatusRead(at=at(10), running=True, rate_ml_per_h=Decimal(70))),
        confirm=False,
    )
    assert AlarmCode.PUMP_RATE_MISMATCH in r.alarms
    assert [(c.kind, c.rate_ml_per_h) for c in r.commands] == [
        (PumpCommandKind.SET_RATE, Decimal(35))
    ]
    r = d.feed(
        d.session.handle(
            PumpOutcome(
                at=at(10),
                command_id=r.commands[0].command_id,
                outcome="confirmed",
                reported_rate_ml_per_h=Decimal(35),
            )
        ),
        confirm=False,
    )
    assert AlarmCode.PUMP_RATE_MISMATCH not in r.alarms


def test_link_loss_and_restore() -> None:
    d = Driver()
    d.start()
    r = d.feed(d.session.handle(PumpLinkChanged(at=at(5), up=False)))
    assert AlarmCode.PUMP_LINK_LOST in r.alarms
    r = d.feed(d.session.stop("link", at(6)), confirm=False)
    assert [c.kind for c in r.commands] == [PumpCommandKind.STOP]
    r = d.feed(d.session.handle(PumpLinkChanged(at=at(7), up=True)), confirm=False)
    assert [c.kind for c in r.commands] == [PumpCommandKind.READ_STATUS]


def test_pump_volume_is_adopted_only_when_consistent() -> None:
    d = Driver()
    d.start()
    r = d.feed(
        d.session.handle(
            PumpStatusRead(
                at=at(60), running=True, rate_ml_per_h=Decimal(35), volume_ml=Decimal("34.5")
            )
        )
    )
    assert r.volume_ml == Decimal("34.5")
    r = d.feed(
        d.session.handle(
            PumpStatusRead(
                at=at(61), running=True, rate_ml_per_h=Decimal(35), volume_ml=Decimal(80)
            )
        )
    )
    assert AlarmCode.VOLUME_DISCREPANCY in r.alarms


def test_a_quiet_tick_records_nothing() -> None:
    d = Driver()
    d.start()
    assert d.tick(1).events == ()


def test_baseline_findings_need_an_override_to_start() -> None:
    d = Driver()
    d.to_baseline(-20)
    r = d.vitals(-10, temp_c="38.1")
    assert r.prompt is not None
    assert r.prompt.kind is PromptKind.START
    assert not r.prompt.accept
    assert r.prompt.override
    assert refused(d.accept(0)).reason.startswith("nothing to accept")
    r = d.feed(d.session.override(OverrideReason.PRESCRIBER_ORDER, at(0)))
    assert d.session.state is S.RUNNING  # once the pump confirmed the start


def test_session_needs_matching_plan_to_open() -> None:
    s = InfusionSession(make_plan(), POLICY, "x")
    assert s.open(at(0)).state is S.PRE_CHECKS


def test_the_checklist_is_recorded_item_by_item_and_refused_when_incomplete() -> None:
    d = Driver()
    s = d.session
    d.feed(s.open(at(-30)))
    answers = list(all_confirmed())
    skipped = [a for a in answers if a.item_id != "two_identifiers"]
    skipped.append(
        ItemAnswer(item_id="two_identifiers", status=ItemStatus.NOT_DONE, reason="later")
    )
    r = d.feed(s.answer_checklist(skipped, at(-29)))
    assert r.state is S.PRE_CHECKS
    assert r.refusal == "checklist: two_identifiers: must be confirmed before any infusion"
    no_reason = [a for a in answers if a.item_id != "hydration"]
    no_reason.append(ItemAnswer(item_id="hydration", status=ItemStatus.NOT_DONE))
    assert d.feed(s.answer_checklist(no_reason, at(-28))).refusal is not None
    with_reason = [a for a in answers if a.item_id != "hydration"]
    with_reason.append(
        ItemAnswer(item_id="hydration", status=ItemStatus.NOT_DONE, reason="fluid restricted")
    )
    r = d.feed(s.answer_checklist(with_reason, at(-27)))
    assert r.state is S.BASELINE
    recorded = [e for e in r.events if e.kind == "checklist_answered"]
    assert recorded
    assert any(a.reason == "fluid restricted" for a in recorded[0].answers)
    assert (
        d.feed(s.answer_checklist(answers, at(-26))).refusal
        == "the pre-infusion checks are already recorded"
    )
