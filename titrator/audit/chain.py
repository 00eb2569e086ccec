"""The audit writer's private structlog processor chain and the hash/HMAC chain state.

The chain is deliberately separate from the diagnostic logger: it is built per session with
`AuditLogger(sink, processors, context)` and never touches `structlog.configure`. Processors:

1. `HashChain.envelope` turns structlog's event dict (bound `session_id`, `station_id`,
   `nurse_id`; the event name; `ts`, `mono`, `payload`) into a record with `v`, `seq`,
   `prev_hash` (and `key_id`, `prev_mac` when keyed).
2. `HashChain.seal` encodes the record canonically (rejecting NaN, infinity and non-JSON
   values), adds `mac` (when keyed) and then `hash`, which covers the MAC (format v2), advances
   the chain, and renders the line.

structlog's `TimeStamper` is not used: times come from the injected clock or the caller, so that
tests and replay never depend on the real clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import structlog
from structlog.typing import EventDict

from titrator.audit.canonical import (
    FORMAT_VERSION,
    GENESIS,
    SealParts,
    check_jcs_values,
    record_hash,
    record_mac,
)
from titrator.audit.errors import AuditFormatError
from titrator.audit.record import EventLike, SessionHead

_ENVELOPE_INPUTS = ("session_id", "station_id", "nurse_id", "ts", "mono", "payload")


def split_event(event: EventLike | Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Return (kind, payload without kind) for a pydantic event or a plain dict."""
    if isinstance(event, Mapping):
        payload = dict(event)
        kind = payload.pop("kind", None)
    else:
        kind = event.kind
        payload = event.model_dump(mode="json")
        if payload.pop("kind", kind) != kind:
            raise AuditFormatError(f"event dumps a kind different from {kind!r}")
    if not isinstance(kind, str) or not kind:
        raise AuditFormatError("an event needs a non-empty string 'kind'")
    return kind, payload


def format_ts(now: datetime) -> str:
    """Render an aware datetime as the record's `ts` (UTC, ISO 8601, microseconds)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise AuditFormatError("record time must be timezone-aware (UTC)")
    return now.astimezone(UTC).isoformat(timespec="microseconds")


def check_mono_ms(mono_ms: int) -> int:
    """Return a monotonic reading in whole milliseconds (the v3 envelope's `mono`).

    Raises:
        AuditFormatError: not an integer (a bool, a float, NaN...) or negative.
    """
    if type(mono_ms) is not int or mono_ms < 0:
        raise AuditFormatError(
            f"monotonic reading must be a whole number of milliseconds >= 0, got {mono_ms!r}"
        )
    return mono_ms


class AuditLogger(structlog.BoundLoggerBase):
    """A structlog bound logger with a single method, `record`."""

    def record(self, kind: str, **fields: Any) -> None:
        """Run the processor chain on one event and hand the line to the sink.

        Args:
            kind: the event kind.
            **fields: `ts`, `mono` and `payload`.
        """
        self._proxy_to_logger("msg", kind, **fields)


class HashChain:
    """Chain state (next `seq`, previous hash and MAC) and the processors that use it.

    Args:
        key: HMAC key, or None for a hash-only chain.
        key_id: the key's public name (required with a key).
        head: the head of an existing log being resumed, or None for a new log.
    """

    def __init__(
        self, *, key: bytes | None, key_id: str | None, head: SessionHead | None = None
    ) -> None:
        self._key = key
        self._key_id = key_id
        self.next_seq = 0 if head is None else head.seq + 1
        self.prev_hash = GENESIS if head is None else head.hash
        self.prev_mac: str | None = None
        self.last_head: SessionHead = head if head is not None else SessionHead(-1, GENESIS)
        """Head after the last record sealed (written or pending)."""
        if key is not None:
            self.prev_mac = GENESIS if head is None or head.mac is None else head.mac

    def envelope(self, _logger: object, _method: str, event_dict: EventDict) -> EventDict:
        """Processor: build the record envelope from structlog's event dict."""
        missing = [name for name in _ENVELOPE_INPUTS if name not in event_dict]
        if missing:
            raise ValueError(f"audit event lacks {', '.join(missing)}")
        record: dict[str, Any] = {
            "v": FORMAT_VERSION,
            "seq": self.next_seq,
            "kind": event_dict["event"],
            "prev_hash": self.prev_hash,
        }
        for name in _ENVELOPE_INPUTS:
            record[name] = event_dict[name]
        check_jcs_values(record["payload"])
        if self._key is not None:
            record["key_id"] = self._key_id
            record["prev_mac"] = self.prev_mac
        return record

    def seal(
        self, _logger: object, _method: str, record: EventDict
    ) -> tuple[tuple[bytes], dict[str, SessionHead]]:
        """Processor: add `hash` (and `mac`), advance the chain, render the line.

        The chain advances only once the record is known to encode, so a rejected event leaves
        no gap.

        Returns:
            structlog's `(args, kwargs)` for the sink's `msg(line, head=...)`.
        """
        # Each member is encoded once; raises AuditFormatError before any state changes.
        parts = SealParts(record)
        body = parts.sealed()
        mac = None
        if self._key is not None:
            mac = record_mac(self._key, body)
            record["mac"] = mac
        mac_member = SealParts.member(record, "mac")
        # v2: the hash covers the MAC too
        digest = record_hash(parts.hashed(record.get("v"), mac_member))
        record["hash"] = digest
        line = parts.line(SealParts.member(record, "hash"), mac_member) + b"\n"
        head = SessionHead(record["seq"], digest, mac)
        self.next_seq += 1
        self.last_head = head
        self.prev_hash = digest
        if mac is not None:
            self.prev_mac = mac
        return (line,), {"head": head}
