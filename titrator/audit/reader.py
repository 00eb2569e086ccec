"""Reading session logs back: raw records, a tolerant review read, and typed events.

`read_records` is strict about form (every line must be a well-formed record) but does not
check the chain; call `verify_log` for that. `read_for_review` never fails on a damaged log: it
returns what it can read, the lines it cannot, and the verification result. `read_audit`
validates each event payload into the engine's event schema through a pydantic `TypeAdapter`.
"""

from __future__ import annotations

import hashlib
import os
from array import array
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Protocol, TypeVar

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
    lines: LogLines = field(repr=False, compare=False)
    """Every line of the log as read, to read a record again later (`LogLines.line`)."""


class LineSource(Protocol):
    """Where a stored line can be read again (`LogLines` for a log as it was read)."""

    def line(self, number: int) -> bytes:
        """Line `number` (1-based), with its newline, exactly as it was stored."""
        ...


class LogChangedError(OSError):
    """A line read again is not the line that was read when the log was opened.

    The log was rewritten, truncated, moved or removed since: what was reviewed can no longer
    be read back from it. The message names the file and the line, never the content.
    """


_DIGEST_SIZE = 16
"""Bytes of BLAKE2b kept per line: enough to tell a rewritten line, 16 bytes a record."""


def _digest(raw: bytes) -> bytes:
    return hashlib.blake2b(raw, digest_size=_DIGEST_SIZE).digest()


class LogLines:
    """Where each line of a log lies, and a digest of it, as the log was read (issue 17).

    A review keeps its timeline's summaries, not every record's payload and event: those are
    read again from the log when something asks for them (an export, the store's facts), and
    checked against the digest taken when the log was read, so what comes back is exactly what
    was reviewed. A snapshot's bytes (`data`) are read from memory instead of the file. About
    24 bytes a line (an offset and a digest in two flat arrays), where holding the parsed record
    and its event cost about 5 KB.
    """

    __slots__ = ("_data", "_digests", "_end", "_offsets", "path")

    def __init__(self, path: Path, data: bytes | None = None) -> None:
        self.path = path
        self._data = data
        self._offsets = array("q")
        self._digests = bytearray()
        self._end = 0

    def add(self, raw: bytes) -> None:
        """The next line of the log, as read (every line, in order, readable or not)."""
        self._offsets.append(self._end)
        self._digests += _digest(raw)
        self._end += len(raw)

    def __len__(self) -> int:
        return len(self._offsets)

    def line(self, number: int) -> bytes:
        """Line `number` (1-based) read again, byte for byte as when the log was read.

        Raises:
            LogChangedError: the line is not what was read (the file changed, moved or went).
            IndexError: the log had no such line.
        """
        index = number - 1
        if not 0 <= index < len(self._offsets):
            raise IndexError(f"line {number}: the log had {len(self._offsets)} lines")
        start = self._offsets[index]
        end = self._offsets[index + 1] if index + 1 < len(self._offsets) else self._end
        if self._data is not None:
            raw = self._data[start:end]
        else:
            try:
                with self.path.open("rb") as stream:
                    stream.seek(start)
                    raw = stream.read(end - start)
            except OSError as exc:
                raise LogChangedError(
                    f"{self.path.name}: cannot read line {number} again: "
                    f"{exc.strerror or type(exc).__name__}; open the log again"
                ) from None
        kept = self._digests[index * _DIGEST_SIZE : (index + 1) * _DIGEST_SIZE]
        if _digest(raw) != kept:
            raise LogChangedError(
                f"{self.path.name}: line {number} is not what was read when the log was opened "
                "(the log changed since); open the log again"
            )
        return raw


@dataclass(frozen=True)
class AuditEntry(Generic[EventT]):
    """A record with its payload validated into the event schema.

    Attributes:
        record: the raw record (envelope and payload dict).
        event: the validated event, or None for records the writer made itself.
    """

    record: AuditRecord
    event: EventT | None


def parse_record_line(raw: bytes, line: int) -> AuditRecord:
    """One stored line (with its newline) as a record, form checked; the chain is not.

    Raises:
        AuditReadError: the line is torn or not a well-formed record (names the line).
    """
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
        return [parse_record_line(raw, n) for n, raw in enumerate(stream, start=1)]


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
    lines = LogLines(Path(path), data)
    sink = _ReviewSink(lines)
    verification = walk_log(path, key, None, sink, data=data)
    if verification.outcome is Outcome.ERROR:
        raise OSError(verification.reason)
    return ReviewRead(sink.records, sink.problems, verification, lines)


class _ReviewSink:
    """Collects one pass over a log: the verified records, then whatever else can be read."""

    def __init__(self, lines: LogLines | None = None) -> None:
        self.records: list[tuple[int, AuditRecord]] = []
        self.problems: list[LineProblem] = []
        self.lines = lines
        """Where every line lies, when the caller will read records again (None: it won't)."""

    def intact(self, line: int, record: AuditRecord, raw: bytes) -> None:
        if self.lines is not None:
            self.lines.add(raw)
        self.records.append((line, record))

    def unchecked(self, line: int, raw: bytes) -> None:
        if self.lines is not None:
            self.lines.add(raw)
        try:
            self.records.append((line, parse_record_line(raw, line)))
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
