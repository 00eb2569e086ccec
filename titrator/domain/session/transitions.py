"""The nurse's decisions: accepting a prompt, or overriding it with a reason.

Each handler checks everything first and raises `Refused` before changing anything; the session
also restores its state if a handler refuses, so a refused input never leaves a trace but its
`input_refused` event.
"""

from __future__ import annotations

from decimal import Decimal

from titrator.domain.assess import Recommendation
from titrator.domain.clock import minutes_to_ms
from titrator.domain.decisions import (
    Choice,
    OverrideReason,
    Prompt,
    PromptKind,
    PumpCommandKind,
    SessionState,
)
from titrator.domain.events import NurseDecided, OverrideRecorded, RateChanged, ReactionCleared
from titrator.domain.policy import Action
from titrator.domain.session.prompts import resume_blockers, start_problems, step_up_blockers
from titrator.domain.session.schedule import observation_min_ms
from titrator.domain.session.state import (
    RUNNING_MODES,
    Outbox,
    Refused,
    SessionData,
    issue,
    set_rate,
)


def _override_reason(ev: NurseDecided) -> OverrideReason:
    if ev.reason is None:
        raise Refused("an override needs a reason from the list", field="reason")
    if ev.reason is OverrideReason.OTHER and not ev.note.strip():
        raise Refused("'other' needs a note saying why", field="note")
    return ev.reason


def _record_override(
    data: SessionData, out: Outbox, ev: NurseDecided, prompt: Prompt, limit: str
) -> None:
    reason = _override_reason(ev)
    out.events.append(
        OverrideRecorded(
            at=out.now, prompt_kind=prompt.kind.value, limit=limit, reason=reason, note=ev.note
        )
    )


def step_up(data: SessionData, out: Outbox) -> None:
    """Go up exactly one rung (callers have checked every gate)."""
    target = data.next_step()
    assert target is not None
    assert target.rate_ml_per_h <= data.plan.max_rate_ml_per_h
    data.tolerated.append(data.rate)
    data.step = target.number
    data.step_up_declined = False
    set_rate(data, out, target.rate_ml_per_h, f"step {target.number}")


def stop_pump(data: SessionData, out: Outbox, cause: str) -> None:
    """Bring the rate to 0 with a STOP command (a stop is always sent, whatever the link)."""
    if data.rate > 0:
        set_rate(data, out, data.rate * 0, f"stop: {cause}")
    elif data.pump_started:
        issue(data, out, PumpCommandKind.STOP)


def begin_observation(data: SessionData, from_ms: int) -> None:
    """Start post-infusion observation from `from_ms`."""
    data.mode = SessionState.OBSERVATION
    data.obs_until_ms = from_ms + observation_min_ms(data)
    data.vitals_due_reason = None


def apply_action(data: SessionData, out: Outbox, rec: Recommendation) -> None:
    """Carry out an accepted reaction recommendation."""
    now_ms = out.now.mono_ms
    data.acknowledged_rules = data.acknowledged_rules | set(rec.rule_ids)
    data.acknowledged_rank = max(data.acknowledged_rank, rec.action.rank)
    if data.starting_to is not None and rec.action.rank >= Action.PAUSE.rank:
        # A start the pump has not confirmed yet is stopped, never left to begin.
        stop_pump(data, out, ", ".join(rec.rule_ids))
        data.starting_to = None
        data.mode = SessionState.STOPPED
        data.paused_until_ms = None
        return
    if data.mode not in RUNNING_MODES and data.mode is not SessionState.PAUSED:
        return  # not infusing: the recommendation is acknowledged, nothing to send
    action = rec.action
    if action is Action.HOLD:
        if data.mode is SessionState.RUNNING:
            data.mode = SessionState.HOLDING
    elif action is Action.SLOW and data.mode in RUNNING_MODES:
        target = rec.target_rate_ml_per_h
        assert target is not None
        assert target < data.rate
        data.step = data.step_for_rate(target)
        set_rate(data, out, target, "slow: " + ", ".join(rec.rule_ids))
        data.mode = SessionState.SLOWED
    elif action is Action.PAUSE and data.mode in RUNNING_MODES:
        data.resume_rate = data.slow_target(data.rate)
        set_rate(data, out, data.rate * 0, "pause: " + ", ".join(rec.rule_ids))
        data.mode = SessionState.PAUSED
        data.paused_until_ms = now_ms + minutes_to_ms(data.policy.restart.pause_min)
        data.pause_expired = False
        data.had_pause = True
    elif action.rank >= Action.STOP.rank:
        if data.rate > 0:
            data.resume_rate = data.slow_target(data.rate)
        stop_pump(data, out, ", ".join(rec.rule_ids))
        data.mode = SessionState.STOPPED
        data.paused_until_ms = None


def send_start(
    data: SessionData, out: Outbox, rate: Decimal, cause: str, target: SessionState
) -> None:
    """Send a START; the infusion enters `target` only when the pump confirms it.

    The mode stays where it was (baseline, stopped or paused) until then: the step timer, the
    vitals schedule and the volume all begin at the confirmation (`start_confirmed`).
    """
    set_rate(data, out, rate, cause, start=True)
    data.starting_to = target


def start_confirmed(data: SessionData, out: Outbox) -> None:
    """The pump confirmed the start: the infusion runs from now."""
    target = data.starting_to
    assert target is not None
    now_ms = out.now.mono_ms
    data.starting_to = None
    data.volume_at_ms = now_ms
    data.rate_started_ms = now_ms
    if data.origin_ms is None:  # the first start: the vitals schedule counts from here
        data.origin_ms = now_ms
        data.vitals_since_origin = False
    data.mode = target


def start_not_done(data: SessionData, out: Outbox, cause: str) -> None:
    """The pump is not infusing after a START: the start did not happen; nothing changes mode."""
    data.starting_to = None
    previous = data.rate
    data.rate = Decimal(0)
    data.volume_at_ms = out.now.mono_ms
    if data.mode is SessionState.BASELINE:
        data.step = None
    out.events.append(
        RateChanged(
            at=out.now, from_ml_per_h=previous, to_ml_per_h=data.rate, step=data.step, cause=cause
        )
    )


def _start(data: SessionData, out: Outbox) -> None:
    first = data.steps[0]
    data.step = 1
    send_start(data, out, first.rate_ml_per_h, "start at step 1", SessionState.RUNNING)


def _restart(data: SessionData, out: Outbox, ev: NurseDecided, prompt: Prompt) -> None:
    if data.never_restart:
        raise Refused(
            "a severe or recurrent reaction: this infusion is never restarted", hard_limit=True
        )
    blockers = data.increase_blockers()
    if blockers:
        raise Refused("cannot restart: " + "; ".join(blockers))
    rate = data.resume_rate if data.resume_rate is not None else data.steps[0].rate_ml_per_h
    _record_override(data, out, ev, prompt, "restart after stop")
    data.stop_note = ""
    data.step = data.step_for_rate(rate)
    if data.reaction_open:
        data.restarted_after_reaction = True
    target = SessionState.SLOWED if data.reaction_open else SessionState.RUNNING
    send_start(data, out, rate, "restart after stop", target)


def _clear_reaction(data: SessionData, out: Outbox, ev: NurseDecided) -> None:
    if data.never_restart:
        raise Refused(
            "after a severe or recurrent reaction the rate never goes up", hard_limit=True
        )
    if data.has_new_symptoms():
        raise Refused("symptoms are still recorded: update the symptom checklist first")
    reason = _override_reason(ev)
    finish = data.had_pause and data.policy.restart.after_pause == "finish_at_last_tolerated"
    if finish and reason is not OverrideReason.PRESCRIBER_ORDER:
        raise Refused(
            "policy: after a pause the infusion finishes at the last tolerated rate "
            "unless the prescriber orders otherwise (reason: prescriber_order)"
        )
    out.events.append(ReactionCleared(at=out.now, reason=reason, note=ev.note))
    data.reaction_open = False
    data.acknowledged_rules = frozenset()
    data.acknowledged_rank = 0
    data.step_up_declined = False
    data.mode = SessionState.RUNNING


def apply_decision(data: SessionData, out: Outbox, ev: NurseDecided) -> None:
    """Apply the nurse's decision to the prompt on screen.

    Raises:
        Refused: when the decision does not fit the prompt or a limit forbids it.
    """
    prompt = data.prompt
    if prompt is None:
        raise Refused("there is nothing to decide")
    if ev.prompt_id is not None and ev.prompt_id != prompt.prompt_id:
        raise Refused(
            f"that decision was for prompt {ev.prompt_id}; prompt {prompt.prompt_id} is now shown"
        )
    now_ms = out.now.mono_ms
    accept = ev.choice is Choice.ACCEPT
    if accept and not prompt.accept:
        raise Refused(f"nothing to accept here ({prompt.title})")
    if not accept and not prompt.override:
        rec = prompt.recommendation
        severe = rec is not None and rec.action is Action.EMERGENCY_STOP
        never = data.never_restart and prompt.kind in (
            PromptKind.STOPPED,
            PromptKind.HOLDING,
            PromptKind.REACTION,
        )
        hard = never or (prompt.kind is PromptKind.REACTION and severe)
        why = (
            ": a hard limit, the infusion is never restarted in this session whatever the "
            "reason (a prescriber's order included)"
            if hard
            else ""
        )
        raise Refused(f"this cannot be overridden ({prompt.title}){why}", hard_limit=hard)
    kind = prompt.kind
    if kind is PromptKind.START:
        problems = start_problems(data, now_ms)
        if problems:
            raise Refused("cannot start: " + "; ".join(problems))
        if not accept:
            _record_override(data, out, ev, prompt, "baseline findings")
        _start(data, out)
    elif kind is PromptKind.STEP_UP:
        if accept:
            blockers = step_up_blockers(data, now_ms)
            if blockers:
                raise Refused("no increase: " + "; ".join(blockers))
            step_up(data, out)
        else:
            _record_override(data, out, ev, prompt, "increase declined")
            data.step_up_declined = True
    elif kind is PromptKind.VITALS_DUE:
        grace = minutes_to_ms(data.policy.monitoring.increase_grace_min)
        blockers = step_up_blockers(data, now_ms, grace)
        if blockers:
            raise Refused("no increase: " + "; ".join(blockers))
        _record_override(data, out, ev, prompt, "vitals older than the policy allows")
        data.vitals_due_reason = None
        step_up(data, out)
    elif kind is PromptKind.REACTION:
        rec = prompt.recommendation
        assert rec is not None
        if accept:
            data.sticky = None
            apply_action(data, out, rec)
        else:
            if rec.action is Action.EMERGENCY_STOP:
                raise Refused("a severe reaction: the infusion must stop", hard_limit=True)
            _record_override(data, out, ev, prompt, f"recommendation: {rec.action.value}")
            data.sticky = None
            data.acknowledged_rules = data.acknowledged_rules | set(rec.rule_ids)
            data.acknowledged_rank = max(data.acknowledged_rank, rec.action.rank)
            if data.mode is SessionState.RUNNING:
                data.mode = SessionState.HOLDING
    elif kind is PromptKind.RESUME:
        blockers = resume_blockers(data, now_ms)
        if blockers or data.resume_rate is None:
            raise Refused("cannot resume: " + "; ".join(blockers))
        rate = data.resume_rate
        data.step = data.step_for_rate(rate)
        data.paused_until_ms = None
        if data.nurse_pause:  # not a reaction: back where it was, at the same rate
            data.nurse_pause = False
            target = SessionState.SLOWED if data.reaction_open else SessionState.RUNNING
        else:
            data.restarted_after_reaction = True
            target = SessionState.SLOWED
        send_start(data, out, rate, "resume after pause", target)
    elif kind is PromptKind.HOLDING:
        _clear_reaction(data, out, ev)
    elif kind is PromptKind.LOT_CHANGE:
        data.sticky = None
        if accept:
            first = data.steps[0].rate_ml_per_h
            data.tolerated = []
            data.step = 1
            if data.rate > first:
                set_rate(data, out, first, "new lot: ramp restarted")
            else:
                data.rate_started_ms = now_ms
        else:
            _record_override(data, out, ev, prompt, "ramp restart after a new lot")
    elif kind is PromptKind.STOPPED:
        if accept:
            begin_observation(data, now_ms)
        else:
            _restart(data, out, ev, prompt)
    elif kind is PromptKind.CLOSE:
        data.mode = SessionState.CLOSED
    elif kind is PromptKind.INFO and data.mode is SessionState.OBSERVATION:
        # Closing before the observation ends: only with a recorded reason.
        _record_override(data, out, ev, prompt, "session closed before the observation ended")
        data.mode = SessionState.CLOSED
    else:
        raise Refused(f"nothing to decide here ({prompt.title})")
