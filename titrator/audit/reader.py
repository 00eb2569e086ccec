"""Reading session logs back: raw records, a tolerant review read, and typed events.

`read_records` is strict about form (every line must be a well-formed record) but does not
check the chain; call `verify_log` for that. `read_for_review` never fails on a damaged log: it
returns what it can read, the lines it cannot, and the verification result. `read_audit`
validates each event payload into the engine's event schema through a pydantic `TypeAdapter`.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import TypeAdapter, ValidationError

from titrator.audit.canonical import canonical_json, parse_json_line
from titrator.audit.errors import AuditFormatError, AuditReadError
from titrator.audit.record import AuditRecord
from titrator.audit.verify import Outcome, VerifyResult, walk_log

EventT = TypeVar("EventT")


@dataclass(frozen=True)
class LineProblem:
    """A line that could not be read as a record.

    Attributes:
        line: 1-based line number.
        reason: why it could not be read.
        text: the line as text (undecodable bytes replaced), for the reviewer.
    """

    line: int
    reason: str
    text: str


@dataclass(frozen=True)
class ReviewRead:
    """Everything readable in a possibly damaged log.

    Attributes:
        records: `(line, record)` for every line that parses as a record, chained or not.
        problems: lines that do not parse, including a torn last line.
        verification: the chain verification of the same file; records at or after
            `verification.line` are not vouched for.
    """

    records: list[tuple[int, AuditRecord]]
    problems: list[LineProblem]
    verification: VerifyResult


@dataclass(frozen=True)
class AuditEntry(Generic[EventT]):
    """A record with its payload validated into the event schema.

    Attributes:
        record: the raw record (envelope and payload dict).
        event: the validated event, or None for records the writer made itself.
    """

    record: AuditRecord
    event: EventT | None


def _parse_line(raw: bytes, line: int) -> AuditRecord:
    if not raw.endswith(b"\n"):
        raise AuditReadError("incomplete last line (torn write)", line=line)
    try:
        return AuditRecord.model_validate(parse_json_line(raw[:-1]))
    except (AuditFormatError, ValidationError) as exc:
        raise AuditReadError(str(exc), line=line) from exc


def read_records(path: str | os.PathLike[str]) -> list[AuditRecord]:
    """Read every record of a log (form only; the chain is not checked).

    Args:
        path: the log.

    Returns:
        The records in file order.

    Raises:
        AuditReadError: a line is not a well-formed record (names the line).
        OSError: the file cannot be read.
    """
    with Path(path).open("rb") as stream:
        return [_parse_line(raw, n) for n, raw in enumerate(stream, start=1)]


def read_for_review(
    path: str | os.PathLike[str], key: bytes | None = None, *, data: bytes | None = None
) -> ReviewRead:
    """Read a possibly damaged log for review, without ever failing on its content.

    Args:
        path: the log.
        key: the HMAC key for verification, if available.
        data: the log's bytes as already read (a snapshot of a log still being written);
            `path` then only names it.

    The file is read once: the chain verification hands over the records it vouches for, and
    the lines from the first damage on are parsed one by one.

    Returns:
        Readable records, unreadable lines, and the verification result.

    Raises:
        OSError: the file cannot be read.
    """
    sink = _ReviewSink()
    verification = walk_log(path, key, None, sink, data=data)
    if verification.outcome is Outcome.ERROR:
        raise OSError(verification.reason)
    return ReviewRead(sink.records, sink.problems, verification)


class _ReviewSink:
    """Collects one pass over a log: the verified records, then whatever else can be read."""

    def __init__(self) -> None:
        self.records: list[tuple[int, AuditRecord]] = []
        self.problems: list[LineProblem] = []

    def intact(self, line: int, record: AuditRecord) -> None:
        self.records.append((line, record))

    def unchecked(self, line: int, raw: bytes) -> None:
        try:
            self.records.append((line, _parse_line(raw, line)))
        except AuditReadError as exc:
            text = raw.decode("utf-8", errors="replace").rstrip("\n")
            self.problems.append(LineProblem(line, str(exc), text))


def read_audit(
    path: str | os.PathLike[str],
    adapter: TypeAdapter[EventT],
    kinds: Collection[str] | None = None,
) -> list[AuditEntry[EventT]]:
    """Read a log and validate each event payload with the event schema.

    The payload plus its `kind` is validated as JSON (`adapter.validate_json`), the exact
    inverse of the writer's `model_dump(mode="json")`, so strict models and Decimal fields
    round-trip.

    Args:
        path: the log.
        adapter: e.g. `TypeAdapter(AuditEvent)` for the discriminated union of events.
        kinds: the kinds the adapter describes (e.g. `titrator.domain.events.AUDIT_KINDS`);
            records of other kinds (the app's `pump_wire` trace, training marks) come back
            with `event=None` instead of failing. None: every record must fit the adapter.

    Returns:
        One entry per record, in order; records the writer made itself (`from_writer`) carry
        `event=None`. An engine `session_closed` event given to `close` is validated like any
        other event.

    Raises:
        AuditReadError: a line is malformed or a payload does not fit the schema.
    """
    entries: list[AuditEntry[EventT]] = []
    for n, record in enumerate(read_records(path), start=1):
        if record.from_writer or (kinds is not None and record.kind not in kinds):
            entries.append(AuditEntry(record, None))
            continue
        try:
            event = adapter.validate_json(canonical_json({**record.payload, "kind": record.kind}))
        except ValidationError as exc:
            raise AuditReadError(f"{record.kind} (seq {record.seq}): {exc}", line=n) from exc
        entries.append(AuditEntry(record, event))
    return entries
