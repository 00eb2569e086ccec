"""The debrief: each expected response, what the trainee did and when, overrides, and a score.

Pure: computed from a training log's records (`read_training_log`) and the scenario. Each
expectation opens a window at its anchor ("open", "start", or a scripted event's time as the
log records it) plus `from_min`, for `within_min`. The first matching action inside the window
is **on time**; after it, **late**; never, **missed**. An expectation is **unsafe** when, before
it was met, the trainee overrode a recommendation at least as cautious as the one expected, or
tried to override a severe reaction (a hard limit). Anchors that never happened (a step never
reached) make an expectation **not reached**, left out of the score.

Outside the expectations, the debrief lists every override with its reason, and unsafe acts:
an override of a recommendation to stop, an attempt at a hard limit, and any rate increase
(including a restart) while the patient's scripted reaction had not settled.

Score: on time earns the expectation's points, late half, missed and unsafe none; each unsafe
act costs 10 points; the score is the percentage of the points at stake (never below 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Final

from simulator.scenario import LotChangeEvent, Scenario
from titrator.domain.clock import MS_PER_MIN, minutes_to_ms
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

UNSAFE_PENALTY: Final = 10
_REACTION_RANK: Final = {a.value: a.rank for a in Action}
_STARTED: Final = "start at step 1"


class Status(StrEnum):
    """How an expectation was met."""

    ON_TIME = "on time"
    LATE = "late"
    MISSED = "missed"
    UNSAFE = "unsafe"
    NOT_REACHED = "not reached"


@dataclass(frozen=True)
class Act:
    """Something the trainee did, as the log shows it.

    Attributes:
        mono_ms: when.
        text: what, in words.
    """

    mono_ms: int
    text: str


@dataclass(frozen=True)
class ExpectationResult:
    """One expected response and what happened.

    Attributes:
        expectation_id: the scenario's id for it.
        what: the expected response in words.
        status: on time, late, missed, unsafe or not reached.
        anchor_ms: when its clock started (None when the anchor never happened).
        due_ms: the end of its window.
        done: the act that met it (None when missed).
        notes: why it is late, unsafe, ...
        points: points earned.
        max_points: points at stake (0 when not reached).
    """

    expectation_id: str
    what: str
    status: Status
    anchor_ms: int | None
    due_ms: int | None
    done: Act | None
    notes: tuple[str, ...]
    points: Decimal
    max_points: int


@dataclass(frozen=True)
class Finding:
    """An override or an unsafe act.

    Attributes:
        mono_ms: when.
        text: what happened, with the reason given.
        unsafe: whether it is unsafe (costs points).
    """

    mono_ms: int
    text: str
    unsafe: bool


@dataclass(frozen=True)
class Debrief:
    """The whole debrief of one training session."""

    scenario_id: str
    title: str
    teaches: str
    start_ms: int | None
    """When the infusion started (times are shown as minutes from here)."""
    results: tuple[ExpectationResult, ...]
    overrides: tuple[Finding, ...]
    unsafe: tuple[Finding, ...]
    points: Decimal
    max_points: int
    score_pct: int
    training_marked: bool
    """Every record carried a TRAINING- station id."""
    scripted: tuple[Act, ...] = field(default=())
    """What the scenario made happen, in order."""

    def minutes(self, mono_ms: int | None) -> str:
        """A time as minutes after the start ('-5 min' before it), or '-'."""
        if mono_ms is None:
            return "-"
        base = self.start_ms if self.start_ms is not None else 0
        value = (Decimal(mono_ms - base) / MS_PER_MIN).quantize(Decimal(1), ROUND_HALF_UP)
        return f"{value} min"

    @property
    def missed(self) -> list[ExpectationResult]:
        """Expectations not met well: missed, late or unsafe."""
        bad = (Status.MISSED, Status.LATE, Status.UNSAFE)
        return [r for r in self.results if r.status in bad]


@dataclass
class _Log:
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


def _anchor(log: _Log, name: str) -> int | None:
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


def _accepted(log: _Log, index: int, kind: PromptKind) -> PromptShown | None:
    item = log.items[index]
    event = item.event
    if not isinstance(event, NurseDecided) or event.choice is not Choice.ACCEPT:
        return None
    if item.seq in log.refused:
        return None
    shown = log.prompt_at(index, event)
    return shown if shown is not None and shown.prompt.kind is kind else None


def _match(
    log: _Log,
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
    if action in _REACTION_RANK:
        if isinstance(event, StopRequested) and _REACTION_RANK[action] >= Action.PAUSE.rank:
            return f"pressed STOP ({event.reason or 'no reason given'})"
        shown = _accepted(log, index, PromptKind.REACTION)
        if shown is None or shown.prompt.recommendation is None:
            return None
        rec = shown.prompt.recommendation
        if rec.action.rank < _REACTION_RANK[action] or not set(rule_ids) <= set(rec.rule_ids):
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


def _unsafe_before(log: _Log, action: str, start_ms: int, end_ms: int | None) -> list[str]:
    """Overrides of a recommendation as cautious as the one expected, and hard-limit attempts."""
    if action not in _REACTION_RANK:
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
                if rec.action.rank < _REACTION_RANK[action]:
                    continue
                reason = event.reason.value if event.reason else "no reason"
                notes.append(
                    f"overrode '{shown.prompt.title}' ({', '.join(rec.rule_ids)}), "
                    f"reason: {reason}{': ' + event.note if event.note else ''}"
                )
    return notes


def _evaluate(log: _Log, scenario: Scenario, index: int) -> ExpectationResult:
    expectation = scenario.expect[index]
    anchor = _anchor(log, expectation.after)
    if anchor is None:
        return ExpectationResult(
            expectation.id,
            expectation.what,
            Status.NOT_REACHED,
            None,
            None,
            None,
            (f"'{expectation.after}' never happened in this session",),
            Decimal(0),
            0,
        )
    opens = anchor + minutes_to_ms(expectation.from_min)
    due = opens + minutes_to_ms(expectation.within_min)
    extra: dict[str, object] = {"symptoms": expectation.symptoms, "step": expectation.step}
    extra["reason"] = expectation.reason
    if expectation.after not in ("open", "start"):
        event = scenario.event(expectation.after)
        if isinstance(event, LotChangeEvent):
            extra["lot"] = event.lot
    if expectation.action == "vitals_on_schedule":
        return _schedule(
            log, expectation.id, expectation.what, opens, due - opens, expectation.points
        )
    done: Act | None = None
    for i, item in enumerate(log.items):
        if item.mono_ms is None or item.mono_ms < opens:
            continue
        text = _match(log, i, expectation.action, scenario, expectation.rule_ids, extra)
        if text is not None:
            done = Act(item.mono_ms, text)
            break
    unsafe = _unsafe_before(log, expectation.action, anchor, done.mono_ms if done else None)
    points = expectation.points
    if unsafe:
        status, earned = Status.UNSAFE, Decimal(0)
    elif done is None:
        status, earned = Status.MISSED, Decimal(0)
    elif done.mono_ms <= due:
        status, earned = Status.ON_TIME, Decimal(points)
    else:
        status, earned = Status.LATE, Decimal(points) / 2
    notes = list(unsafe)
    if status is Status.LATE and done is not None:
        late = Decimal(done.mono_ms - due) / MS_PER_MIN
        notes.append(f"{late.quantize(Decimal(1), ROUND_HALF_UP)} min after the window closed")
    return ExpectationResult(
        expectation.id, expectation.what, status, anchor, due, done, tuple(notes), earned, points
    )


def _schedule(
    log: _Log, expectation_id: str, what: str, opens: int, within_ms: int, points: int
) -> ExpectationResult:
    """Every `vitals_due` after `opens` answered by a vitals set within `within_ms`."""
    start = _anchor(log, "start") or 0
    late: list[str] = []
    unanswered = 0
    answered = 0
    last_reply = opens
    for index, item in enumerate(log.items):
        event = item.event
        if event is None or event.kind != "vitals_due" or event.at.mono_ms < opens:
            continue
        reply = next(
            (
                later.event.at.mono_ms
                for later in log.items[index + 1 :]
                if later.event is not None
                and later.event.kind == "vitals_accepted"
                and later.seq not in log.refused
            ),
            None,
        )
        if reply is None:
            unanswered += 1
            continue
        answered += 1
        last_reply = reply
        delay = reply - event.at.mono_ms
        if delay > within_ms:
            minutes = (Decimal(delay) / MS_PER_MIN).quantize(Decimal(1), ROUND_HALF_UP)
            due_at = (Decimal(event.at.mono_ms - start) / MS_PER_MIN).quantize(Decimal(1))
            late.append(f"the set due at {due_at} min was taken {minutes} min later")
    notes = [f"{len(late)} of {answered + unanswered} sets late", *late[:3]] if late else []
    if unanswered:
        notes.insert(0, f"{unanswered} due set(s) never taken")
    if unanswered and not answered:
        status, earned = Status.MISSED, Decimal(0)
    elif unanswered or late:
        status, earned = Status.LATE, Decimal(points) / 2
    else:
        status, earned = Status.ON_TIME, Decimal(points)
    done = (
        Act(last_reply, f"took {answered} of {answered + unanswered} due sets")
        if answered
        else None
    )
    return ExpectationResult(
        expectation_id, what, status, opens, None, done, tuple(notes), earned, points
    )


def _reaction_spans(log: _Log) -> list[tuple[str, int, int | None]]:
    """(event id, onset, settled or None) for every scripted reaction."""
    spans: dict[str, list[int | None]] = {}
    for item in log.items:
        training = item.training
        if not isinstance(training, TrainingEventRecord):
            continue
        if training.happening == "onset" and training.event_id not in spans:
            spans[training.event_id] = [training.mono_ms, None]
        elif training.happening == "settled" and training.event_id in spans:
            spans[training.event_id][1] = training.mono_ms
    return [(key, int(span[0] or 0), span[1]) for key, span in spans.items()]


def _findings(log: _Log) -> tuple[list[Finding], list[Finding]]:
    overrides: list[Finding] = []
    unsafe: list[Finding] = []
    spans = _reaction_spans(log)
    for item in log.items:
        event = item.event
        if isinstance(event, OverrideRecorded):
            text = f"override of {event.prompt_kind} ({event.limit}), reason: {event.reason.value}"
            text += f": {event.note}" if event.note else ""
            overrides.append(Finding(event.at.mono_ms, text, False))
            action = event.limit.removeprefix("recommendation: ")
            if (
                event.prompt_kind == "reaction"
                and _REACTION_RANK.get(action, 0) >= Action.STOP.rank
            ):
                unsafe.append(
                    Finding(
                        event.at.mono_ms,
                        f"overrode a recommendation to {action.replace('_', ' ')}",
                        True,
                    )
                )
        elif isinstance(event, InputRefused) and event.hard_limit:
            unsafe.append(
                Finding(event.at.mono_ms, f"tried to override a hard limit: {event.reason}", True)
            )
        elif isinstance(event, RateChanged) and event.to_ml_per_h > event.from_ml_per_h:
            at = event.at.mono_ms
            for event_id, onset, settled in spans:
                if onset <= at and (settled is None or at < settled):
                    unsafe.append(
                        Finding(
                            at,
                            f"rate increased to {event.to_ml_per_h} mL/h ({event.cause}) "
                            f"while the '{event_id}' reaction had not settled",
                            True,
                        )
                    )
                    break
    return overrides, unsafe


def debrief(items: Sequence[LogItem], scenario: Scenario) -> Debrief:
    """Judge a training log against its scenario's expectations."""
    log = _Log(items)
    results = [_evaluate(log, scenario, i) for i in range(len(scenario.expect))]
    overrides, unsafe = _findings(log)
    earned = sum((r.points for r in results), Decimal(0))
    at_stake = sum(r.max_points for r in results)
    net = max(Decimal(0), earned - UNSAFE_PENALTY * len(unsafe))
    pct = int((net * 100 / at_stake).quantize(Decimal(1), ROUND_HALF_UP)) if at_stake else 0
    scripted = tuple(
        Act(
            item.training.mono_ms,
            f"{item.training.event_id}: {item.training.happening} — {item.training.text}",
        )
        for item in items
        if isinstance(item.training, TrainingEventRecord)
    )
    stations = [item.station_id for item in items]
    return Debrief(
        scenario_id=scenario.id,
        title=scenario.title,
        teaches=scenario.teaches,
        start_ms=_anchor(log, "start"),
        results=tuple(results),
        overrides=tuple(overrides),
        unsafe=tuple(unsafe),
        points=earned,
        max_points=at_stake,
        score_pct=pct,
        training_marked=bool(stations) and all(s.startswith("TRAINING-") for s in stations),
        scripted=scripted,
    )
