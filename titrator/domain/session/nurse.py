"""Session inputs from the nurse (stop, vitals, symptoms, lot) and reaction handling.

Functions over the session's `SessionData`; each raises `Refused` before changing anything.
"""

from __future__ import annotations

from decimal import Decimal

from titrator.domain.assess import Recommendation, assess
from titrator.domain.clock import minutes_to_ms
from titrator.domain.decisions import Prompt, PromptKind, SessionState
from titrator.domain.events import (
    AssessmentMade,
    LotRecorded,
    PauseRequested,
    ReactionOpened,
    StopRequested,
    SymptomsEntered,
    VitalsAccepted,
    VitalsEntered,
)
from titrator.domain.policy import Action, Severity
from titrator.domain.session.prompts import LOT_RULE, rate_text
from titrator.domain.session.state import (
    ENDED_MODES,
    PRE_START_MODES,
    RUNNING_MODES,
    Outbox,
    Refused,
    SessionData,
    set_rate,
)
from titrator.domain.session.transitions import begin_observation, stop_pump
from titrator.domain.units import InputError
from titrator.domain.vitals import VitalsError, field_label, parse_symptoms, parse_vitals


def on_stop(data: SessionData, ev: StopRequested, out: Outbox) -> None:
    """STOP, accepted in every state: aborts before the start, stops the pump after it."""
    d = data
    starting = d.starting_to is not None
    if d.mode in PRE_START_MODES and not starting:
        d.mode = SessionState.ABORTED
        d.sticky = None
        return
    if d.mode in ENDED_MODES:
        return
    if starting:  # the pump may have started: it is stopped; nothing ran at the rate yet
        d.resume_rate = d.rate if d.resume_rate is None else d.resume_rate
    elif d.rate > 0:
        d.resume_rate = d.slow_target(d.rate)
    stop_pump(d, out, ev.reason or "nurse pressed stop")
    d.starting_to = None
    if d.sticky is not None and d.sticky.kind is PromptKind.LOT_CHANGE:
        d.sticky = None
    if starting or d.mode in RUNNING_MODES or d.mode is SessionState.PAUSED:
        d.mode = SessionState.STOPPED
        d.paused_until_ms = None


def on_pause(data: SessionData, ev: PauseRequested, out: Outbox) -> None:
    """The nurse pauses a running infusion (not for a reaction); it resumes at the same rate."""
    d = data
    reason = ev.reason.strip()
    if not reason:
        raise Refused("say why the infusion is paused", field="reason", raw=ev.reason)
    if d.mode not in RUNNING_MODES or d.rate == 0:
        raise Refused("nothing is running to pause")
    if d.reaction_open:
        # A pause while a reaction is open is that reaction's pause, whatever the reason given:
        # the policy's minimum pause, and a lower rate afterwards (never the same rate again).
        d.resume_rate = d.slow_target(d.rate)
        set_rate(d, out, Decimal(0), f"pause: {reason} (a reaction is open)")
        d.mode = SessionState.PAUSED
        d.paused_until_ms = ev.at.mono_ms + minutes_to_ms(d.policy.restart.pause_min)
        d.pause_expired = False
        d.had_pause = True
        d.nurse_pause = False
        return
    d.resume_rate = d.rate
    set_rate(d, out, Decimal(0), f"pause: {reason}")
    d.mode = SessionState.PAUSED
    d.paused_until_ms = None
    d.pause_expired = True  # no minimum pause: the nurse resumes when ready
    d.nurse_pause = True


def on_vitals(data: SessionData, ev: VitalsEntered, out: Outbox) -> None:
    """A vitals set: validated (never corrected), recorded, then assessed."""
    d = data
    if d.mode is SessionState.PRE_CHECKS:
        raise Refused("confirm the pre-infusion checks first")
    try:
        reading = parse_vitals(ev.raw, d.policy.monitoring.required_vitals)
    except VitalsError as error:
        first = error.errors[0]
        reasons = "; ".join(f"{field_label(e.field)}: {e.reason}" for e in error.errors)
        raise Refused(reasons, field=first.field, raw=first.raw) from error
    now_ms = out.now.mono_ms
    purpose = d.vitals_due_reason or "unscheduled"
    if d.mode is SessionState.BASELINE:
        d.baseline, d.baseline_ms, purpose = reading, now_ms, "baseline"
    d.last_vitals, d.last_vitals_ms = reading, now_ms
    d.vitals_since_origin = d.origin_ms is not None
    d.vitals_due_reason = None
    d.step_up_declined = False
    out.events.append(
        VitalsAccepted(at=out.now, values=reading.values, raw=reading.raw, purpose=purpose)
    )
    if d.mode is SessionState.COMPLETE:
        assert d.completed_ms is not None
        begin_observation(d, d.completed_ms)
    elif d.mode is SessionState.OBSERVATION and d.obs_until_ms is not None:
        d.obs_end_vitals_done = now_ms >= d.obs_until_ms
    if d.mode is not SessionState.BASELINE:
        assess_now(d, out)


def on_symptoms(data: SessionData, ev: SymptomsEntered, out: Outbox) -> None:
    """The symptom checklist as answered now; assessed at once after the start."""
    d = data
    if d.mode is SessionState.PRE_CHECKS:
        raise Refused("confirm the pre-infusion checks first")
    try:
        symptoms = parse_symptoms(ev.symptoms)
    except InputError as error:
        raise Refused(error.reason, field="symptoms", raw=error.raw) from error
    if ev.other_severity is not None and not ev.other.strip():
        raise Refused(
            "a severity grades the free-text symptom, and none was typed",
            field="other_severity",
            raw=ev.other_severity.value,
        )
    d.symptoms, d.other_symptoms = symptoms, ev.other
    d.other_severity = ev.other_severity
    if d.mode is SessionState.BASELINE:
        d.baseline_symptoms, d.baseline_other = symptoms, ev.other
        d.baseline_other_severity = ev.other_severity
        return
    assess_now(d, out)


def on_lot(data: SessionData, ev: LotRecorded, out: Outbox) -> None:
    """A lot number; a new lot may restart the ramp and the vitals schedule (policy)."""
    d = data
    lot = ev.lot.strip()
    if not lot:
        raise Refused("a lot number is required", field="lot", raw=ev.lot)
    if d.never_restart and d.lot is not None and lot != d.lot:
        raise Refused(
            "after a severe reaction this infusion is never restarted: no new lot is hung "
            "in this session",
            hard_limit=True,
            field="lot",
            raw=ev.lot,
        )
    previous, d.lot = d.lot, lot
    if previous is None or previous == lot or d.mode not in RUNNING_MODES:
        return
    lot_change = d.policy.lot_change
    if lot_change.restart_vitals_schedule:
        d.origin_ms = out.now.mono_ms
        d.vitals_since_origin = False
    if lot_change.restart_ramp and d.sticky is None:
        first = d.steps[0].rate_ml_per_h
        target = min(first, d.rate)
        text = (
            f"New lot {lot} (was {previous}): restart the ramp at step 1, "
            f"{rate_text(d.plan, target)}."
        )
        rec = Recommendation(
            action=Action.SLOW if target < d.rate else Action.HOLD,
            rule_ids=(LOT_RULE,),
            reason=text,
            target_rate_ml_per_h=target,
        )
        d.sticky = derive_prompt_for_lot(text, rec)
        out.recommendation = rec


# -- assessment and time -----------------------------------------------------------------


def assess_now(data: SessionData, out: Outbox) -> None:
    """Assess the current observation; open a reaction if any rule fired."""
    d = data
    rec = assess(d.policy, d.observation())
    out.recommendation = rec
    out.events.append(AssessmentMade(at=out.now, recommendation=rec))
    if rec.action is Action.CONTINUE:
        return
    open_reaction(d, out, rec)


def open_reaction(data: SessionData, out: Outbox, rec: Recommendation) -> None:
    """Record a reaction and show its recommendation unless already acknowledged."""
    d = data
    severe = rec.severity is Severity.SEVERE or rec.action is Action.EMERGENCY_STOP
    recurrent = d.policy.restart.recurrence_rule_id in rec.rule_ids
    was_never = d.never_restart
    d.never_restart = d.never_restart or severe or recurrent or forbids_restart(d, rec)
    new_rules = set(rec.rule_ids) - d.acknowledged_rules
    if not d.reaction_open or new_rules or d.never_restart != was_never:
        out.events.append(
            ReactionOpened(
                at=out.now,
                rule_ids=rec.rule_ids,
                severity=rec.severity,
                never_restart=d.never_restart,
            )
        )
    d.reaction_open = True
    if d.nurse_pause and d.resume_rate is not None:
        # A reaction during the nurse's pause makes it a reaction pause: the policy's time,
        # and a resume only lower, once it has settled.
        d.nurse_pause = False
        d.resume_rate = d.slow_target(d.resume_rate)
        d.paused_until_ms = out.now.mono_ms + minutes_to_ms(d.policy.restart.pause_min)
        d.pause_expired = False
        d.had_pause = True
    if not new_rules and rec.action.rank <= d.acknowledged_rank:
        return
    if d.mode is SessionState.PAUSED and rec.action.rank <= Action.PAUSE.rank:
        d.acknowledged_rules |= set(rec.rule_ids)
        return
    if rec.action is Action.HOLD and d.mode in (SessionState.HOLDING, SessionState.SLOWED):
        d.acknowledged_rules |= set(rec.rule_ids)
        return
    old = d.sticky.recommendation if d.sticky and d.sticky.kind is PromptKind.REACTION else None
    if old is not None and old.action.rank > rec.action.rank:
        return
    d.sticky = reaction_prompt(d, rec)


def check_pause_resolved(data: SessionData, out: Outbox) -> None:
    """At the end of a pause: still reacting means stop (the policy's unresolved rule)."""
    d = data
    rec = assess(d.policy, d.observation())
    if rec.action is Action.CONTINUE:
        return
    rule = d.policy.restart.unresolved_rule_id
    stop = Recommendation(
        action=Action.STOP,
        severity=rec.severity,
        rule_ids=(rule, *rec.rule_ids),
        reason=f"{rule}: the reaction has not resolved after the pause. {rec.reason}",
        inputs=rec.inputs,
    )
    out.recommendation = stop
    out.events.append(AssessmentMade(at=out.now, recommendation=stop))
    d.sticky = reaction_prompt(d, stop)


def forbids_restart(data: SessionData, rec: Recommendation) -> bool:
    """A hard limit: emergency_stop, or a policy rule marked `never_restart` fired."""
    if rec.action is Action.EMERGENCY_STOP:
        return True
    return any(rule.never_restart for rule in data.policy.rules if rule.id in rec.rule_ids)


def reaction_prompt(data: SessionData, rec: Recommendation) -> Prompt:
    """The sticky prompt for a reaction recommendation (target rate filled in for slow)."""
    text = rec.reason
    if rec.action is Action.SLOW and data.rate > 0:
        target = data.slow_target(data.rate)
        rec = rec.model_copy(update={"target_rate_ml_per_h": target})
        text += f" Slow to {rate_text(data.plan, target)}."
    elif rec.action is Action.PAUSE and data.rate > 0:
        text += f" Resume later at {rate_text(data.plan, data.slow_target(data.rate))}."
    if data.mode not in RUNNING_MODES and data.mode is not SessionState.PAUSED:
        text = "The infusion is not running. Notify the prescriber. " + text
    return Prompt(
        prompt_id=0,
        kind=PromptKind.REACTION,
        title=f"Reaction: {rec.action.value.replace('_', ' ')}",
        text=text,
        recommendation=rec,
        proposed_rate_ml_per_h=rec.target_rate_ml_per_h,
        accept=True,
        override=not forbids_restart(data, rec),
    )


def derive_prompt_for_lot(text: str, rec: Recommendation) -> Prompt:
    """The sticky prompt after a new lot when the policy restarts the ramp."""
    return Prompt(
        prompt_id=0,
        kind=PromptKind.LOT_CHANGE,
        title="New lot: restart the ramp",
        text=text,
        recommendation=rec,
        proposed_rate_ml_per_h=rec.target_rate_ml_per_h,
        accept=True,
        override=True,
    )
