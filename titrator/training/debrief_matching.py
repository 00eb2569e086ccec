"""Reading a training log for the debrief: which record meets an expected action, and when.

`TrainingLog` indexes the records (prompts by id, inputs the engine refused); `anchor_ms` finds
when an expectation's clock starts; `match_action` says whether a record meets an expected
action, in words; `unsafe_before` lists overrides of a recommendation at least as cautious as
the one expected, and hard-limit attempts; `not_slower` says why an infusion did not go on at
the slower rate after a reaction. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from simulator.scenario import Scenario
from titrator.domain.decisions import Choice, PromptKind
from titrator.domain.events import (
    InputRefused,
    LotRecorded,
    NurseDecided,
    OverrideRecorded,
    PromptShown,
    RateChanged,
    StateChanged,
    StopRequested,
    SymptomsEntered,
)
from titrator.domain.policy import Action
from titrator.training.records import LogItem, TrainingEventRecord

REACTION_RANK: Final = {a.value: a.rank for a in Action}
"""Each reaction action's rank (how cautious it is), by its id."""
_STARTED: Final = "start at step 1"


@dataclass
class TrainingLog:
    """The log indexed for matching."""

    items: Sequence[LogItem]
    prompts: dict[int, PromptShown] = field(default_factory=dict)
    refused: set[int] = field(default_factory=set)
    """Sequence numbers of inputs the engine refused."""

    def __post_init__(self) -> None:
        for index, item in enumerate(self.items):
            if isinstance(item.event, PromptShown):
                self.prompts[item.event.prompt.prompt_id] = item.event
            if isinstance(item.event, InputRefused) and index > 0:
                for back in range(index - 1, -1, -1):
                    prev = self.items[back].event
                    if prev is not None and prev.kind == item.event.input_kind:
                        self.refused.add(self.items[back].seq)
                        break

    def prompt_at(self, index: int, decided: NurseDecided) -> PromptShown | None:
        """The prompt a decision answered (quoted, or the last shown before it)."""
        if decided.prompt_id is not None:
            return self.prompts.get(decided.prompt_id)
        for back in range(index - 1, -1, -1):
            event = self.items[back].event
            if isinstance(event, PromptShown):
                return event
        return None


def anchor_ms(log: TrainingLog, name: str) -> int | None:
    """When anchor `name` happened ("open", "start" or a scripted event id), or None."""
    for item in log.items:
        event = item.event
        if name == "open" and event is not None and event.kind == "session_opened":
            return event.at.mono_ms
        if name == "start" and isinstance(event, RateChanged) and event.cause == _STARTED:
            return event.at.mono_ms
        training = item.training
        if (
            isinstance(training, TrainingEventRecord)
            and training.event_id == name
            and training.happening in ("onset", "pump_fault", "lot_change")
        ):
            return training.mono_ms
    return None


def _accepted(log: TrainingLog, index: int, kind: PromptKind) -> PromptShown | None:
    item = log.items[index]
    event = item.event
    if not isinstance(event, NurseDecided) or event.choice is not Choice.ACCEPT:
        return None
    if item.seq in log.refused:
        return None
    shown = log.prompt_at(index, event)
    return shown if shown is not None and shown.prompt.kind is kind else None


def match_action(
    log: TrainingLog,
    index: int,
    action: str,
    scenario: Scenario,
    rule_ids: tuple[str, ...],
    extra: dict[str, object],
) -> str | None:
    """If record `index` meets an expected action, what the trainee did (in words)."""
    item = log.items[index]
    event = item.event
    if event is None or item.seq in log.refused:
        return None
    if action == "record_vitals" and event.kind == "vitals_accepted":
        return "recorded a full set of vital signs"
    if action == "record_symptoms" and isinstance(event, SymptomsEntered):
        wanted = set(extra.get("symptoms", ()))  # type: ignore[call-overload]
        if wanted <= set(event.symptoms):
            return "recorded the symptoms: " + (", ".join(event.symptoms) or "none")
        return None
    if action in REACTION_RANK:
        if isinstance(event, StopRequested) and REACTION_RANK[action] >= Action.PAUSE.rank:
            return f"pressed STOP ({event.reason or 'no reason given'})"
        shown = _accepted(log, index, PromptKind.REACTION)
        if shown is None or shown.prompt.recommendation is None:
            return None
        rec = shown.prompt.recommendation
        if rec.action.rank < REACTION_RANK[action] or not set(rule_ids) <= set(rec.rule_ids):
            return None
        return f"accepted '{shown.prompt.title}' ({', '.join(rec.rule_ids)})"
    if action == "resume" and _accepted(log, index, PromptKind.RESUME) is not None:
        return "resumed at the lower rate"
    if action == "accept_lot_restart" and _accepted(log, index, PromptKind.LOT_CHANGE):
        return "restarted the ramp for the new lot"
    if action == "record_lot" and isinstance(event, LotRecorded):
        lot = extra.get("lot")
        if lot is None or event.lot.strip() == lot:
            return f"recorded lot {event.lot}"
        return None
    if action == "restart" and isinstance(event, OverrideRecorded):
        reason = extra.get("reason")
        if event.limit == "restart after stop" and reason in (None, event.reason.value):
            return f"restarted after the stop (reason: {event.reason.value})"
        return None
    if action == "reach_step" and isinstance(event, RateChanged):
        step = extra.get("step")
        rising = event.to_ml_per_h > event.from_ml_per_h
        if isinstance(step, int) and event.step is not None and event.step >= step and rising:
            return f"reached step {event.step}"
        return None
    if (
        action == "complete"
        and isinstance(event, StateChanged)
        and event.to_state.value == "complete"
    ):
        return "gave the full dose"
    return None


def unsafe_before(log: TrainingLog, action: str, start_ms: int, end_ms: int | None) -> list[str]:
    """Overrides of a recommendation as cautious as the one expected, and hard-limit attempts."""
    if action not in REACTION_RANK:
        return []
    notes = []
    for index, item in enumerate(log.items):
        event = item.event
        if event is None or event.at.mono_ms < start_ms:
            continue
        if end_ms is not None and event.at.mono_ms > end_ms:
            break
        if isinstance(event, InputRefused) and event.hard_limit:
            notes.append(f"tried to override a hard limit: {event.reason}")
        if isinstance(event, NurseDecided) and event.choice is Choice.OVERRIDE:
            if item.seq in log.refused:
                continue
            shown = log.prompt_at(index, event)
            rec = shown.prompt.recommendation if shown is not None else None
            reaction = shown is not None and shown.prompt.kind is PromptKind.REACTION
            if shown is not None and reaction and rec is not None:
                if rec.action.rank < REACTION_RANK[action]:
                    continue
                reason = event.reason.value if event.reason else "no reason"
                notes.append(
                    f"overrode '{shown.prompt.title}' ({', '.join(rec.rule_ids)}), "
                    f"reason: {reason}{': ' + event.note if event.note else ''}"
                )
    return notes


RATE_ACTIONS: Final = frozenset(
    {"complete", "reach_step", "resume", "restart", "accept_lot_restart"}
)
"""Expected responses that change the rate: an unsafe act on the way to one breaks its rule."""


def _onset_index(log: TrainingLog, event_id: str) -> int | None:
    """Where reaction `event_id`'s onset is recorded (the log's order, not its clock)."""
    for index, item in enumerate(log.items):
        training = item.training
        if (
            isinstance(training, TrainingEventRecord)
            and training.event_id == event_id
            and training.happening == "onset"
        ):
            return index
    return None


def not_slower(log: TrainingLog, event_id: str, end_ms: int | None) -> list[str]:
    """Why the infusion did not go on below the rate reaction `event_id` began at ([] if it did).

    From the reaction's onset to `end_ms` (the end of the log when None), every rate set must
    be below the rate running at the onset, and the rate must have been lowered at least once.
    A reaction that never began asks nothing. The onset is placed by its position in the log:
    the trainee's answer can fall on the same millisecond.
    """
    onset = _onset_index(log, event_id)
    if onset is None:
        return []
    before = [i.event for i in log.items[:onset] if isinstance(i.event, RateChanged)]
    if not before or before[-1].to_ml_per_h <= 0:
        return []
    at_onset = before[-1].to_ml_per_h
    lowered = False
    notes: list[str] = []
    for item in log.items[onset:]:
        event = item.event
        if not isinstance(event, RateChanged):
            continue
        if end_ms is not None and event.at.mono_ms > end_ms:
            break
        if event.to_ml_per_h >= at_onset:
            notes.append(
                f"the rate went back up to {event.to_ml_per_h} mL/h after the '{event_id}' "
                f"reaction, which began at {at_onset} mL/h"
            )
        else:
            lowered = True
    if not lowered and not notes:
        notes.append(f"the rate was never lowered below {at_onset} mL/h after '{event_id}' began")
    return notes
