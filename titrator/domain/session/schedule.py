"""The monitoring schedule and step timing, computed from timestamps (never by counting ticks).

Every function reads `SessionData` and returns monotonic milliseconds; none changes anything.
"""

from __future__ import annotations

from decimal import Decimal

from titrator.domain.clock import minutes_to_ms
from titrator.domain.decisions import SessionState
from titrator.domain.session.decision import DueTimes
from titrator.domain.session.state import RUNNING_MODES, SessionData


def _observation(data: SessionData) -> tuple[Decimal, str]:
    """The post-infusion observation in minutes, and the rule that set it (the longest wins)."""
    mon = data.policy.monitoring
    minutes, why = mon.post_observation_min, "routine"
    if data.plan.request.first_infusion:
        minutes, why = mon.post_observation_high_risk_min, "first infusion (policy)"
        product = data.plan.first_infusion_observation_min
        if product is not None and product > minutes:
            minutes, why = product, "first infusion (product file)"
    after = data.policy.observation_after_reaction
    if after is not None:
        if data.had_emergency_stop and after.after_emergency_stop_min > minutes:
            minutes, why = after.after_emergency_stop_min, "after an emergency stop"
        elif data.had_moderate_reaction and after.after_moderate_min > minutes:
            minutes, why = after.after_moderate_min, "after a moderate reaction"
    return minutes, why


def observation_min_ms(data: SessionData) -> int:
    """Post-infusion observation in ms: the longest rule that applies wins.

    Longer for a first infusion, switch or long gap (the policy's figure, or the product file's
    when longer), after a moderate reaction and after an emergency stop (the policy's
    `observation_after_reaction`).
    """
    return minutes_to_ms(_observation(data)[0])


def observation_why(data: SessionData) -> str:
    """'at least 120 min after an emergency stop': the observation's length and why."""
    minutes, why = _observation(data)
    return f"at least {minutes} min, {why}"


def increase_max_age_ms(data: SessionData) -> int:
    """The oldest a vitals set may be for an increase (or a resume)."""
    return minutes_to_ms(data.policy.monitoring.increase_max_age_min)


def vitals_fresh(data: SessionData, now_ms: int, extra_ms: int = 0) -> bool:
    """A vitals set no older than the policy allows (plus `extra_ms` of grace)."""
    age = data.vitals_age_ms(now_ms)
    return age is not None and age <= increase_max_age_ms(data) + extra_ms


def step_up_candidate(data: SessionData) -> bool:
    """Whether an increase could be offered once time and vitals allow (ignoring the shell)."""
    return (
        data.mode is SessionState.RUNNING
        and not data.reaction_open
        and not data.never_restart
        and data.sticky is None
        and data.next_step() is not None
    )


def routine_vitals_due(data: SessionData) -> tuple[int, str] | None:
    """The next scheduled vitals set and why, for the current mode."""
    mon = data.policy.monitoring
    if data.mode in RUNNING_MODES or data.mode in (SessionState.PAUSED, SessionState.STOPPED):
        if data.mode is SessionState.STOPPED and not data.reaction_open:
            return None
        if data.origin_ms is not None and not data.vitals_since_origin:
            return data.origin_ms + minutes_to_ms(mon.first_check_after_start_min), (
                f"{mon.first_check_after_start_min} min after the start"
            )
        if data.last_vitals_ms is None:
            return None
        if data.reaction_open or data.restarted_after_reaction:
            interval, why = mon.after_reaction_interval_min, "while a reaction is open"
        elif data.next_step() is None:
            interval, why = mon.steady_interval_min, "at the final rate"
        else:
            interval, why = mon.titration_interval_min, "during titration"
        return data.last_vitals_ms + minutes_to_ms(interval), f"every {interval} min {why}"
    reacted = data.reaction_open or data.had_moderate_reaction or data.had_emergency_stop
    if data.mode is SessionState.OBSERVATION and reacted and data.last_vitals_ms is not None:
        # After a moderate reaction or an emergency stop the observation is not a quiet wait: the
        # after-reaction interval goes on until the session closes [S18][RCUK2021].
        interval = mon.after_reaction_interval_min
        return data.last_vitals_ms + minutes_to_ms(interval), (
            f"every {interval} min while observing after a reaction"
        )
    return None


def pre_change_due(data: SessionData) -> tuple[int, str] | None:
    """A set needed before an increase (after the dwell) or before a resume (after a pause)."""
    if data.last_vitals_ms is None:
        return None
    stale_at = data.last_vitals_ms + increase_max_age_ms(data) + 1
    if step_up_candidate(data):
        dwell_end = data.dwell_end_ms()
        if dwell_end is not None and not data.step_up_declined:
            return max(dwell_end, stale_at), "before the next increase"
    if data.mode is SessionState.PAUSED and data.paused_until_ms is not None:
        return max(data.paused_until_ms, stale_at), "before resuming"
    return None


def vitals_due(data: SessionData) -> tuple[int, str] | None:
    """The earliest vitals deadline, and why."""
    options = [due for due in (routine_vitals_due(data), pre_change_due(data)) if due is not None]
    return min(options, key=lambda due: due[0]) if options else None


def due_times(data: SessionData) -> DueTimes:
    """Every pending deadline, for the shell's countdowns."""
    vitals = vitals_due(data) if data.vitals_due_reason is None else None
    step_up = data.dwell_end_ms() if step_up_candidate(data) else None
    running = data.mode in RUNNING_MODES
    return DueTimes(
        vitals_ms=vitals[0] if vitals else None,
        step_up_ms=step_up,
        pause_end_ms=data.paused_until_ms if data.mode is SessionState.PAUSED else None,
        volume_complete_ms=data.volume_complete_ms() if running else None,
        observation_end_ms=data.obs_until_ms if data.mode is SessionState.OBSERVATION else None,
    )


def upcoming_ms(data: SessionData) -> list[int]:
    """Every moment at which a tick could change something, sorted (for headless runners)."""
    times: set[int] = set()
    due = due_times(data)
    for value in (
        due.vitals_ms,
        due.step_up_ms,
        due.pause_end_ms,
        due.volume_complete_ms,
        due.observation_end_ms,
    ):
        if value is not None:
            times.add(value)
    if data.last_vitals_ms is not None:
        times.add(data.last_vitals_ms + increase_max_age_ms(data) + 1)
    if data.mode is SessionState.BASELINE and data.baseline_ms is not None:
        max_age = minutes_to_ms(data.policy.monitoring.baseline_max_age_min)
        times.add(data.baseline_ms + max_age + 1)
    return sorted(times)
