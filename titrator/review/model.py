"""A session log turned into what a reviewer reads: `SessionReview`.

Pure except for `load_review`, which reads the file through `titrator.audit.read_for_review`
(never fails on a damaged log). `build_review` walks the readable records once and derives the
timeline, the rate segments, the vital-signs series, the reaction episodes, the overrides, the
pump commands with their outcomes, the infusion's outcome, the time to the final rate and the
chair time. Times are the events' own UTC wall times (`at.wall_utc`), falling back to the
record's `ts` for the writer's own records. No textual import here: the app and the exports are
built on this.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar, overload

from pydantic import BaseModel

from titrator.audit.reader import LineProblem, LogLines, ReviewRead, _ReviewSink
from titrator.audit.record import AuditRecord
from titrator.audit.verify import Outcome, VerifyResult, walk_log
from titrator.domain import events as ev
from titrator.domain.decisions import SessionState
from titrator.domain.events import AuditEvent
from titrator.domain.vitals import VitalField
from titrator.review.episodes import (
    Override,
    PumpCommandRecord,
    RateSegment,
    Reaction,
    RefusedOverride,
    VitalsPoint,
    Walker,
)
from titrator.review.integrity import Integrity, IntegrityStatus
from titrator.review.marks import training_marks
from titrator.review.timeline import (
    TimelineEntry,
    category,
    summarise_event,
    summarise_raw,
    validate_event,
)

EventT = TypeVar("EventT", bound=BaseModel)
OtherT = TypeVar("OtherT", bound=BaseModel)

__all__ = [
    "InfusionOutcome",
    "Override",
    "PumpCommandRecord",
    "RateSegment",
    "Reaction",
    "RefusedOverride",
    "SessionHeader",
    "SessionReview",
    "TimelineEntry",
    "VitalsPoint",
    "build_review",
    "load_review",
]


class InfusionOutcome(StrEnum):
    """How the infusion ended, as the session list shows it."""

    COMPLETED = "completed"
    """The dose volume was given (whatever happened on the way)."""
    STOPPED_FOR_REACTION = "stopped for reaction"
    """Stopped while a reaction was open, or by a reaction rule."""
    ABORTED = "aborted"
    """Stopped or closed before the dose was given, not for a reaction."""
    UNFINISHED = "unfinished"
    """The log has no closing record."""


@dataclass(frozen=True)
class SessionHeader:
    """Who, what and why, from `session_opened` (fields are `None` when it is unreadable).

    Attributes:
        patient_id: first patient identifier.
        patient_id_2: second patient identifier.
        nurse_id: the nurse named in the setup (else the first record's user).
        product_id: product id in the library.
        product_name: product name as the nurse saw it.
        indication_id: indication id in the product file.
        indication_name: indication as the nurse saw it.
        lot: lot number given at setup.
        weight_kg: actual body weight.
        dose_g_per_kg: prescribed dose.
        total_dose_g: dose in grams.
        total_volume_ml: planned volume.
        max_rate_ml_per_h: highest rate the plan allows.
        final_rate_ml_per_h: rate of the plan's last step.
        steps: number of plan steps.
        first_infusion: first-infusion plan.
        order_id: the order number typed at setup, if any.
        off_label: 'off-label: site protocol (SOURCE)' when the indication is a site's
            off-label protocol (a site indication file), else None.
    """

    patient_id: str | None = None
    patient_id_2: str | None = None
    nurse_id: str | None = None
    product_id: str | None = None
    product_name: str | None = None
    indication_id: str | None = None
    indication_name: str | None = None
    lot: str | None = None
    weight_kg: Decimal | None = None
    dose_g_per_kg: Decimal | None = None
    total_dose_g: Decimal | None = None
    total_volume_ml: Decimal | None = None
    max_rate_ml_per_h: Decimal | None = None
    final_rate_ml_per_h: Decimal | None = None
    steps: int = 0
    first_infusion: bool = False
    order_id: str | None = None
    off_label: str | None = None

    @property
    def product_label(self) -> str:
        """`Product — indication`, or what is known (with '(off-label: site protocol)')."""
        product = self.product_name or self.product_id or "unknown product"
        indication = self.indication_name or self.indication_id or "unknown indication"
        tail = " (off-label: site protocol)" if self.off_label else ""
        return f"{product} — {indication}{tail}"


@dataclass(frozen=True)
class SessionReview:
    """Everything a reviewer sees about one log.

    Attributes:
        path: the log file.
        session_id: the session (from the records, else the file name).
        station_id: the workstation.
        header: who, what and why.
        integrity: verification status and the exact problem, if any.
        timeline: every readable record, in file order.
        rate_segments: the rate the pump should run at, piece by piece.
        vitals: every accepted vitals set.
        reactions: reaction episodes (opened, updated, cleared).
        overrides: every recorded override.
        pump_commands: every pump command with its outcome.
        lots: every lot recorded (setup lot first), with when.
        opened_at: `session_opened` time.
        infusion_started_at: first time the rate went above zero.
        closed_at: `session_closed` time.
        outcome: how the infusion ended.
        outcome_detail: why, in words.
        volume_ml: volume given, from the closing record.
        time_to_final_rate: from the start to first reaching the plan's last-step rate.
        chair_time: from `session_opened` to `session_closed`.
        training_marks: why this log is a training session (demo, train), in words; empty for
            a real patient's log (see `titrator.review.marks`).
        refused_overrides: override attempts the engine refused (not overrides: nothing was
            overridden, but the nurse's choice is in the log).
    """

    path: Path
    session_id: str
    station_id: str
    header: SessionHeader
    integrity: Integrity
    timeline: tuple[TimelineEntry, ...]
    rate_segments: tuple[RateSegment, ...]
    vitals: tuple[VitalsPoint, ...]
    reactions: tuple[Reaction, ...]
    overrides: tuple[Override, ...]
    pump_commands: tuple[PumpCommandRecord, ...]
    lots: tuple[tuple[datetime | None, str], ...]
    opened_at: datetime | None
    infusion_started_at: datetime | None
    closed_at: datetime | None
    outcome: InfusionOutcome
    outcome_detail: str
    volume_ml: Decimal | None
    time_to_final_rate: timedelta | None
    chair_time: timedelta | None
    training_marks: tuple[str, ...] = ()
    refused_overrides: tuple[RefusedOverride, ...] = ()

    @property
    def training(self) -> bool:
        """True for a demo or training log: no real patient."""
        return bool(self.training_marks)

    @property
    def started_at(self) -> datetime | None:
        """The session's date for lists: opened, else the first record."""
        if self.opened_at is not None:
            return self.opened_at
        return self.timeline[0].at if self.timeline else None

    @property
    def end_at(self) -> datetime | None:
        """Closing time, else the last readable record's time."""
        if self.closed_at is not None:
            return self.closed_at
        return self.timeline[-1].at if self.timeline else None

    @overload
    def events(self, kind: type[EventT], /) -> Iterator[tuple[TimelineEntry, EventT]]: ...

    @overload
    def events(
        self, kind: type[EventT], other: type[OtherT], /
    ) -> Iterator[tuple[TimelineEntry, EventT | OtherT]]: ...

    def events(self, *types: type[BaseModel]) -> Iterator[tuple[TimelineEntry, Any]]:
        """The timeline's events of these types, each with its entry, in log order.

        Only entries of the types' kinds are read again from the log (`TimelineEntry.event`),
        each once; entries whose payload does not fit the schema are left out.

        Raises:
            LogChangedError: the log changed since it was read (an `OSError`).
        """
        kinds = {str(t.model_fields["kind"].default) for t in types}
        for entry in self.timeline:
            if entry.kind in kinds:
                event = entry.event
                if isinstance(event, types):
                    yield entry, event

    def vital_series(self, field: VitalField) -> list[tuple[datetime, Decimal]]:
        """One vital sign over time."""
        return [(p.at, p.values[field]) for p in self.vitals if field in p.values]


def _when(record: AuditRecord, event: AuditEvent | None) -> datetime:
    if event is not None:
        return event.at.wall_utc
    at = record.payload.get("at")
    if isinstance(at, dict) and isinstance(at.get("wall_utc"), str):
        try:
            return datetime.fromisoformat(at["wall_utc"])
        except ValueError:
            pass
    return record.timestamp


def _header(opened: ev.SessionOpened | None, first_nurse: str | None) -> SessionHeader:
    if opened is None:
        return SessionHeader(nurse_id=first_nurse)
    plan, setup = opened.plan, opened.setup
    return SessionHeader(
        patient_id=setup.patient_id_1 if setup else None,
        patient_id_2=setup.patient_id_2 if setup else None,
        nurse_id=setup.nurse_id if setup else first_nurse,
        product_id=plan.product_id,
        product_name=plan.product_name,
        indication_id=plan.indication_id,
        indication_name=plan.indication_name,
        lot=setup.lot if setup else None,
        weight_kg=plan.request.weight_kg,
        dose_g_per_kg=plan.dose_per_kg,
        total_dose_g=plan.total_dose_g,
        total_volume_ml=plan.total_volume_ml,
        max_rate_ml_per_h=plan.max_rate_ml_per_h,
        final_rate_ml_per_h=plan.steps[-1].rate_ml_per_h if plan.steps else None,
        steps=len(plan.steps),
        first_infusion=plan.request.first_infusion,
        order_id=setup.order_id if setup else None,
        off_label=plan.off_label.marker if plan.off_label else None,
    )


def _outcome(walker: Walker, closed: bool, writer_close: str | None) -> tuple[InfusionOutcome, str]:
    states = walker.states
    if not closed:
        last = states[-1].value if states else "not started"
        return InfusionOutcome.UNFINISHED, f"no closing record; last state: {last}"
    if SessionState.COMPLETE in states:
        given = "dose volume given"
        if walker.reactions:
            given += f" after {len(walker.reactions)} reaction(s)"
        return InfusionOutcome.COMPLETED, given
    if walker.stopped_in_reaction is not None:
        return InfusionOutcome.STOPPED_FOR_REACTION, walker.stopped_in_reaction
    if writer_close is not None:
        return InfusionOutcome.ABORTED, f"log closed by the audit writer: {writer_close}"
    if walker.stop_reason is not None:
        return InfusionOutcome.ABORTED, f"stopped by the nurse: {walker.stop_reason}"
    if SessionState.ABORTED in states or SessionState.STOPPED in states:
        return InfusionOutcome.ABORTED, "stopped before the dose was given"
    return InfusionOutcome.ABORTED, "closed before the dose was given"


class _Builder:
    """A review built record by record, in file order.

    Nothing is kept of a record but its timeline entry and what the walker derives from it
    (issue 17).
    """

    def __init__(self, path: Path, lines: LogLines) -> None:
        self.path = path
        self.lines = lines
        self.walker = Walker()
        self.timeline: list[TimelineEntry] = []
        self.opened: ev.SessionOpened | None = None
        self.closed_at: datetime | None = None
        self.writer_close: str | None = None
        self.volume: Decimal | None = None
        self.first: AuditRecord | None = None
        self.marks: list[str] = []
        self.names: dict[str, str] = {}
        """One copy of each kind, nurse and station string, however many records repeat it."""

    def _name(self, text: str) -> str:
        return self.names.setdefault(text, text)

    def add(self, line: int, record: AuditRecord) -> None:
        """The next readable record, at 1-based `line`."""
        if self.first is None:
            self.first = record
        kind = self._name(record.kind)
        event, problem = validate_event(record)
        at = _when(record, event)
        summary = (
            summarise_event(event) if event is not None else summarise_raw(kind, record.payload)
        )
        if problem is not None:
            summary = f"{kind} ({problem})"
        self.timeline.append(
            TimelineEntry(
                line=line,
                seq=record.seq,
                at=at,
                kind=kind,
                category=category(kind),
                summary=summary,
                nurse_id=self._name(record.nurse_id),
                station_id=self._name(record.station_id),
                vouched=True,  # until `finish` knows the first bad line
                lines=self.lines,
                wire_summary=summarise_raw(kind, record.payload, wire_hex=True)
                if kind == "pump_wire"
                else None,
            )
        )
        if isinstance(event, ev.SessionOpened) and self.opened is None:
            self.opened = event
        if kind == "session_closed":
            self.closed_at = at
            if isinstance(event, ev.SessionClosed):
                self.volume = event.volume_ml
            elif record.from_writer:
                self.writer_close = str(record.payload.get("reason", ""))
        for mark in training_marks([(kind, record.station_id, record.payload)]):
            if mark not in self.marks:
                self.marks.append(mark)
        self.walker.feed(event, at, record.nurse_id, record.seq)

    def _vouched(self, integrity: Integrity) -> tuple[TimelineEntry, ...]:
        """The timeline with each entry's `vouched` as the whole log's integrity says.

        The entries from the first bad line on (lines only grow, so they are the tail) are not.
        """
        timeline = self.timeline
        for i in range(len(timeline) - 1, -1, -1):
            if integrity.vouched(timeline[i].line):
                break
            timeline[i] = replace(timeline[i], vouched=False)
        return tuple(timeline)

    def finish(self, verification: VerifyResult, problems: list[LineProblem]) -> SessionReview:
        """The review, once every line has been read."""
        last_line = self.timeline[-1].line if self.timeline else 0
        lines = max([last_line] + [p.line for p in problems])
        integrity = Integrity.of(verification, tuple(problems), lines)
        timeline = self._vouched(integrity)
        self.timeline = []
        walker = self.walker
        walker.finish(self.closed_at)
        first = self.first
        header = _header(self.opened, first.nurse_id if first is not None else None)
        outcome, detail = _outcome(walker, self.closed_at is not None, self.writer_close)
        opened_at = self.opened.at.wall_utc if self.opened is not None else None
        closed_at = self.closed_at
        started = walker.infusion_started_at
        final = header.final_rate_ml_per_h
        reached = walker.first_at_rate(final) if final is not None else None
        lots: list[tuple[datetime | None, str]] = []
        if header.lot:
            lots.append((opened_at, header.lot))
        lots.extend(walker.lots)
        path = self.path
        return SessionReview(
            path=path,
            session_id=verification.session_id or (first.session_id if first else path.stem),
            station_id=first.station_id if first else "",
            header=header,
            integrity=integrity,
            timeline=timeline,
            rate_segments=tuple(walker.segments),
            vitals=tuple(walker.vitals),
            reactions=tuple(walker.reactions),
            overrides=tuple(walker.overrides),
            pump_commands=tuple(walker.commands.values()),
            lots=tuple(lots),
            opened_at=opened_at,
            infusion_started_at=started,
            closed_at=closed_at,
            outcome=outcome,
            outcome_detail=detail,
            volume_ml=self.volume,
            time_to_final_rate=reached - started if reached and started else None,
            chair_time=closed_at - opened_at if closed_at and opened_at else None,
            training_marks=tuple(self.marks),
            refused_overrides=tuple(walker.refused_overrides),
        )


class _BuildingSink(_ReviewSink):
    """Hands each line to a `_Builder` as `walk_log` reads it; keeps no record."""

    def __init__(self, builder: _Builder) -> None:
        super().__init__(builder.lines)
        self.builder = builder

    def intact(self, line: int, record: AuditRecord, raw: bytes) -> None:
        super().intact(line, record, raw)  # adds the line
        self.builder.add(*self.records.pop())

    def unchecked(self, line: int, raw: bytes) -> None:
        super().unchecked(line, raw)  # adds the line; parses it or names the problem
        if self.records:
            self.builder.add(*self.records.pop())


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic collection while a review is built.

    Every object made lives as long as the review, and each collection would walk them all
    again (3x the build time at 100,000 records). Reference counting frees the rest as usual;
    the collector runs again after.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def build_review(path: Path, read: ReviewRead) -> SessionReview:
    """Turn a tolerant read of a log into a review (never raises on the log's content).

    Args:
        path: the log file (for display and the fallback session id).
        read: `read_for_review(path, key)`.

    Returns:
        The review.
    """
    builder = _Builder(path, read.lines)
    with _collector_paused():
        for line, record in read.records:
            builder.add(line, record)
        return builder.finish(read.verification, read.problems)


def load_review(path: str | os.PathLike[str], key: bytes | None = None) -> SessionReview:
    """Read and review one log, record by record.

    The same review as `build_review(path, read_for_review(path, key))`, without holding every
    record at once.

    Args:
        path: the `.jsonl` log.
        key: the site's HMAC key, to check MACs (optional).

    Returns:
        The review; a damaged log gives what is readable and an integrity that says why.

    Raises:
        OSError: the file cannot be opened.
    """
    log = Path(path)
    builder = _Builder(log, LogLines(log))
    sink = _BuildingSink(builder)
    with _collector_paused():
        verification = walk_log(log, key, None, sink)
        if verification.outcome is Outcome.ERROR:
            raise OSError(verification.reason)
        return builder.finish(verification, sink.problems)


def is_damaged(review: SessionReview) -> bool:
    """True when the log is damaged."""
    return review.integrity.status is IntegrityStatus.DAMAGED
