"""The nurse's words for the engine's names: no `VITALS_DUE` or `pump_link_lost` on screen.

The audit log keeps the engine's names (they are its schema); the screen says the same thing in
words. Every value of each enum has its words (a test checks it), so a new state cannot reach the
screen as an internal name.
"""

from __future__ import annotations

from typing import Final

from titrator.domain.decisions import AlarmCode, SessionState
from titrator.domain.policy import Action

STATE_WORDS: Final[dict[SessionState, str]] = {
    SessionState.SETUP: "setting up",
    SessionState.PRE_CHECKS: "pre-infusion checks",
    SessionState.BASELINE: "baseline",
    SessionState.RUNNING: "running",
    SessionState.VITALS_DUE: "vital signs due",
    SessionState.ASSESSMENT: "assessing a reaction",
    SessionState.HOLDING: "holding the rate",
    SessionState.SLOWED: "slowed",
    SessionState.PAUSED: "paused",
    SessionState.STOPPED: "stopped",
    SessionState.COMPLETE: "dose complete",
    SessionState.OBSERVATION: "observation",
    SessionState.CLOSED: "closed",
    SessionState.ABORTED: "aborted",
}
"""What the session is doing, as the step line and the recent events say it."""

ALARM_WORDS: Final[dict[AlarmCode, str]] = {
    AlarmCode.AUDIT_FAILING: "the audit log cannot be written",
    AlarmCode.PUMP_UNCERTAIN: "pump state uncertain",
    AlarmCode.PUMP_LINK_LOST: "pump link lost",
    AlarmCode.PUMP_RATE_MISMATCH: "pump rate differs from the plan",
    AlarmCode.VOLUME_DISCREPANCY: "volume differs from the pump",
}
"""An alarm in a few words (the alarm panel says what to do)."""

ACTION_WORDS: Final[dict[Action, str]] = {
    Action.CONTINUE: "CONTINUE",
    Action.HOLD: "HOLD",
    Action.SLOW: "SLOW",
    Action.PAUSE: "PAUSE",
    Action.STOP: "STOP",
    Action.EMERGENCY_STOP: "EMERGENCY STOP",
}
"""A recommendation's action, in capitals as the NEXT panel shows it."""


def state_words(state: str) -> str:
    """The words for a session state given by its name ('vitals_due' -> 'vital signs due')."""
    try:
        return STATE_WORDS[SessionState(state)]
    except ValueError:
        return state.replace("_", " ")


def alarm_words(code: str) -> str:
    """The words for an alarm given by its code ('pump_link_lost' -> 'pump link lost')."""
    try:
        return ALARM_WORDS[AlarmCode(code)]
    except ValueError:
        return code.replace("_", " ")
