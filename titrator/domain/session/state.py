"""The session's mutable state and the small operations every handler shares.

Private to the session modules: `InfusionSession` owns one `SessionData` and passes it, with an
`Outbox` collecting the events and commands of the current input, to the handler functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from titrator.domain.assess import Observation, Recommendation
from titrator.domain.clock import MS_PER_HOUR, Instant, minutes_to_ms
from titrator.domain.decisions import (
    AlarmCode,
    LinkState,
    Prompt,
    PumpCommand,
    PumpCommandKind,
    SessionState,
)
from titrator.domain.events import (
    AlarmCleared,
    AlarmRaised,
    AuditEvent,
    LinkStateChanged,
    PumpCommandIssued,
    RateChanged,
)
from titrator.domain.plan_model import Plan, PlanStep
from titrator.domain.policy import Policy, Severity
from titrator.domain.vitals import Symptom, VitalsReading

RUNNING_MODES = frozenset({SessionState.RUNNING, SessionState.HOLDING, SessionState.SLOWED})
"""Modes in which the pump is meant to be infusing."""
PRE_START_MODES = frozenset({SessionState.SETUP, SessionState.PRE_CHECKS, SessionState.BASELINE})
ENDED_MODES = frozenset({SessionState.CLOSED, SessionState.ABORTED})


class Refused(Exception):
    """Raised by a handler, before it changes anything, to refuse the input.

    Attributes:
        reason: plain-language reason shown to the nurse.
        hard_limit: True for a hard limit that no override can pass.
        field: the input field at fault, if any.
        raw: the offending text, if any.
    """

    def __init__(
        self,
        reason: str,
        *,
        hard_limit: bool = False,
        field: str | None = None,
        raw: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hard_limit = hard_limit
        self.field = field
        self.raw = raw


@dataclass
class Outbox:
    """Events and commands produced while handling one input."""

    now: Instant
    events: list[AuditEvent] = field(default_factory=list)
    commands: list[PumpCommand] = field(default_factory=list)
    recommendation: Recommendation | None = None


@dataclass
class SessionData:
    """Everything the engine remembers. Times are monotonic milliseconds."""

    plan: Plan
    policy: Policy
    session_id: str
    mode: SessionState = SessionState.SETUP
    state: SessionState = SessionState.SETUP
    step: int | None = None
    rate: Decimal = Decimal(0)
    rate_started_ms: int | None = None
    tolerated: list[Decimal] = field(default_factory=list)
    pump_started: bool = False
    origin_ms: int | None = None
    """Start of the vitals schedule: infusion start, or a lot change that restarts it."""
    vitals_since_origin: bool = False
    baseline: VitalsReading | None = None
    baseline_ms: int | None = None
    last_vitals: VitalsReading | None = None
    last_vitals_ms: int | None = None
    symptoms: frozenset[Symptom] = frozenset()
    other_symptoms: str = ""
    baseline_symptoms: frozenset[Symptom] = frozenset()
    baseline_other: str = ""
    other_severity: Severity | None = None
    """The nurse's grade of the free-text symptoms now (None: not graded)."""
    baseline_other_severity: Severity | None = None
    reaction_open: bool = False
    acknowledged_rules: frozenset[str] = frozenset()
    acknowledged_rank: int = 0
    never_restart: bool = False
    had_pause: bool = False
    restarted_after_reaction: bool = False
    paused_until_ms: int | None = None
    pause_expired: bool = False
    resume_rate: Decimal | None = None
    step_up_declined: bool = False
    vitals_due_reason: str | None = None
    completed_ms: int | None = None
    obs_until_ms: int | None = None
    obs_end_vitals_done: bool = False
    volume_ml: Decimal = Decimal(0)
    volume_at_ms: int = 0
    audit_failing: bool = False
    link: LinkState = LinkState.OK
    awaiting: PumpCommand | None = None
    rate_mismatch: bool = False
    alarms: dict[AlarmCode, str] = field(default_factory=dict)
    sticky: Prompt | None = None
    prompt: Prompt | None = None
    prompt_seq: int = 0
    command_seq: int = 0
    clock_offset_ms: int | None = None
    last_mono_ms: int = 0
    last_wall_utc: datetime | None = None
    """Latest wall time of a recorded input (a restart's downtime is measured from it)."""
    resumed_ms: int | None = None
    """When the session was last taken over after a restart: older vitals allow no increase."""
    lot: str | None = None
    preinfusion_recorded: bool = False
    """The pre-infusion documentation is recorded (it is taken once, before the checklist)."""
    nurse_pause: bool = False
    """The current pause was the nurse's (not a reaction): resume at the same rate."""
    stop_note: str = ""
    """Why the infusion is stopped, when titrator did not stop it (the pump stopped by itself)."""
    starting_to: SessionState | None = None
    """A START was sent and the pump has not confirmed it: the mode the infusion enters once it
    does. Until then the mode stays where it was, no time counts at the rate and no volume."""
    had_moderate_reaction: bool = False
    """A moderate (or worse) reaction opened in this session: observation is longer."""
    had_emergency_stop: bool = False
    """An emergency stop was recommended in this session: observation is longer still."""

    # -- derived facts -----------------------------------------------------------------------

    @property
    def steps(self) -> tuple[PlanStep, ...]:
        """The plan's ladder."""
        return self.plan.steps

    def current_step(self) -> PlanStep | None:
        """The plan step the session is on (None before the start)."""
        return None if self.step is None else self.steps[self.step - 1]

    def next_step(self) -> PlanStep | None:
        """The next rung above the current rate that does not exceed the plan's maximum."""
        for candidate in self.steps:
            if candidate.rate_ml_per_h > self.rate:
                ok = candidate.rate_ml_per_h <= self.plan.max_rate_ml_per_h
                return candidate if ok else None
        return None

    def dwell_end_ms(self) -> int | None:
        """When the minimum dwell at the current rate ends."""
        current = self.current_step()
        if current is None or self.rate_started_ms is None:
            return None
        return self.rate_started_ms + minutes_to_ms(current.min_dwell_min)

    def vitals_age_ms(self, now_ms: int) -> int | None:
        """Age of the latest vitals set that may justify a change of rate, or None.

        A set taken before a restart does not count: the patient was not watched meanwhile.
        """
        if self.last_vitals_ms is None:
            return None
        if self.resumed_ms is not None and self.last_vitals_ms < self.resumed_ms:
            return None
        return now_ms - self.last_vitals_ms

    def volume_at(self, now_ms: int) -> Decimal:
        """Volume given by `now_ms`, integrating the commanded rate on the monotonic clock.

        Nothing is counted while a start waits for the pump to confirm it.
        """
        if self.starting_to is not None:
            return self.volume_ml
        elapsed = max(now_ms - self.volume_at_ms, 0)
        return self.volume_ml + self.rate * elapsed / MS_PER_HOUR

    def volume_complete_ms(self) -> int | None:
        """When the dose volume will have been given at the current rate."""
        if self.rate <= 0:
            return None
        remaining = self.plan.total_volume_ml - self.volume_ml
        if remaining <= 0:
            return self.volume_at_ms
        span = (remaining * MS_PER_HOUR / self.rate).to_integral_value(rounding=ROUND_CEILING)
        return self.volume_at_ms + int(span)

    def has_new_symptoms(self) -> bool:
        """Any checklist symptom not present at baseline, or any free-text symptom."""
        return bool(self.symptoms - self.baseline_symptoms) or bool(self.other_symptoms.strip())

    def observation(self) -> Observation:
        """What an assessment looks at now."""
        return Observation(
            reading=self.last_vitals,
            baseline=self.baseline,
            symptoms=self.symptoms,
            baseline_symptoms=self.baseline_symptoms,
            other_symptoms=self.other_symptoms,
            other_severity=self.other_severity,
            restarted_after_reaction=self.restarted_after_reaction,
        )

    def increase_blockers(self) -> list[str]:
        """Shell-side conditions that forbid any increase right now."""
        blockers = []
        if self.audit_failing:
            blockers.append("the audit log cannot be written")
        if self.link is LinkState.LOST:
            blockers.append("the pump link is lost")
        elif self.link is LinkState.UNCERTAIN:
            blockers.append("the pump's state is uncertain (waiting for a status read)")
        if self.awaiting is not None and self.awaiting.kind is not PumpCommandKind.READ_STATUS:
            blockers.append("waiting for the pump to confirm the last command")
        if self.rate_mismatch:
            blockers.append("the pump's rate differs from the expected rate")
        return blockers

    def slow_target(self, from_rate: Decimal) -> Decimal:
        """The lower rate for a slow-down or a resume: last tolerated, or the policy fraction."""
        restart = self.policy.restart
        if restart.slow_to == "last_tolerated":
            lower = [rate for rate in self.tolerated if rate < from_rate]
            if lower:
                return max(lower)
        resolution = self.plan.request.pump_resolution_ml_per_h
        scaled = from_rate * restart.slow_fraction
        floored = (scaled / resolution).to_integral_value(rounding=ROUND_FLOOR) * resolution
        return max(floored, resolution)

    def step_for_rate(self, rate: Decimal) -> int:
        """The highest plan step whose rate does not exceed `rate` (1 if below every step)."""
        number = 1
        for candidate in self.steps:
            if candidate.rate_ml_per_h <= rate:
                number = candidate.number
        return number


# -- shared operations -----------------------------------------------------------------------


def issue(
    data: SessionData, out: Outbox, kind: PumpCommandKind, rate: Decimal | None = None
) -> None:
    """Record and queue a pump command (the intent event precedes sending)."""
    data.command_seq += 1
    command = PumpCommand(command_id=data.command_seq, kind=kind, rate_ml_per_h=rate)
    out.events.append(PumpCommandIssued(at=out.now, command=command))
    out.commands.append(command)
    data.awaiting = command


def set_rate(
    data: SessionData, out: Outbox, rate: Decimal, cause: str, *, start: bool = False
) -> None:
    """Change the intended rate: integrate the volume so far, record, and command the pump.

    A rate of 0 pauses (or, with `cause` starting 'stop', stops) the pump.
    """
    assert rate <= data.plan.max_rate_ml_per_h, "a rate above the plan's cap reached set_rate"
    is_stop = rate == 0 and cause.startswith("stop")
    if data.link is not LinkState.OK and not is_stop:
        raise Refused("the pump's state is unknown: only STOP (or a status read) can be sent")
    now_ms = out.now.mono_ms
    data.volume_ml = data.volume_at(now_ms)
    data.volume_at_ms = now_ms
    previous = data.rate
    data.rate = rate
    data.rate_started_ms = now_ms
    out.events.append(
        RateChanged(
            at=out.now, from_ml_per_h=previous, to_ml_per_h=rate, step=data.step, cause=cause
        )
    )
    if rate == 0:
        kind = PumpCommandKind.STOP if is_stop else PumpCommandKind.PAUSE
        issue(data, out, kind)
    elif start or previous == 0:
        data.pump_started = True
        issue(data, out, PumpCommandKind.START, rate)
    else:
        issue(data, out, PumpCommandKind.SET_RATE, rate)


def raise_alarm(data: SessionData, out: Outbox, code: AlarmCode, text: str) -> None:
    """Raise (or re-word) an alarm."""
    if data.alarms.get(code) != text:
        data.alarms[code] = text
        out.events.append(AlarmRaised(at=out.now, code=code, text=text))


def clear_alarm(data: SessionData, out: Outbox, code: AlarmCode) -> None:
    """Clear an alarm if it is active."""
    if code in data.alarms:
        del data.alarms[code]
        out.events.append(AlarmCleared(at=out.now, code=code))


def set_link(data: SessionData, out: Outbox, link: LinkState) -> None:
    """Change what the engine knows about the pump, with its alarm."""
    if data.link is link:
        return
    data.link = link
    out.events.append(LinkStateChanged(at=out.now, link=link))
    if link is LinkState.UNCERTAIN:
        raise_alarm(
            data, out, AlarmCode.PUMP_UNCERTAIN, "Pump state uncertain: reading its status."
        )
    else:
        clear_alarm(data, out, AlarmCode.PUMP_UNCERTAIN)
    if link is LinkState.LOST:
        raise_alarm(
            data, out, AlarmCode.PUMP_LINK_LOST, "Pump link lost: check the pump and cable."
        )
    else:
        clear_alarm(data, out, AlarmCode.PUMP_LINK_LOST)
