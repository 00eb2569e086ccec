"""What the session engine hands back: states, pump commands, prompts, alarms and the Decision.

The shell applies a `Decision` in order: write `events` to the audit log (fsync), then send
`commands` to the pump, then show `prompt` and `alarms`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from titrator.domain.assess import Recommendation
from titrator.domain.model import Frozen

if TYPE_CHECKING:
    from titrator.domain.events import AuditEvent


class SessionState(StrEnum):
    """The infusion lifecycle as the nurse sees it."""

    SETUP = "setup"
    PRE_CHECKS = "pre_checks"
    BASELINE = "baseline"
    RUNNING = "running"
    VITALS_DUE = "vitals_due"
    ASSESSMENT = "assessment"
    HOLDING = "holding"
    SLOWED = "slowed"
    PAUSED = "paused"
    STOPPED = "stopped"
    COMPLETE = "complete"
    OBSERVATION = "observation"
    CLOSED = "closed"
    ABORTED = "aborted"


class LinkState(StrEnum):
    """What the engine knows about the pump."""

    OK = "ok"
    UNCERTAIN = "uncertain"
    """The outcome of a command is unknown: only a status read (and stop) may be sent."""
    LOST = "lost"


class PumpCommandKind(StrEnum):
    """Absolute pump commands (never relative: 'set 42 mL/h', not '+10')."""

    START = "start"
    SET_RATE = "set_rate"
    PAUSE = "pause"
    STOP = "stop"
    READ_STATUS = "read_status"


class PumpCommand(Frozen):
    """One command for the pump. Its outcome comes back as a `pump_outcome` input."""

    command_id: int
    """Sequence number within the session; outcomes quote it."""
    kind: PumpCommandKind
    rate_ml_per_h: Decimal | None = None
    """The setpoint, for start and set_rate."""


class PromptKind(StrEnum):
    """What the nurse is being asked or told."""

    CHECKLIST = "checklist"
    BASELINE_VITALS = "baseline_vitals"
    START = "start"
    INFO = "info"
    VITALS_DUE = "vitals_due"
    STEP_UP = "step_up"
    REACTION = "reaction"
    RESUME = "resume"
    HOLDING = "holding"
    LOT_CHANGE = "lot_change"
    STOPPED = "stopped"
    CLOSE = "close"


class OverrideReason(StrEnum):
    """The fixed list of reasons for overriding a recommendation or a soft limit."""

    PRESCRIBER_ORDER = "prescriber_order"
    SYMPTOMS_RESOLVED = "symptoms_resolved"
    CLINICAL_JUDGEMENT = "clinical_judgement"
    VITALS_CHECKED = "vitals_checked"
    PATIENT_REQUEST = "patient_request"
    EQUIPMENT = "equipment"
    OTHER = "other"
    """Needs free text."""


class Choice(StrEnum):
    """The nurse's answer to a prompt."""

    ACCEPT = "accept"
    OVERRIDE = "override"


class Prompt(Frozen):
    """The one thing on screen awaiting (or informing) the nurse; recorded verbatim."""

    prompt_id: int
    """Sequence number; a decision may quote it to make sure it answers this prompt."""
    kind: PromptKind
    title: str
    text: str
    """Exactly what the nurse is shown."""
    recommendation: Recommendation | None = None
    proposed_rate_ml_per_h: Decimal | None = None
    accept: bool
    """Whether 'accept' does something here."""
    override: bool
    """Whether 'override with a reason' does something here."""


class AlarmCode(StrEnum):
    """Conditions the nurse must know about until they clear."""

    AUDIT_FAILING = "audit_failing"
    PUMP_UNCERTAIN = "pump_uncertain"
    PUMP_LINK_LOST = "pump_link_lost"
    PUMP_RATE_MISMATCH = "pump_rate_mismatch"
    VOLUME_DISCREPANCY = "volume_discrepancy"


@dataclass(frozen=True)
class DueTimes:
    """Upcoming deadlines on the monotonic clock (ms), for countdowns; None when not pending.

    Attributes:
        vitals_ms: next scheduled vitals set.
        step_up_ms: earliest moment the next step may be offered (end of the dwell).
        pause_end_ms: end of the current pause.
        volume_complete_ms: when the dose volume will be given at the current rate.
        observation_end_ms: end of post-infusion observation.
    """

    vitals_ms: int | None = None
    step_up_ms: int | None = None
    pause_end_ms: int | None = None
    volume_complete_ms: int | None = None
    observation_end_ms: int | None = None


@dataclass(frozen=True)
class Decision:
    """Everything that follows from one input.

    Attributes:
        events: audit events, the input first; write them before anything else.
        commands: pump commands to send, in order, after the events are durable.
        prompt: what to show now (the same prompt is repeated until it changes).
        alarms: alarms active after this input.
        state: the lifecycle state after this input.
        step: 1-based plan step, or None before the start.
        rate_ml_per_h: the rate the pump should run at now (0 when paused or stopped).
        volume_ml: volume given so far (engine's integration or accepted pump reading).
        recommendation: the recommendation made by this input, if any.
        refusal: why the input was refused, if it was (nothing else changed).
        due: upcoming deadlines.
    """

    events: tuple[AuditEvent, ...]
    commands: tuple[PumpCommand, ...]
    prompt: Prompt | None
    alarms: tuple[AlarmCode, ...]
    state: SessionState
    step: int | None
    rate_ml_per_h: Decimal
    volume_ml: Decimal
    recommendation: Recommendation | None = None
    refusal: str | None = None
    due: DueTimes = DueTimes()
