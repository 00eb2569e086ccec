"""The session engine's vocabulary: states, link states, pump commands, prompts, choices, alarms.

The audit events and the `Decision` (`titrator.domain.session.decision`) are both made of these.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from titrator.domain.assess import Recommendation
from titrator.domain.model import Frozen


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
