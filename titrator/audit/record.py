"""The record envelope and the small interfaces the writer depends on.

An audit record is one JSON object on one line. Its envelope is defined here; its `payload` is
the event, whose schema belongs to the session engine (`titrator.domain.events`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

WRITER_KINDS = frozenset({"log_opened", "log_resumed", "log_recovered"})
"""Record kinds written by the audit writer itself; event schemas must not use them."""

CLOSE_KIND = "session_closed"
"""Kind of a log's last record, written only by `AuditWriter.close`.

Its payload is the engine's own `session_closed` event when one is passed to `close`, or else
`WRITER_CLOSE_PAYLOAD` plus a `reason`.
"""

WRITER_CLOSE_PAYLOAD = {"closed_by": "audit_writer"}
"""Marks a closing record made by the writer itself (no engine event was given)."""


@runtime_checkable
class EventLike(Protocol):
    """What the writer accepts as an event: a pydantic model with a `kind` discriminator."""

    @property
    def kind(self) -> str:
        """The event's kind (the discriminator of the event union)."""
        ...

    def model_dump(self, *, mode: str = ...) -> dict[str, Any]:
        """Return the event as JSON-compatible data (called with `mode="json"`)."""
        ...


@dataclass(frozen=True, slots=True)
class SessionHead:
    """The chain head after a record: what the chart records to anchor a session's log.

    Attributes:
        seq: sequence number of the record.
        hash: its `hash` (64 hex digits); pass it to `verify_log(expect_head=...)`.
        mac: its `mac` when the log is keyed, else None.
    """

    seq: int
    hash: str
    mac: str | None = None

    def short(self, digits: int = 16) -> str:
        """Return the first `digits` hex digits of the hash, grouped by four for transcription."""
        head = self.hash[:digits]
        return " ".join(head[i : i + 4] for i in range(0, len(head), 4))


class AuditRecord(BaseModel):
    """One record as stored: the envelope plus the event payload (a plain dict).

    Field order here is documentation only; on disk keys are sorted.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    v: int = Field(ge=1)
    """Envelope format version (`titrator.audit.canonical.FORMAT_VERSION`: 3 now)."""
    seq: int = Field(ge=0)
    """Position in the log, from 0, without gaps."""
    ts: str
    """UTC wall-clock time, ISO 8601 with offset and microseconds.

    Example: `2025-01-31T09:15:00.000000+00:00`.
    """
    mono: int | float
    """Monotonic clock reading (resets when the process restarts): whole milliseconds from v3,
    float seconds in v1 and v2 logs. Read it as `mono_ms`."""
    session_id: str
    """The infusion session; also the log's file name."""
    station_id: str
    """Workstation that wrote the record."""
    nurse_id: str
    """User signed in when the record was written."""
    kind: str
    """Event kind (the discriminator of the event schema, `WRITER_KINDS` or `CLOSE_KIND`)."""
    payload: dict[str, Any]
    """The event's fields except `kind`, as produced by `model_dump(mode="json")`."""
    prev_hash: str
    """`hash` of the previous record (`GENESIS` for the first)."""
    hash: str
    """SHA-256 of the canonical record without `hash` and `mac`."""
    key_id: str | None = None
    """Keyed logs only: public name of the HMAC key."""
    prev_mac: str | None = None
    """Keyed logs only: `mac` of the previous record (`GENESIS` for the first)."""
    mac: str | None = None
    """Keyed logs only: HMAC-SHA256 of the same bytes as `hash`."""

    @property
    def mono_ms(self) -> int:
        """The monotonic reading in whole milliseconds, whatever the record's version."""
        if self.v >= 3:
            return int(self.mono)
        return round(self.mono * 1000)

    @property
    def timestamp(self) -> datetime:
        """The `ts` field parsed into an aware datetime."""
        return datetime.fromisoformat(self.ts)

    @property
    def from_writer(self) -> bool:
        """True for records the writer made itself (not an event of the session engine)."""
        if self.kind == CLOSE_KIND:
            return self.payload.get("closed_by") == WRITER_CLOSE_PAYLOAD["closed_by"]
        return self.kind in WRITER_KINDS

    @property
    def head(self) -> SessionHead:
        """The chain head after this record."""
        return SessionHead(self.seq, self.hash, self.mac)


_UNKEYED_DEFAULTS: dict[str, Any] = {"key_id": None, "prev_mac": None, "mac": None}


def checked_record(fields: dict[str, Any]) -> AuditRecord:
    """An `AuditRecord` from fields the verifier has already checked, without validating again.

    What `AuditRecord.model_construct` does, without its per-field default lookup (the verifier
    hands every intact record of every log to readers: 4.6 µs against 1.2 µs a record). Only
    for `fields` that passed `titrator.audit.verify`'s envelope checks.
    """
    record = object.__new__(AuditRecord)
    values = dict(_UNKEYED_DEFAULTS)
    values.update(fields)
    object.__setattr__(record, "__dict__", values)
    object.__setattr__(record, "__pydantic_fields_set__", set(fields))
    object.__setattr__(record, "__pydantic_extra__", None)
    object.__setattr__(record, "__pydantic_private__", None)
    return record
