"""The audit event schema: a discriminated union on `kind`, frozen, versioned.

Input events are what the shell feeds the session (`INPUT_KINDS`); every other kind is an output
the session derives. Replaying the input events of a log through a fresh session reproduces
every output event exactly (see `titrator.domain.replay`). The audit writer adds its own
envelope (sequence number, hash chain); these models are the payload.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Final, Literal, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from titrator.domain.assess import Recommendation
from titrator.domain.checklist import ItemAnswer
from titrator.domain.clock import Instant
from titrator.domain.decisions import (
    AlarmCode,
    Choice,
    LinkState,
    OverrideReason,
    Prompt,
    PumpCommand,
    SessionState,
)
from titrator.domain.plan_model import Plan
from titrator.domain.policy import Policy, Severity
from titrator.domain.preinfusion import PreInfusion
from titrator.domain.setup import InfusionSetup
from titrator.domain.vitals import VitalField

SCHEMA_VERSION: Final = 1


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    at: Instant
    """When the input happened (outputs carry the instant of the input that caused them)."""


# ---------------------------------------------------------------------------------------------
# Inputs


class SessionOpened(_Event):
    """The session begins with this plan and policy (embedded in full, so a log replays alone)."""

    kind: Literal["session_opened"] = "session_opened"
    session_id: str
    plan: Plan
    policy: Policy
    policy_sha256: str = ""
    library_sha256: str = ""
    setup: InfusionSetup | None = None
    """Who gives the infusion to whom: nurse, two patient identifiers, lot, history, and every
    setup field exactly as typed (None for headless runs without a setup form)."""
    training: bool = False
    """True for `titrator demo` and `titrator train`: no real patient, marked TRAINING in the
    review and every export, left out of folder-wide figures. A log written before this field
    existed reads as False (the review then looks for the older training marks)."""


class ChecklistAnswered(_Event):
    """The pre-infusion checklist, item by item (confirmed, or not done with a reason)."""

    kind: Literal["checklist_answered"] = "checklist_answered"
    answers: tuple[ItemAnswer, ...]


class PreInfusionRecorded(_Event):
    """Pre-infusion documentation, recorded once, before the checklist.

    Premedication, pre-hydration, IgA status, the lot's expiry and the GS1 scan it came from.
    """

    kind: Literal["preinfusion_recorded"] = "preinfusion_recorded"
    record: PreInfusion


class Tick(_Event):
    """Time passed (recorded only when it led to something)."""

    kind: Literal["tick"] = "tick"


class VitalsEntered(_Event):
    """A vitals set exactly as typed, before validation."""

    kind: Literal["vitals_entered"] = "vitals_entered"
    raw: dict[str, str]


class SymptomsEntered(_Event):
    """The symptom checklist as answered now (replaces the previous answer)."""

    kind: Literal["symptoms_entered"] = "symptoms_entered"
    symptoms: tuple[str, ...]
    other: str = ""
    """Free-text symptoms not on the checklist."""
    other_severity: Severity | None = None
    """The nurse's grade of the free text (None: not graded; the engine asks before deciding)."""


class NurseDecided(_Event):
    """The nurse accepted the current prompt, or overrode it with a reason."""

    kind: Literal["nurse_decided"] = "nurse_decided"
    choice: Choice
    prompt_id: int | None = None
    """The prompt answered; if given and no longer current, the decision is refused."""
    reason: OverrideReason | None = None
    note: str = ""


class LotRecorded(_Event):
    """A lot (batch) number was recorded for the product being hung."""

    kind: Literal["lot_recorded"] = "lot_recorded"
    lot: str


class PauseRequested(_Event):
    """The nurse pauses the infusion for a reason that is not a reaction (a line, a bathroom)."""

    kind: Literal["pause_requested"] = "pause_requested"
    reason: str


class StopRequested(_Event):
    """The nurse pressed STOP (accepted in every state)."""

    kind: Literal["stop_requested"] = "stop_requested"
    reason: str = ""


class PumpOutcome(_Event):
    """The result of a pump command, after read-back."""

    kind: Literal["pump_outcome"] = "pump_outcome"
    command_id: int
    outcome: Literal["confirmed", "failed", "uncertain"]
    reported_rate_ml_per_h: Decimal | None = None
    detail: str = ""


class PumpStatusRead(_Event):
    """What the pump says it is doing."""

    kind: Literal["pump_status"] = "pump_status"
    running: bool
    rate_ml_per_h: Decimal
    volume_ml: Decimal | None = None
    """Volume infused this session, if the pump reports it."""


class PumpLinkChanged(_Event):
    """The link to the pump was lost or restored."""

    kind: Literal["pump_link"] = "pump_link"
    up: bool
    detail: str = ""


class AuditHealthChanged(_Event):
    """The audit writer failed to persist, or recovered (written once writes succeed again)."""

    kind: Literal["audit_health"] = "audit_health"
    healthy: bool
    detail: str = ""


class SessionResumed(_Event):
    """The program restarted and took the session over from its log (crash, power loss, update).

    `at` comes from the new process's clocks: its monotonic reading is the new clock base. The
    engine moves every monotonic time it remembers onto the new clock, counting the time it was
    down as elapsed (see `session_resume.py`), puts the pump link in UNCERTAIN and reads the
    pump's status. A command whose outcome was never recorded is never sent again.
    """

    kind: Literal["session_resumed"] = "session_resumed"
    detail: str = ""
    """Why the session was taken over (free text for the reviewer)."""


MedicationRoute = Literal["IM", "IV", "SC", "PO", "inhaled", "nebulised"]
MEDICATION_ROUTES: Final[tuple[str, ...]] = get_args(MedicationRoute)
MedicationUnit = Literal["mg", "microgram", "g", "mL", "L/min"]
MEDICATION_UNITS: Final[tuple[str, ...]] = get_args(MedicationUnit)


class MedicationGiven(_Event):
    """A medicine given to the patient (an emergency or a reaction treatment), as recorded.

    Each dose is its own record, never required before STOP. `at` is when it was recorded;
    `given_at` is when it was given (the nurse types the time).
    """

    kind: Literal["medication_given"] = "medication_given"
    drug: str = Field(min_length=1, max_length=120)
    dose: Decimal = Field(gt=0)
    unit: MedicationUnit
    route: MedicationRoute
    given_at: AwareDatetime
    """When it was given (UTC)."""
    given_by: str = Field(min_length=1, max_length=80)
    """Who gave it (name or staff id)."""


# ---------------------------------------------------------------------------------------------
# Outputs


class InputRefused(_Event):
    """An input that changed nothing, and why."""

    kind: Literal["input_refused"] = "input_refused"
    input_kind: str
    reason: str
    field: str | None = None
    raw: str | None = None
    hard_limit: bool = False
    """True when a hard limit was hit (cap, increase after severe reaction, never restart)."""


class StateChanged(_Event):
    """A lifecycle transition."""

    kind: Literal["state_changed"] = "state_changed"
    from_state: SessionState
    to_state: SessionState
    step: int | None


class VitalsAccepted(_Event):
    """A vitals set that passed validation."""

    kind: Literal["vitals_accepted"] = "vitals_accepted"
    values: dict[VitalField, Decimal]
    raw: dict[VitalField, str]
    purpose: str
    """baseline, scheduled, end of infusion, ..."""


class AssessmentMade(_Event):
    """The result of judging the latest observation against the policy."""

    kind: Literal["assessment_made"] = "assessment_made"
    recommendation: Recommendation


class PromptShown(_Event):
    """A new prompt, recorded with exactly the text the nurse sees."""

    kind: Literal["prompt_shown"] = "prompt_shown"
    prompt: Prompt


class PumpCommandIssued(_Event):
    """Intent: a command about to be sent (written before it is sent)."""

    kind: Literal["pump_command"] = "pump_command"
    command: PumpCommand


class RateChanged(_Event):
    """The rate the pump should run at changed."""

    kind: Literal["rate_changed"] = "rate_changed"
    from_ml_per_h: Decimal
    to_ml_per_h: Decimal
    step: int | None
    cause: str


class ReactionOpened(_Event):
    """A reaction now blocks every increase until cleared with a reason."""

    kind: Literal["reaction_opened"] = "reaction_opened"
    rule_ids: tuple[str, ...]
    severity: Severity | None
    never_restart: bool


class ReactionCleared(_Event):
    """The nurse cleared a reaction with a reason; increases may be offered again."""

    kind: Literal["reaction_cleared"] = "reaction_cleared"
    reason: OverrideReason
    note: str


class OverrideRecorded(_Event):
    """A recommendation or soft limit overridden, with the reason."""

    kind: Literal["override_recorded"] = "override_recorded"
    prompt_kind: str
    limit: str
    reason: OverrideReason
    note: str


class VitalsDue(_Event):
    """A vitals set became due."""

    kind: Literal["vitals_due"] = "vitals_due"
    reason: str


class ClockJumped(_Event):
    """The wall clock moved differently from the monotonic clock (no duration is affected)."""

    kind: Literal["clock_jumped"] = "clock_jumped"
    skew_ms: int


class AlarmRaised(_Event):
    """An alarm the nurse must see."""

    kind: Literal["alarm_raised"] = "alarm_raised"
    code: AlarmCode
    text: str


class AlarmCleared(_Event):
    """An alarm condition ended."""

    kind: Literal["alarm_cleared"] = "alarm_cleared"
    code: AlarmCode


class LinkStateChanged(_Event):
    """What the engine knows about the pump changed."""

    kind: Literal["link_state"] = "link_state"
    link: LinkState


class VolumeReconciled(_Event):
    """A pump-reported volume compared with the engine's own integration."""

    kind: Literal["volume_reconciled"] = "volume_reconciled"
    engine_ml: Decimal
    pump_ml: Decimal
    accepted: bool


class ClockRebased(_Event):
    """After a restart: the downtime counted as elapsed and the shift applied to stored times."""

    kind: Literal["clock_rebased"] = "clock_rebased"
    downtime_ms: int
    """Time counted as elapsed while the program was down (never negative)."""
    wall_gap_ms: int
    """Wall-clock time between the last input before the restart and the resume (may be < 0)."""
    shift_ms: int
    """Added to every remembered monotonic time to move it onto the new process's clock."""


class PumpOutcomeUnknown(_Event):
    """A command whose outcome was never recorded before a restart.

    It is treated as uncertain and never sent again.
    """

    kind: Literal["pump_outcome_unknown"] = "pump_outcome_unknown"
    command: PumpCommand
    reason: str


class SessionClosed(_Event):
    """The session ended."""

    kind: Literal["session_closed"] = "session_closed"
    volume_ml: Decimal


InputEvent = Annotated[
    SessionOpened
    | ChecklistAnswered
    | PreInfusionRecorded
    | Tick
    | VitalsEntered
    | SymptomsEntered
    | NurseDecided
    | LotRecorded
    | PauseRequested
    | StopRequested
    | PumpOutcome
    | PumpStatusRead
    | PumpLinkChanged
    | AuditHealthChanged
    | SessionResumed
    | MedicationGiven,
    Field(discriminator="kind"),
]

AuditEvent = Annotated[
    SessionOpened
    | ChecklistAnswered
    | PreInfusionRecorded
    | Tick
    | VitalsEntered
    | SymptomsEntered
    | NurseDecided
    | LotRecorded
    | PauseRequested
    | StopRequested
    | PumpOutcome
    | PumpStatusRead
    | PumpLinkChanged
    | AuditHealthChanged
    | SessionResumed
    | MedicationGiven
    | InputRefused
    | StateChanged
    | VitalsAccepted
    | AssessmentMade
    | PromptShown
    | PumpCommandIssued
    | RateChanged
    | ReactionOpened
    | ReactionCleared
    | OverrideRecorded
    | VitalsDue
    | ClockJumped
    | AlarmRaised
    | AlarmCleared
    | LinkStateChanged
    | VolumeReconciled
    | ClockRebased
    | PumpOutcomeUnknown
    | SessionClosed,
    Field(discriminator="kind"),
]

AUDIT_EVENT_ADAPTER: Final[TypeAdapter[AuditEvent]] = TypeAdapter(AuditEvent)
"""Validates one event (a dict or JSON) into its model."""

INPUT_KINDS: Final = frozenset(
    {
        "session_opened",
        "checklist_answered",
        "preinfusion_recorded",
        "tick",
        "vitals_entered",
        "symptoms_entered",
        "nurse_decided",
        "lot_recorded",
        "pause_requested",
        "stop_requested",
        "pump_outcome",
        "pump_status",
        "pump_link",
        "audit_health",
        "session_resumed",
        "medication_given",
    }
)

AUDIT_KINDS: Final = frozenset(
    str(member.model_fields["kind"].default) for member in get_args(get_args(AuditEvent)[0])
)
"""Every kind in the event schema (inputs and outputs); other record kinds are not engine
events (the audit writer's own records, the app's `pump_wire` byte trace)."""


def event_json(event: AuditEvent) -> str:
    """The canonical JSON text of an event (what replay compares byte for byte).

    Keys are sorted at every level, as in the audit log, so a dict field (raw vitals, the
    inputs of an assessment) compares equal whatever order its keys were built in.
    """
    return json.dumps(
        event.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )


def parse_event(text: str | bytes) -> AuditEvent:
    """Validate one JSON event.

    Raises:
        pydantic.ValidationError: on an unknown kind or any invalid field.
    """
    return AUDIT_EVENT_ADAPTER.validate_json(text)
