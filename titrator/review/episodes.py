"""The structured parts of a review, derived in one pass over the events (`Walker`).

- rate segments from `rate_changed` (the rate the pump should run at, from one change to the
  next; the last one ends when the session closes, or is open-ended in an unfinished log);
- vital-signs points from `vitals_accepted`;
- reaction episodes: a `reaction_opened` starts one, later `reaction_opened` events while it is
  open update it (more rules, a higher severity), `reaction_cleared` ends it. The reason shown is
  the recommendation the nurse saw (the `assessment_made` that triggered it);
- overrides from `override_recorded`, each with its reason, note and nurse; an override the
  nurse chose that the engine refused (`nurse_decided` override, then `input_refused`) is kept
  apart as a `RefusedOverride`, so every override choice in the log is shown somewhere;
- pump commands from `pump_command`, joined with their `pump_outcome` by `command_id`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from titrator.domain import events as ev
from titrator.domain.decisions import Choice, SessionState
from titrator.domain.events import AuditEvent
from titrator.domain.policy import Severity
from titrator.domain.vitals import VitalField


@dataclass(frozen=True)
class RateSegment:
    """A stretch of time at one pump rate.

    Attributes:
        start: when the rate was set (UTC).
        end: when it changed or the session closed; None if the log ends first.
        rate_ml_per_h: the rate (0 while paused or stopped).
        step: the plan step, if any.
        cause: why the rate changed (as recorded).
        nurse_id: who was signed in.
        seq: the `rate_changed` record.
    """

    start: datetime
    end: datetime | None
    rate_ml_per_h: Decimal
    step: int | None
    cause: str
    nurse_id: str
    seq: int


@dataclass(frozen=True)
class VitalsPoint:
    """One accepted vitals set.

    Attributes:
        at: when (UTC).
        values: value by field (units in the field names).
        purpose: baseline, scheduled, end of infusion, ...
        nurse_id: who entered it.
        seq: the `vitals_accepted` record.
    """

    at: datetime
    values: dict[VitalField, Decimal]
    purpose: str
    nurse_id: str
    seq: int


@dataclass(frozen=True)
class Reaction:
    """One reaction episode, from opening to clearing.

    Attributes:
        opened_at: when it was first recognised.
        severity: the highest severity reached (None when not graded).
        rule_ids: every policy rule that fired during the episode, in order.
        reasons: the recommendation text the nurse saw, one per update.
        action: the most cautious recommended action.
        never_restart: the infusion may never be restarted.
        opened_by: the nurse signed in when it was recorded.
        updates: number of `reaction_opened` records merged into this episode.
        cleared_at: when the nurse cleared it (None if never).
        cleared_reason: the reason code given.
        cleared_note: the free text given.
        cleared_by: the nurse who cleared it.
        seq: the first `reaction_opened` record.
    """

    opened_at: datetime
    severity: Severity | None
    rule_ids: tuple[str, ...]
    reasons: tuple[str, ...]
    action: str
    never_restart: bool
    opened_by: str
    updates: int
    seq: int
    cleared_at: datetime | None = None
    cleared_reason: str | None = None
    cleared_note: str = ""
    cleared_by: str | None = None

    @property
    def severity_label(self) -> str:
        """`mild`, `moderate`, `severe`, or `not graded`."""
        return self.severity.value if self.severity is not None else "not graded"


@dataclass(frozen=True)
class Override:
    """A recommendation or soft limit the nurse overrode.

    Attributes:
        at: when.
        prompt_kind: what was on screen.
        limit: what was overridden.
        reason: the reason code.
        note: the free text.
        nurse_id: who.
        seq: the `override_recorded` record.
    """

    at: datetime
    prompt_kind: str
    limit: str
    reason: str
    note: str
    nurse_id: str
    seq: int


@dataclass(frozen=True)
class RefusedOverride:
    """An override the nurse chose that the engine refused (nothing was overridden).

    Attributes:
        at: when.
        reason: the reason code given ("" if none).
        note: the free text given.
        refusal: why the engine refused it, as recorded.
        nurse_id: who.
        seq: the `nurse_decided` record.
    """

    at: datetime
    reason: str
    note: str
    refusal: str
    nurse_id: str
    seq: int


@dataclass(frozen=True)
class PumpCommandRecord:
    """A pump command and what came of it.

    Attributes:
        command_id: the engine's command number.
        kind: start, set_rate, pause, stop, read_status.
        rate_ml_per_h: the setpoint, for start and set_rate.
        issued_at: when the intent was recorded.
        nurse_id: who was signed in.
        seq: the `pump_command` record.
        outcome: confirmed, failed, uncertain, unknown after restart; None if none recorded.
        outcome_at: when the outcome was recorded.
        reported_rate_ml_per_h: the rate the pump reported back.
        detail: error text, if any.
    """

    command_id: int
    kind: str
    rate_ml_per_h: Decimal | None
    issued_at: datetime
    nurse_id: str
    seq: int
    outcome: str | None = None
    outcome_at: datetime | None = None
    reported_rate_ml_per_h: Decimal | None = None
    detail: str = ""


def _rank(severity: Severity | None) -> int:
    return -1 if severity is None else severity.rank


class Walker:
    """Accumulates the structured parts while the records are read in order."""

    def __init__(self) -> None:
        self.segments: list[RateSegment] = []
        self.vitals: list[VitalsPoint] = []
        self.reactions: list[Reaction] = []
        self.overrides: list[Override] = []
        self.refused_overrides: list[RefusedOverride] = []
        self._override_choice: RefusedOverride | None = None
        self.commands: dict[int, PumpCommandRecord] = {}
        self.lots: list[tuple[datetime | None, str]] = []
        self.states: list[SessionState] = []
        self.stop_reason: str | None = None
        self.stopped_in_reaction: str | None = None
        self._open: int | None = None
        self._last_rec: tuple[str, str] | None = None

    @property
    def infusion_started_at(self) -> datetime | None:
        """The first moment the rate went above zero."""
        return next((s.start for s in self.segments if s.rate_ml_per_h > 0), None)

    def first_at_rate(self, rate_ml_per_h: Decimal) -> datetime | None:
        """The first moment the rate reached `rate_ml_per_h` (or more)."""
        return next((s.start for s in self.segments if s.rate_ml_per_h >= rate_ml_per_h), None)

    def feed(self, event: AuditEvent | None, at: datetime, nurse_id: str, seq: int) -> None:
        """Take one record's event into account (None: nothing to derive)."""
        self._override_outcome(event, at, nurse_id, seq)
        if isinstance(event, ev.RateChanged):
            self._close_segment(at)
            self.segments.append(
                RateSegment(at, None, event.to_ml_per_h, event.step, event.cause, nurse_id, seq)
            )
        elif isinstance(event, ev.VitalsAccepted):
            self.vitals.append(VitalsPoint(at, dict(event.values), event.purpose, nurse_id, seq))
        elif isinstance(event, ev.AssessmentMade):
            rec = event.recommendation
            self._last_rec = (rec.reason, rec.action.value)
        elif isinstance(event, ev.ReactionOpened):
            self._reaction(event, at, nurse_id, seq)
        elif isinstance(event, ev.ReactionCleared):
            if self._open is not None:
                self.reactions[self._open] = dataclasses.replace(
                    self.reactions[self._open],
                    cleared_at=at,
                    cleared_reason=event.reason.value,
                    cleared_note=event.note,
                    cleared_by=nurse_id,
                )
                self._open = None
        elif isinstance(event, ev.OverrideRecorded):
            self.overrides.append(
                Override(
                    at,
                    event.prompt_kind,
                    event.limit,
                    event.reason.value,
                    event.note,
                    nurse_id,
                    seq,
                )
            )
        else:
            self._other(event, at, nurse_id, seq)

    def _override_outcome(
        self, event: AuditEvent | None, at: datetime, nurse_id: str, seq: int
    ) -> None:
        """Pair a nurse's override choice with what came of it (recorded, or refused)."""
        choice = self._override_choice
        if isinstance(event, ev.NurseDecided):
            self._override_choice = None
            if event.choice is Choice.OVERRIDE:
                reason = event.reason.value if event.reason is not None else ""
                self._override_choice = RefusedOverride(at, reason, event.note, "", nurse_id, seq)
        elif isinstance(event, ev.OverrideRecorded):
            self._override_choice = None
        elif (
            isinstance(event, ev.InputRefused)
            and event.input_kind == "nurse_decided"
            and choice is not None
        ):
            self.refused_overrides.append(dataclasses.replace(choice, refusal=event.reason))
            self._override_choice = None

    def _other(self, event: AuditEvent | None, at: datetime, nurse_id: str, seq: int) -> None:
        if isinstance(event, ev.PumpCommandIssued):
            c = event.command
            self.commands[c.command_id] = PumpCommandRecord(
                c.command_id, c.kind.value, c.rate_ml_per_h, at, nurse_id, seq
            )
        elif isinstance(event, ev.PumpOutcome):
            known = self.commands.get(event.command_id)
            if known is not None:
                self.commands[event.command_id] = dataclasses.replace(
                    known,
                    outcome=event.outcome,
                    outcome_at=at,
                    reported_rate_ml_per_h=event.reported_rate_ml_per_h,
                    detail=event.detail,
                )
        elif isinstance(event, ev.PumpOutcomeUnknown):
            known = self.commands.get(event.command.command_id)
            if known is not None:
                self.commands[known.command_id] = dataclasses.replace(
                    known, outcome="unknown after restart", outcome_at=at, detail=event.reason
                )
        elif isinstance(event, ev.StateChanged):
            self.states.append(event.to_state)
            if event.to_state in (SessionState.STOPPED, SessionState.ABORTED):
                self._stopped()
        elif isinstance(event, ev.StopRequested):
            self.stop_reason = event.reason or "no reason given"
        elif isinstance(event, ev.LotRecorded):
            self.lots.append((at, event.lot))

    def _stopped(self) -> None:
        if self._open is None or self.stopped_in_reaction is not None:
            return
        reaction = self.reactions[self._open]
        self.stopped_in_reaction = (
            f"stopped during a {reaction.severity_label} reaction ({', '.join(reaction.rule_ids)})"
        )

    def _reaction(self, event: ev.ReactionOpened, at: datetime, nurse_id: str, seq: int) -> None:
        reason, action = self._last_rec if self._last_rec is not None else ("", "")
        if self._open is None:
            self.reactions.append(
                Reaction(
                    opened_at=at,
                    severity=event.severity,
                    rule_ids=event.rule_ids,
                    reasons=(reason,) if reason else (),
                    action=action,
                    never_restart=event.never_restart,
                    opened_by=nurse_id,
                    updates=1,
                    seq=seq,
                )
            )
            self._open = len(self.reactions) - 1
            return
        old = self.reactions[self._open]
        rules = old.rule_ids + tuple(r for r in event.rule_ids if r not in old.rule_ids)
        severity = event.severity if _rank(event.severity) > _rank(old.severity) else old.severity
        reasons = old.reasons + ((reason,) if reason and reason not in old.reasons else ())
        self.reactions[self._open] = dataclasses.replace(
            old,
            severity=severity,
            rule_ids=rules,
            reasons=reasons,
            action=action if _action_rank(action) > _action_rank(old.action) else old.action,
            never_restart=old.never_restart or event.never_restart,
            updates=old.updates + 1,
        )

    def _close_segment(self, at: datetime) -> None:
        if self.segments and self.segments[-1].end is None:
            self.segments[-1] = dataclasses.replace(self.segments[-1], end=at)

    def finish(self, closed_at: datetime | None) -> None:
        """End the last rate segment at the close (it stays open in an unfinished log)."""
        if closed_at is not None:
            self._close_segment(closed_at)


_ACTIONS = ("", "continue", "hold", "slow", "pause", "stop", "emergency_stop")


def _action_rank(action: str) -> int:
    return _ACTIONS.index(action) if action in _ACTIONS else 0
