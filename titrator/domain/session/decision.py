"""The `Decision`: everything that follows from one input to the session engine.

The shell applies a `Decision` in order: write `events` to the audit log (fsync), then send
`commands` to the pump, then show `prompt` and `alarms`. The vocabulary it is made of (states,
pump commands, prompts, alarms) is in `titrator.domain.decisions`, which the audit events also
use; the `Decision` carries those events, so it lives here, above both.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from titrator.domain.assess import Recommendation
from titrator.domain.decisions import AlarmCode, Prompt, PumpCommand, SessionState
from titrator.domain.events import AuditEvent


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
