"""The debrief: each expected response, what the trainee did and when, overrides, and a score.

Pure: computed from a training log's records (`read_training_log`) and the scenario. Each
expectation opens a window at its anchor ("open", "start", or a scripted event's time as the
log records it) plus `from_min`, for `within_min`. The first matching action inside the window
is **on time**; after it, **late**; never, **missed**. An expectation is **unsafe** when, before
it was met, the trainee overrode a recommendation at least as cautious as the one expected, or
tried to override a severe reaction (a hard limit); one that changes the rate (complete,
reach_step, resume, restart, accept_lot_restart) is also unsafe when an unsafe act (below) came
between its anchor and the act that met it. An expectation with `slower_than` is **missed**,
whatever was done, when the rate went back up to the rate the reaction began at, or was never
lowered: a response is never on time when the trainee broke the rule it scores. Anchors that
never happened (a step never reached) make an expectation **not reached**, left out of the
score.

Outside the expectations, the debrief lists every override with its reason, and unsafe acts:
an override of a recommendation to stop, an attempt at a hard limit, and any rate increase
(including a restart) while the patient's scripted reaction had not settled.

Score: on time earns the expectation's points, late half, missed and unsafe none; each unsafe
act costs 10 points; the score is the percentage of the points at stake (never below 0).

The result types live in `debrief_model` and the reading of the log in `debrief_matching`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from simulator.scenario import LotChangeEvent, Scenario
from titrator.domain.clock import MS_PER_MIN, minutes_to_ms
from titrator.domain.events import InputRefused, OverrideRecorded, RateChanged
from titrator.domain.policy import Action
from titrator.training.debrief_matching import (
    RATE_ACTIONS,
    REACTION_RANK,
    TrainingLog,
    anchor_ms,
    match_action,
    not_slower,
    unsafe_before,
)
from titrator.training.debrief_model import Act, Debrief, ExpectationResult, Finding, Status
from titrator.training.records import LogItem, TrainingEventRecord

__all__ = [
    "UNSAFE_PENALTY",
    "Act",
    "Debrief",
    "ExpectationResult",
    "Finding",
    "Status",
    "debrief",
]

UNSAFE_PENALTY: Final = 10


def _evaluate(
    log: TrainingLog, scenario: Scenario, index: int, unsafe_acts: Sequence[Finding]
) -> ExpectationResult:
    expectation = scenario.expect[index]
    anchor = anchor_ms(log, expectation.after)
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
        text = match_action(log, i, expectation.action, scenario, expectation.rule_ids, extra)
        if text is not None:
            done = Act(item.mono_ms, text)
            break
    end = done.mono_ms if done else None
    unsafe = unsafe_before(log, expectation.action, anchor, end)
    if expectation.action in RATE_ACTIONS:
        unsafe += [
            act.text
            for act in unsafe_acts
            if act.mono_ms >= anchor and (end is None or act.mono_ms <= end)
        ]
    slower = expectation.slower_than
    broken = not_slower(log, slower, end) if slower is not None else []
    points = expectation.points
    if unsafe:
        status, earned = Status.UNSAFE, Decimal(0)
    elif done is None or broken:
        status, earned = Status.MISSED, Decimal(0)
    elif done.mono_ms <= due:
        status, earned = Status.ON_TIME, Decimal(points)
    else:
        status, earned = Status.LATE, Decimal(points) / 2
    notes = [*unsafe, *broken]
    if status is Status.LATE and done is not None:
        late = Decimal(done.mono_ms - due) / MS_PER_MIN
        notes.append(f"{late.quantize(Decimal(1), ROUND_HALF_UP)} min after the window closed")
    return ExpectationResult(
        expectation.id, expectation.what, status, anchor, due, done, tuple(notes), earned, points
    )


def _schedule(
    log: TrainingLog, expectation_id: str, what: str, opens: int, within_ms: int, points: int
) -> ExpectationResult:
    """Every `vitals_due` after `opens` answered by a vitals set within `within_ms`."""
    start = anchor_ms(log, "start") or 0
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


def _reaction_spans(log: TrainingLog) -> list[tuple[str, int, int | None]]:
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


def _findings(log: TrainingLog) -> tuple[list[Finding], list[Finding]]:
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
            if event.prompt_kind == "reaction" and REACTION_RANK.get(action, 0) >= Action.STOP.rank:
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
    log = TrainingLog(items)
    overrides, unsafe = _findings(log)
    results = [_evaluate(log, scenario, i, unsafe) for i in range(len(scenario.expect))]
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
        start_ms=anchor_ms(log, "start"),
        results=tuple(results),
        overrides=tuple(overrides),
        unsafe=tuple(unsafe),
        points=earned,
        max_points=at_stake,
        score_pct=pct,
        training_marked=bool(stations) and all(s.startswith("TRAINING-") for s in stations),
        scripted=scripted,
    )
