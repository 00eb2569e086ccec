"""InfusionSession: the pure core. Events in, each with an explicit `now`; a `Decision` out.

No I/O, no clock reads, no UI. Every input is an audit event model (see `events.py`); the
convenience methods build them. The session walks a `Plan` step by step, asks for vitals on the
policy's schedule, assesses every observation, and recommends; the nurse decides.

Safety rules held here (and checked by the stateful tests):
- no rate above the plan's maximum; rates go up one rung at a time, after the dwell (monotonic
  clock), with fresh vitals, no symptoms and no open reaction;
- a reaction blocks every increase until cleared with a reason; after a severe or recurrent
  reaction the infusion is never restarted;
- stop is accepted in every state; no increase while the audit log fails, the pump link is lost
  or uncertain, or a command's outcome is unknown;
- after a restart (`session_resumed`, see `session_resume.py`) durations continue on the new
  clock, the pump is uncertain until a status read, and no command is ever sent twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import timedelta
from decimal import Decimal

from titrator.domain.checklist import ChecklistIncomplete, ItemAnswer, validate_checklist
from titrator.domain.clock import JUMP_TOLERANCE_MS, Instant
from titrator.domain.decisions import (
    Choice,
    LinkState,
    OverrideReason,
    Prompt,
    PromptKind,
    PumpCommand,
    SessionState,
)
from titrator.domain.events import (
    AssessmentMade,
    AuditHealthChanged,
    ChecklistAnswered,
    ClockJumped,
    InputEvent,
    InputRefused,
    LotRecorded,
    MedicationGiven,
    NurseDecided,
    PauseRequested,
    PreInfusionRecorded,
    PromptShown,
    PumpLinkChanged,
    PumpOutcome,
    PumpStatusRead,
    SessionClosed,
    SessionOpened,
    SessionResumed,
    StateChanged,
    StopRequested,
    SymptomsEntered,
    Tick,
    VitalsDue,
    VitalsEntered,
)
from titrator.domain.plan_model import Plan
from titrator.domain.policy import Action, Policy, Severity
from titrator.domain.preinfusion import record_problem
from titrator.domain.session.decision import Decision
from titrator.domain.session.nurse import (
    check_pause_resolved,
    on_lot,
    on_pause,
    on_stop,
    on_symptoms,
    on_vitals,
)
from titrator.domain.session.prompts import derive_prompt
from titrator.domain.session.pump import (
    on_audit_health,
    on_pump_link,
    on_pump_outcome,
    on_pump_status,
)
from titrator.domain.session.resume import on_resume
from titrator.domain.session.schedule import (
    due_times,
    observation_min_ms,
    upcoming_ms,
    vitals_due,
)
from titrator.domain.session.state import (
    ENDED_MODES,
    RUNNING_MODES,
    Outbox,
    Refused,
    SessionData,
    set_rate,
)
from titrator.domain.session.transitions import apply_decision, begin_observation
from titrator.domain.setup import InfusionSetup
from titrator.domain.vitals import Symptom


class InfusionSession:
    """One infusion, from the pre-infusion checks to the end of observation.

    Args:
        plan: the ramp for this patient (from `build_plan`).
        policy: the reaction policy.
        session_id: an identifier recorded in `session_opened`.
    """

    def __init__(self, plan: Plan, policy: Policy, session_id: str) -> None:
        self._d = SessionData(plan=plan, policy=policy, session_id=session_id)

    # -- read-only views ---------------------------------------------------------------------

    @property
    def session_id(self) -> str:
        """The session's identifier (also the audit log's name)."""
        return self._d.session_id

    @property
    def state(self) -> SessionState:
        """The lifecycle state."""
        return self._d.state

    @property
    def rate_ml_per_h(self) -> Decimal:
        """The rate the pump should run at now."""
        return self._d.rate

    @property
    def step(self) -> int | None:
        """The current 1-based plan step."""
        return self._d.step

    @property
    def plan(self) -> Plan:
        """The plan being walked."""
        return self._d.plan

    @property
    def policy(self) -> Policy:
        """The reaction policy in force."""
        return self._d.policy

    @property
    def prompt(self) -> Prompt | None:
        """The prompt on screen now."""
        return self._d.prompt

    @property
    def reaction_open(self) -> bool:
        """A reaction blocks increases until cleared."""
        return self._d.reaction_open

    @property
    def symptoms(self) -> frozenset[Symptom]:
        """The checklist symptoms recorded as present now."""
        return self._d.symptoms

    @property
    def symptoms_other(self) -> str:
        """Free-text symptoms recorded as present now."""
        return self._d.other_symptoms

    @property
    def symptoms_other_severity(self) -> Severity | None:
        """The nurse's grade of the free-text symptoms (None: not graded)."""
        return self._d.other_severity

    @property
    def never_restart(self) -> bool:
        """A severe or recurrent reaction happened: no increase or restart ever again."""
        return self._d.never_restart

    @property
    def emergency_stopped(self) -> bool:
        """An emergency stop was recommended in this session (the emergency steps apply)."""
        return self._d.had_emergency_stop

    @property
    def link(self) -> LinkState:
        """What the engine knows about the pump link."""
        return self._d.link

    @property
    def start_pending(self) -> bool:
        """A START was sent and the pump has not confirmed it yet."""
        return self._d.starting_to is not None

    @property
    def infusion_started(self) -> bool:
        """The pump confirmed a start at some point in this session."""
        return self._d.origin_ms is not None

    @property
    def awaiting_command(self) -> PumpCommand | None:
        """The command whose outcome the engine is waiting for, if any."""
        return self._d.awaiting

    def upcoming_ms(self) -> list[int]:
        """Monotonic times at which a tick could change something (for headless runners)."""
        return upcoming_ms(self._d)

    # -- convenience inputs ------------------------------------------------------------------

    def open(
        self,
        now: Instant,
        *,
        policy_sha256: str = "",
        library_sha256: str = "",
        setup: InfusionSetup | None = None,
    ) -> Decision:
        """Open the session (records the plan, policy and setup in full)."""
        d = self._d
        ev = SessionOpened(
            at=now,
            session_id=d.session_id,
            plan=d.plan,
            policy=d.policy,
            policy_sha256=policy_sha256,
            library_sha256=library_sha256,
            setup=setup,
        )
        return self.handle(ev)

    def answer_checklist(self, answers: Iterable[ItemAnswer], now: Instant) -> Decision:
        """The pre-infusion checklist, item by item."""
        return self.handle(ChecklistAnswered(at=now, answers=tuple(answers)))

    def tick(self, now: Instant) -> Decision:
        """Let time pass; returns a Decision with no events when nothing changed."""
        return self.handle(Tick(at=now))

    def record_vitals(self, raw: Mapping[str, str], now: Instant) -> Decision:
        """A vitals set exactly as typed (field name -> text)."""
        return self.handle(VitalsEntered(at=now, raw=dict(raw)))

    def record_symptoms(
        self,
        symptoms: Iterable[str],
        now: Instant,
        other: str = "",
        other_severity: Severity | None = None,
    ) -> Decision:
        """The symptom checklist as answered now (an empty list: no symptoms).

        `other_severity` is the nurse's grade of the free text `other`; without it the engine
        holds the rate and asks for one before deciding on the free text.
        """
        return self.handle(
            SymptomsEntered(
                at=now, symptoms=tuple(symptoms), other=other, other_severity=other_severity
            )
        )

    def accept(self, now: Instant, prompt_id: int | None = None) -> Decision:
        """Accept the prompt on screen."""
        return self.handle(NurseDecided(at=now, choice=Choice.ACCEPT, prompt_id=prompt_id))

    def override(
        self, reason: OverrideReason, now: Instant, note: str = "", prompt_id: int | None = None
    ) -> Decision:
        """Override the prompt on screen with a reason from the fixed list (plus free text)."""
        return self.handle(
            NurseDecided(
                at=now, choice=Choice.OVERRIDE, reason=reason, note=note, prompt_id=prompt_id
            )
        )

    def record_lot(self, lot: str, now: Instant) -> Decision:
        """A lot (batch) number for the bag or vial being hung."""
        return self.handle(LotRecorded(at=now, lot=lot))

    def resume(self, now: Instant, detail: str = "") -> Decision:
        """Take the session over after a restart (`now` from the new process's clocks)."""
        return self.handle(SessionResumed(at=now, detail=detail))

    def pause(self, reason: str, now: Instant) -> Decision:
        """The nurse pauses the infusion (not for a reaction); it resumes at the same rate."""
        return self.handle(PauseRequested(at=now, reason=reason))

    def stop(self, reason: str, now: Instant) -> Decision:
        """STOP: accepted in every state."""
        return self.handle(StopRequested(at=now, reason=reason))

    # -- the one entry point -----------------------------------------------------------------

    def handle(self, ev: InputEvent) -> Decision:
        """Process one input event and return what follows from it."""
        d = self._d
        out = Outbox(now=ev.at)
        out.events.append(ev)
        saved = dataclasses.replace(d, tolerated=list(d.tolerated), alarms=dict(d.alarms))
        refusal: str | None = None
        try:
            # Time-driven state first, so that an input finds the same state whether or not a
            # quiet tick (never logged) came before it: replay sees only the logged inputs.
            self._expire_pause(out)
            self._dispatch(ev, out)
            self._note_reactions(out)
            self._check_clock(out)
            self._reevaluate(out)
            ended = (SessionState.CLOSED, SessionState.ABORTED)
            if d.mode in ended and saved.mode not in ended:
                # The log's last record (also for a session aborted before the start): the shell
                # closes the log with it.
                out.events.append(SessionClosed(at=out.now, volume_ml=d.volume_ml))
        except Refused as refused:
            self._d = d = saved
            refusal = refused.reason
            out = Outbox(now=ev.at)
            out.events.append(ev)
            out.events.append(
                InputRefused(
                    at=ev.at,
                    input_kind=ev.kind,
                    reason=refused.reason,
                    field=refused.field,
                    raw=refused.raw,
                    hard_limit=refused.hard_limit,
                )
            )
        quiet = isinstance(ev, Tick) and len(out.events) == 1
        if quiet:
            out.events.clear()
        else:
            d.last_mono_ms = max(d.last_mono_ms, ev.at.mono_ms)
            d.last_wall_utc = ev.at.wall_utc
        return self._decision(out, refusal)

    def _decision(self, out: Outbox, refusal: str | None) -> Decision:
        d = self._d
        rec = out.recommendation
        shown = [e.prompt for e in out.events if isinstance(e, PromptShown)]
        plain_continue = rec is None or (rec.action is Action.CONTINUE and not rec.rule_ids)
        if shown and shown[-1].recommendation is not None and plain_continue:
            rec = shown[-1].recommendation
        return Decision(
            events=tuple(out.events),
            commands=tuple(out.commands),
            prompt=d.prompt,
            alarms=tuple(d.alarms),
            state=d.state,
            step=d.step,
            rate_ml_per_h=d.rate,
            volume_ml=d.volume_at(out.now.mono_ms) if d.mode in RUNNING_MODES else d.volume_ml,
            recommendation=rec,
            refusal=refusal,
            due=due_times(d),
        )

    def _on_checklist(self, ev: ChecklistAnswered) -> None:
        d = self._d
        if d.mode is not SessionState.PRE_CHECKS:
            raise Refused("the pre-infusion checks are already recorded")
        try:
            validate_checklist({answer.item_id: answer for answer in ev.answers})
        except ChecklistIncomplete as incomplete:
            item_id, problem = next(iter(incomplete.problems.items()))
            raise Refused(f"checklist: {item_id}: {problem}", field=item_id) from None
        d.mode = SessionState.BASELINE

    def _on_preinfusion(self, ev: PreInfusionRecorded) -> None:
        d = self._d
        if d.mode is not SessionState.PRE_CHECKS or d.preinfusion_recorded:
            raise Refused("the pre-infusion documentation is taken once, before the checklist")
        problem = record_problem(ev.record, d.plan.product_id, d.lot or "")
        if problem is not None:
            raise Refused(f"pre-infusion documentation: {problem}", hard_limit=True)
        d.preinfusion_recorded = True

    def _dispatch(self, ev: InputEvent, out: Outbox) -> None:
        d = self._d
        if isinstance(ev, StopRequested):
            on_stop(d, ev, out)
            return
        if isinstance(ev, SessionResumed):  # a new clock base: readings may go backwards
            if d.mode is SessionState.SETUP:
                raise Refused("the session is not open yet")
            on_resume(d, ev, out)
            return
        if ev.at.mono_ms < d.last_mono_ms:
            raise Refused("the monotonic clock went backwards: input not accepted")
        if isinstance(ev, SessionOpened):
            if d.mode is not SessionState.SETUP:
                raise Refused("the session is already open")
            if ev.plan != d.plan or ev.policy != d.policy or ev.session_id != d.session_id:
                raise Refused("the plan or policy differs from this session's")
            d.clock_offset_ms = ev.at.offset_ms
            d.mode = SessionState.PRE_CHECKS
            if ev.setup is not None:
                d.lot = ev.setup.lot  # a later, different lot is a lot change
            return
        if d.mode is SessionState.SETUP:
            raise Refused("the session is not open yet")
        if isinstance(ev, ChecklistAnswered):
            self._on_checklist(ev)
            return
        if isinstance(ev, PreInfusionRecorded):
            self._on_preinfusion(ev)
            return
        if isinstance(ev, Tick):
            return
        if isinstance(ev, PumpOutcome | PumpStatusRead | PumpLinkChanged | AuditHealthChanged):
            self._on_shell(ev, out)
            return
        if d.mode in ENDED_MODES:
            raise Refused(f"the session is {d.mode.value}")
        if isinstance(ev, PauseRequested):
            on_pause(d, ev, out)
        elif isinstance(ev, VitalsEntered):
            on_vitals(d, ev, out)
        elif isinstance(ev, SymptomsEntered):
            on_symptoms(d, ev, out)
        elif isinstance(ev, NurseDecided):
            apply_decision(d, out, ev)
        elif isinstance(ev, LotRecorded):
            on_lot(d, ev, out)
        elif isinstance(ev, MedicationGiven):
            self._on_medication(ev)

    @staticmethod
    def _on_medication(ev: MedicationGiven) -> None:
        """A medicine given: recorded as the nurse typed it; it changes no rate or state."""
        recorded = ev.at.wall_utc
        if ev.given_at > recorded + timedelta(minutes=1):
            raise Refused(
                "the time given is later than now", field="given_at", raw=ev.given_at.isoformat()
            )
        if ev.given_at < recorded - timedelta(hours=24):
            raise Refused(
                "the time given is more than 24 h ago",
                field="given_at",
                raw=ev.given_at.isoformat(),
            )
        if not ev.drug.strip() or not ev.given_by.strip():
            field = "drug" if not ev.drug.strip() else "given_by"
            raise Refused("this field is empty", field=field, raw="")

    def _on_shell(
        self, ev: PumpOutcome | PumpStatusRead | PumpLinkChanged | AuditHealthChanged, out: Outbox
    ) -> None:
        d = self._d
        if isinstance(ev, PumpOutcome):
            on_pump_outcome(d, out, ev)
        elif isinstance(ev, PumpStatusRead):
            on_pump_status(d, out, ev)
        elif isinstance(ev, PumpLinkChanged):
            on_pump_link(d, out, ev)
        else:
            on_audit_health(d, out, ev)

    # -- time, prompt and state --------------------------------------------------------------

    def _note_reactions(self, out: Outbox) -> None:
        """Remember the worst reaction of the session: it sets the least observation.

        A reaction during observation makes the observation last at least that long from now.
        """
        d = self._d
        before = observation_min_ms(d)
        for event in out.events:
            if not isinstance(event, AssessmentMade):
                continue
            rec = event.recommendation
            if rec.action is Action.EMERGENCY_STOP:
                d.had_emergency_stop = True
            if rec.severity is not None and rec.severity.rank >= Severity.MODERATE.rank:
                d.had_moderate_reaction = True
        after = observation_min_ms(d)
        if after > before and d.mode is SessionState.OBSERVATION and d.obs_until_ms is not None:
            d.obs_until_ms = max(d.obs_until_ms, out.now.mono_ms + after)
            d.obs_end_vitals_done = False

    def _check_clock(self, out: Outbox) -> None:
        d = self._d
        offset = out.now.offset_ms
        if d.clock_offset_ms is None:
            d.clock_offset_ms = offset
        elif abs(offset - d.clock_offset_ms) > JUMP_TOLERANCE_MS:
            out.events.append(ClockJumped(at=out.now, skew_ms=offset - d.clock_offset_ms))
            d.clock_offset_ms = offset

    def _reevaluate(self, out: Outbox) -> None:
        d = self._d
        now_ms = out.now.mono_ms
        if d.mode in RUNNING_MODES and d.volume_at(now_ms) >= d.plan.total_volume_ml:
            set_rate(d, out, Decimal(0), "stop: dose volume given")
            d.completed_ms = now_ms
            d.mode = SessionState.COMPLETE
            if d.policy.monitoring.at_end:
                self._due(out, "end of infusion")
            else:
                begin_observation(d, now_ms)
        self._expire_pause(out)
        if d.mode is SessionState.OBSERVATION and d.obs_until_ms is not None:
            wants_set = d.policy.monitoring.at_observation_end and not d.obs_end_vitals_done
            if now_ms >= d.obs_until_ms and wants_set and d.vitals_due_reason is None:
                self._due(out, "end of observation")
        due = vitals_due(d)
        if due is not None and now_ms >= due[0] and d.vitals_due_reason is None:
            self._due(out, due[1])
        self._update_prompt(out)
        state = self._compute_state()
        if state is not d.state:
            out.events.append(
                StateChanged(at=out.now, from_state=d.state, to_state=state, step=d.step)
            )
            d.state = state

    def _expire_pause(self, out: Outbox) -> None:
        """The minimum pause has run out: the resume may be offered once the reaction settled."""
        d = self._d
        if d.mode is SessionState.PAUSED and not d.pause_expired:
            assert d.paused_until_ms is not None
            if out.now.mono_ms >= d.paused_until_ms:
                d.pause_expired = True
                check_pause_resolved(d, out)

    def _due(self, out: Outbox, reason: str) -> None:
        self._d.vitals_due_reason = reason
        out.events.append(VitalsDue(at=out.now, reason=reason))

    def _update_prompt(self, out: Outbox) -> None:
        d = self._d
        fresh = derive_prompt(d, out.now.mono_ms)
        current = d.prompt
        if fresh is None:
            d.prompt = None
            return
        if (
            current is not None
            and fresh.model_copy(update={"prompt_id": current.prompt_id}) == current
        ):
            return
        d.prompt_seq += 1
        d.prompt = fresh.model_copy(update={"prompt_id": d.prompt_seq})
        if d.sticky is not None and fresh is d.sticky:
            d.sticky = d.prompt
        out.events.append(PromptShown(at=out.now, prompt=d.prompt))

    def _compute_state(self) -> SessionState:
        d = self._d
        reacting = d.sticky is not None and d.sticky.kind is PromptKind.REACTION
        if reacting and (d.mode in RUNNING_MODES or d.mode is SessionState.PAUSED):
            return SessionState.ASSESSMENT
        if d.mode in RUNNING_MODES and d.vitals_due_reason is not None:
            return SessionState.VITALS_DUE
        return d.mode
