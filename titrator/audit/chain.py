"""The audit writer's private structlog processor chain and the hash/HMAC chain state.

The chain is deliberately separate from the diagnostic logger: it is built per session with
`AuditLogger(sink, processors, context)` and never touches `structlog.configure`. Processors:

1. `HashChain.envelope` checks structlog's event dict (bound `session_id`, `station_id`,
   `nurse_id`; the event name; `ts`, `mono`, `payload`) has every input and that the payload
   keeps the record RFC 8785 (no floats, no integers beyond 2**53 - 1, BMP keys).
2. `HashChain.seal` encodes the record canonically with `v`, `seq`, `prev_hash` (and `key_id`,
   `prev_mac` when keyed), adds `mac` (when keyed) and then `hash`, which covers the MAC
   (format v2), advances the chain, and renders the line.

structlog's `TimeStamper` is not used: times come from the injected clock or the caller, so that
tests and replay never depend on the real clock.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

import structlog
from structlog.typing import EventDict

from titrator.audit.canonical import ENCODER, FORMAT_VERSION, GENESIS, check_jcs_values
from titrator.audit.errors import AuditFormatError
from titrator.audit.record import EventLike, SessionHead

_ENVELOPE_INPUTS = ("session_id", "station_id", "nurse_id", "ts", "mono", "payload")

RECORD_ORDER = (
    "hash",
    "key_id",
    "kind",
    "mac",
    "mono",
    "nurse_id",
    "payload",
    "prev_hash",
    "prev_mac",
    "seq",
    "session_id",
    "station_id",
    "ts",
    "v",
)
"""Every member a written record can have, in canonical (sorted) order; `key_id`, `mac` and
`prev_mac` only when keyed. `HashChain.seal` writes members in this order."""


def _string(value: object) -> str:
    """A JSON string member value (json's own escaping); any other value as `canonical_json`."""
    if type(value) is str:
        return encode_basestring(value)
    return ENCODER.encode(value)


def _integer(value: object) -> str:
    """A JSON integer member value; any other value as `canonical_json` writes it."""
    if type(value) is int:
        return str(value)
    return ENCODER.encode(value)


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
        self._key_member = "" if key_id is None else f'"key_id":{_string(key_id)}'
        if key is not None:
            self.prev_mac = GENESIS if head is None or head.mac is None else head.mac

    def envelope(self, _logger: object, _method: str, event_dict: EventDict) -> EventDict:
        """Processor: check structlog's event dict holds what a record needs.

        The record's fields are taken from it by `seal`, which encodes them in place; nothing
        else in the event dict (other bound context) is recorded.
        """
        missing = [name for name in _ENVELOPE_INPUTS if name not in event_dict]
        if missing:
            raise ValueError(f"audit event lacks {', '.join(missing)}")
        check_jcs_values(event_dict["payload"])
        return event_dict

    def seal(
        self, _logger: object, _method: str, event_dict: EventDict
    ) -> tuple[tuple[bytes], dict[str, SessionHead]]:
        """Processor: encode the record, add `mac` (keyed) and `hash`, advance the chain.

        The record's members are always the same, so their sorted order is fixed (see
        `RECORD_ORDER`) and the line is built from the encoded members in that order: byte for
        byte `canonical_json` of the record (tested against it over generated records), with
        the payload encoded once and the sealed body, the hashed body and the line sharing it.
        The chain advances only once the record is known to encode, so a rejected event leaves
        no gap.

        Returns:
            structlog's `(args, kwargs)` for the sink's `msg(line, head=...)`.

        Raises:
            AuditFormatError: a value cannot be encoded (nothing changes).
        """
        try:
            seq = self.next_seq
            kind = _string(event_dict["event"])
            before_mac = (
                f'"kind":{kind}' if self._key is None else f'{self._key_member},"kind":{kind}'
            )
            prev_mac = "" if self._key is None else f'"prev_mac":"{self.prev_mac}",'
            after_mac = (
                f'"mono":{_integer(event_dict["mono"])},'
                f'"nurse_id":{_string(event_dict["nurse_id"])},'
                f'"payload":{ENCODER.encode(event_dict["payload"])},'
                f'"prev_hash":"{self.prev_hash}",{prev_mac}"seq":{_integer(seq)},'
                f'"session_id":{_string(event_dict["session_id"])},'
                f'"station_id":{_string(event_dict["station_id"])},'
                f'"ts":{_string(event_dict["ts"])},"v":{FORMAT_VERSION}'
            ).encode()
            before = before_mac.encode()
        except AuditFormatError:
            raise
        except (ValueError, TypeError, UnicodeEncodeError) as exc:
            raise AuditFormatError(f"value cannot be recorded canonically: {exc}") from exc
        mac = None
        if self._key is None:
            hashed = b"{%s,%s}" % (before, after_mac)
            mac_member = b""
        else:
            mac = hmac.digest(self._key, b"{%s,%s}" % (before, after_mac), "sha256").hex()
            mac_member = b',"mac":"%s"' % mac.encode("ascii")
            hashed = b"{%s%s,%s}" % (before, mac_member, after_mac)
        digest = hashlib.sha256(hashed).hexdigest()
        line = b'{"hash":"%s",%s%s,%s}\n' % (digest.encode("ascii"), before, mac_member, after_mac)
        head = SessionHead(seq, digest, mac)
        self.next_seq = seq + 1
        self.last_head = head
        self.prev_hash = digest
        if mac is not None:
            self.prev_mac = mac
        return (line,), {"head": head}
