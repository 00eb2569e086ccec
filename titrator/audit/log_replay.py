"""Replaying a session log: its engine events through a fresh session, compared byte for byte.

The log is verified first; only its intact prefix is replayed (a damaged log is not). Records
that are not engine events are skipped: the writer's own records (`log_opened`, `log_resumed`,
`log_recovered`, a writer-made closing record) and records the app adds, such as `pump_wire`
(the hex trace of pump bytes). A `log_resumed` or `log_recovered` record marks a crash point, as
does the end of an unfinished log: the input just before it may have only part of its outputs
recorded (the program died while writing them, before any of its commands was sent).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from titrator.audit.canonical import canonical_json, parse_json_line
from titrator.audit.errors import AuditFormatError
from titrator.audit.record import AuditRecord
from titrator.audit.verify import Outcome, VerifyResult, verify_log
from titrator.domain.events import AUDIT_EVENT_ADAPTER, AUDIT_KINDS, AuditEvent, SessionOpened
from titrator.domain.replay import ReplayResult, replay

RESTART_KINDS = frozenset({"log_resumed", "log_recovered"})
"""Writer records that start a new process's part of the log (a crash point lies before)."""


@dataclass(frozen=True)
class LoggedEvent:
    """An engine event with its place in the log."""

    line: int
    seq: int
    event: AuditEvent


@dataclass(frozen=True)
class Difference:
    """Where the replay first departs from the log.

    Attributes:
        line: 1-based line of the first differing record; when the log lacks a record, the
            line where it should have been (one past the last line at the end of the log).
        seq: the `seq` of that line.
        input_line: line of the input whose outputs differ.
        input_seq: its `seq`.
        input_kind: its kind.
        recorded: the recorded event (canonical JSON), or None when the log lacks one.
        replayed: what the replay produced, or None when it produced nothing more.
    """

    line: int
    seq: int
    input_line: int
    input_seq: int
    input_kind: str
    recorded: str | None
    replayed: str | None


@dataclass(frozen=True)
class LogReplay:
    """The outcome of replaying one log.

    Attributes:
        path: the log.
        verification: the chain verification (only the intact prefix is replayed).
        events: the engine events of the intact prefix.
        result: the replay, or None when the log could not be replayed (see `problem`).
        problem: why the log could not be replayed (damaged, unreadable, not a session).
        skipped: counts of records that are not engine events, by kind.
        crash_points: event indices before which the program may have died.
        difference: the first difference, located in the log (None when equal).
    """

    path: Path
    verification: VerifyResult
    events: tuple[LoggedEvent, ...] = ()
    result: ReplayResult | None = None
    problem: str | None = None
    skipped: dict[str, int] = field(default_factory=dict)
    crash_points: tuple[int, ...] = ()
    difference: Difference | None = None

    @property
    def equal(self) -> bool:
        """Every recorded engine event was reproduced exactly."""
        return self.problem is None and self.difference is None

    @property
    def unrecorded(self) -> tuple[AuditEvent, ...]:
        """Outputs a crash kept from the log (their commands were never sent)."""
        if self.result is None:
            return ()
        return tuple(event for cut in self.result.cut_short for event in cut.missing)

    def summary(self) -> list[str]:
        """Lines for people: EQUAL or DIFFERS (or the problem), with the details."""
        if self.problem is not None:
            return [f"DIFFERS {self.path}: {self.problem}"]
        inputs = len(self.result.decisions) if self.result is not None else 0
        skipped = ", ".join(f"{kind} x{count}" for kind, count in sorted(self.skipped.items()))
        state = "closed" if self.verification.closed else self.verification.outcome.label
        if self.difference is None:
            lines = [
                f"EQUAL {self.path}: {inputs} inputs replayed, {len(self.events)} engine events "
                f"reproduced exactly ({state}; skipped: {skipped or 'none'})"
            ]
            if self.unrecorded:
                kinds = ", ".join(e.kind for e in self.unrecorded)
                lines.append(f"  cut short by a crash, never recorded: {kinds}")
            return lines
        diff = self.difference
        return [
            f"DIFFERS {self.path}: line {diff.line} (seq {diff.seq}), after the input on line "
            f"{diff.input_line} (seq {diff.input_seq}, {diff.input_kind})",
            f"  recorded: {diff.recorded or '(nothing)'}",
            f"  replayed: {diff.replayed or '(nothing)'}",
        ]

    @property
    def exit_code(self) -> int:
        """0 equal, 1 different or not replayable, 2 the log or key could not be read."""
        if self.verification.outcome is Outcome.ERROR:
            return 2
        return 0 if self.equal else 1


def _intact_records(path: Path, good_bytes: int) -> list[tuple[int, AuditRecord]]:
    with path.open("rb") as stream:
        data = stream.read(good_bytes)
    records = []
    for number, raw in enumerate(data.splitlines(), start=1):
        records.append((number, AuditRecord.model_validate(parse_json_line(raw))))
    return records


def _locate(
    events: tuple[LoggedEvent, ...], result: ReplayResult, next_line: int, next_seq: int
) -> Difference | None:
    div = result.divergence
    if div is None:
        return None
    source = events[div.input_index]
    if div.event_index < len(events):
        at = events[div.event_index]
        line, seq = at.line, at.seq
    else:
        line, seq = next_line, next_seq
    return Difference(
        line=line,
        seq=seq,
        input_line=source.line,
        input_seq=source.seq,
        input_kind=source.event.kind,
        recorded=div.recorded,
        replayed=div.replayed,
    )


def replay_log(path: str | os.PathLike[str], key: bytes | None = None) -> LogReplay:
    """Verify a session log and replay its engine events through a fresh session.

    Args:
        path: the log.
        key: the site key, to check MACs as well.

    Returns:
        The replay; `equal` tells whether every engine event was reproduced exactly.
    """
    log = Path(path)
    verification = verify_log(log, key=key)
    if verification.outcome in (Outcome.DAMAGED, Outcome.ERROR):
        return LogReplay(log, verification, problem=verification.summary())
    try:
        records = _intact_records(log, verification.good_bytes)
    except (OSError, AuditFormatError, ValidationError) as exc:
        return LogReplay(log, verification, problem=f"cannot read the log: {exc}")
    events: list[LoggedEvent] = []
    skipped: Counter[str] = Counter()
    crash_points: list[int] = []
    for line, record in records:
        if record.from_writer or record.kind not in AUDIT_KINDS:
            skipped[record.kind] += 1
            if record.kind in RESTART_KINDS and events:
                crash_points.append(len(events))
            continue
        body = canonical_json({**record.payload, "kind": record.kind})
        try:
            event = AUDIT_EVENT_ADAPTER.validate_json(body)
        except ValidationError as exc:
            where = f"line {line} (seq {record.seq})"
            problem = f"{where}: {record.kind} does not fit the event schema: {exc}"
            return LogReplay(log, verification, problem=problem, skipped=dict(skipped))
        events.append(LoggedEvent(line, record.seq, event))
    if not verification.closed:
        crash_points.append(len(events))
    found = tuple(events)
    if not found:
        return LogReplay(log, verification, skipped=dict(skipped))
    if not isinstance(found[0].event, SessionOpened):
        problem = f"line {found[0].line}: the first engine event is not session_opened"
        return LogReplay(log, verification, found, problem=problem, skipped=dict(skipped))
    result = replay([e.event for e in found], crash_points=set(crash_points))
    next_line = records[-1][0] + 1 if records else 1
    next_seq = records[-1][1].seq + 1 if records else 0
    return LogReplay(
        log,
        verification,
        found,
        result,
        skipped=dict(skipped),
        crash_points=tuple(crash_points),
        difference=_locate(found, result, next_line, next_seq),
    )
