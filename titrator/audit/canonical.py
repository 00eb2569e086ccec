"""Canonical JSON encoding and the hash and HMAC primitives of the audit chain.

The canonical form is what is hashed *and* what is stored: sorted keys, no whitespace, UTF-8
(non-ASCII characters unescaped), no NaN or infinity. Because the stored line must equal the
canonical encoding of its own parsed content, any change to the bytes of a line is detected,
even one that would parse to the same value.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from titrator.audit.errors import AuditFormatError

FORMAT_VERSION = 2
"""Version of the record envelope (the `v` field) written now.

- v1: `hash` and `mac` both cover the record without `hash` and `mac`. The last record's `mac`
  is covered by nothing, so its head hash (the chart's anchor) does not protect it.
- v2: `mac` covers the record without `hash` and `mac` (as in v1); `hash` covers the record
  without `hash` only, MAC included. The head hash therefore covers the whole last record.

Both are read; each record is checked by the rule of its own `v`.
"""

READABLE_VERSIONS = frozenset({1, 2})
"""Envelope versions the verifier accepts."""

GENESIS = "0" * 64
"""`prev_hash` (and `prev_mac`) of the first record of a log."""

SEAL_FIELDS = frozenset({"hash", "mac"})
"""Fields that are not covered by the hash and MAC (they *are* the hash and MAC)."""


def _encode_extra(value: object) -> str:
    """Encode the few non-JSON types we accept deterministically (Decimal as its string)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise AuditFormatError(f"non-finite Decimal cannot be recorded: {value}")
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def canonical_json(value: object) -> bytes:
    """Encode a JSON-compatible value canonically.

    Args:
        value: dicts with string keys, lists, strings, ints, finite floats, bools, None, and
            finite `Decimal` values (encoded as their exact string, as pydantic does in
            `model_dump(mode="json")`).

    Returns:
        The UTF-8 bytes of the canonical encoding (no trailing newline).

    Raises:
        AuditFormatError: for NaN or infinity, lone surrogates or non-JSON types.
    """
    try:
        text = json.dumps(
            value,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
            default=_encode_extra,
        )
        return text.encode("utf-8")
    except AuditFormatError:
        raise
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise AuditFormatError(f"value cannot be recorded canonically: {exc}") from exc


def sealed_body(record: Mapping[str, Any]) -> bytes:
    """Return the bytes the hash and MAC cover: the record without its `hash` and `mac`."""
    return canonical_json({k: v for k, v in record.items() if k not in SEAL_FIELDS})


def hashed_body(record: Mapping[str, Any]) -> bytes:
    """Return the bytes the `hash` covers, by the record's own `v` (see `FORMAT_VERSION`)."""
    if record.get("v") == 1:
        return sealed_body(record)
    return canonical_json({k: v for k, v in record.items() if k != "hash"})


def record_hash(body: bytes) -> str:
    """SHA-256 of a sealed body, as 64 lowercase hex digits."""
    return hashlib.sha256(body).hexdigest()


def record_mac(key: bytes, body: bytes) -> str:
    """HMAC-SHA256 of a sealed body under `key`, as 64 lowercase hex digits."""
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def parse_json_line(body: bytes) -> Any:
    """Parse one stored line (without its newline) strictly.

    Args:
        body: the line's bytes.

    Returns:
        The parsed value.

    Raises:
        AuditFormatError: invalid UTF-8 or JSON, NaN/Infinity, or duplicate keys.
    """
    try:
        return json.loads(
            body.decode("utf-8"),
            parse_constant=_reject_constant,
            object_pairs_hook=_no_duplicate_keys,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise AuditFormatError(f"not valid JSON: {exc}") from exc
