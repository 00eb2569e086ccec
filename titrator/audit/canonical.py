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

FORMAT_VERSION = 3
"""Version of the record envelope (the `v` field) written now.

- v1: `hash` and `mac` both cover the record without `hash` and `mac`. The last record's `mac`
  is covered by nothing, so its head hash (the chart's anchor) does not protect it.
- v2: `mac` covers the record without `hash` and `mac` (as in v1); `hash` covers the record
  without `hash` only, MAC included. The head hash therefore covers the whole last record.
- v3: as v2, and `mono` is an integer number of milliseconds (v1 and v2: float seconds). A
  record then holds no floating-point number, so its canonical form here is exactly RFC 8785
  (JSON Canonicalization Scheme) and a log can be verified without titrator's code
  (docs/developer/log-format.md; tools/verify-log.mjs).

All three are read; each record is checked by the rule of its own `v`.
"""

READABLE_VERSIONS = frozenset({1, 2, 3})
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


ENCODER = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    default=_encode_extra,
)
"""What `json.dumps` with these options builds on every call; built once (it keeps no state)."""


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
        return ENCODER.encode(value).encode("utf-8")
    except AuditFormatError:
        raise
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise AuditFormatError(f"value cannot be recorded canonically: {exc}") from exc


MAX_EXACT_INT = 2**53 - 1
"""Largest integer RFC 8785 (and every JSON reader that uses IEEE doubles) writes exactly."""


def check_jcs_values(value: object, where: str = "payload") -> None:
    """Refuse what would make a v3 record's encoding differ from RFC 8785.

    RFC 8785 writes numbers as ECMAScript does (`85500`, `1e-7`), Python's `json` as `repr`
    does (`85500.0`, `1e-07`), and it sorts keys by UTF-16 code units where Python sorts by
    code points. With no floats (Decimals are recorded as their exact string), integers within
    +/-(2**53 - 1) and keys inside the Basic Multilingual Plane, the two encodings are the same
    bytes.

    Every record's payload is walked on the writer's hot path, so the walk is a flat loop over
    the plain JSON types; anything else, or any problem, is looked at again by
    `_jcs_problem`, which names where it is.

    Raises:
        AuditFormatError: naming where the value is.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if -MAX_EXACT_INT <= item <= MAX_EXACT_INT:  # type: ignore[operator]
                continue
        elif kind is dict:
            for key, member in item.items():  # type: ignore[attr-defined]
                if type(key) is not str or not key.isascii():
                    break
                stack.append(member)
            else:
                continue
        elif kind is list or kind is tuple:
            stack.extend(item)  # type: ignore[arg-type]
            continue
        _jcs_problem(value, where)  # raises for a real problem
        return  # an unusual but acceptable type (a str or int subclass, a non-ASCII key)


def _jcs_problem(value: object, where: str) -> None:
    """`check_jcs_values` the slow way: recursive, naming where the first problem is."""
    if isinstance(value, float):
        raise AuditFormatError(
            f"{where} is a floating-point number ({value!r}); record a Decimal or an integer"
        )
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > MAX_EXACT_INT:
            raise AuditFormatError(f"{where} is an integer beyond 2**53 - 1; record a string")
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and not key.isascii() and max(map(ord, key)) > 0xFFFF:
                raise AuditFormatError(f"{where} has a key outside the Basic Multilingual Plane")
            if not isinstance(item, str | bool | None):
                _jcs_problem(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if not isinstance(item, str | bool | None):
                _jcs_problem(item, f"{where}[{index}]")


def sealed_body(record: Mapping[str, Any]) -> bytes:
    """Return the bytes the hash and MAC cover: the record without its `hash` and `mac`."""
    return canonical_json({k: v for k, v in record.items() if k not in SEAL_FIELDS})


def hashed_body(record: Mapping[str, Any]) -> bytes:
    """Return the bytes the `hash` covers, by the record's own `v` (see `FORMAT_VERSION`)."""
    if record.get("v") == 1:
        return sealed_body(record)
    return canonical_json({k: v for k, v in record.items() if k != "hash"})


def _members(value: Mapping[str, Any]) -> bytes:
    """The canonical encoding of an object without its braces (b"" when empty)."""
    return canonical_json(value)[1:-1] if value else b""


def _join(*members: bytes) -> bytes:
    return b"{" + b",".join(m for m in members if m) + b"}"


class SealParts:
    """A record's canonical encoding cut around its seal fields, each member encoded once.

    `json.dumps(sort_keys=True, separators=(",", ":"))` writes an object as its members in key
    order joined by commas, so the members with keys before "hash", between "hash" and "mac"
    and after "mac" are contiguous runs of the full encoding: the sealed body, the v2 hashed
    body and the stored line are these runs joined with or without the seal members, byte for
    byte what `sealed_body`, `hashed_body` and `canonical_json` give (tested over the corpus
    and generated records), at the cost of one encoding instead of three.
    """

    __slots__ = ("_after", "_before", "_between")

    def __init__(self, record: Mapping[str, Any]) -> None:
        """Encode the record's members other than `hash` and `mac`.

        Raises:
            AuditFormatError: a non-string top-level key, or a value `canonical_json` rejects.
        """
        before: dict[str, Any] = {}
        between: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for key, value in record.items():
            if not isinstance(key, str):
                raise AuditFormatError(f"record key {key!r} is not a string")
            if key in SEAL_FIELDS:
                continue
            (before if key < "hash" else between if key < "mac" else after)[key] = value
        self._before = _members(before)
        self._between = _members(between)
        self._after = _members(after)

    @staticmethod
    def member(record: Mapping[str, Any], name: str) -> bytes:
        """The encoded `"name":value` member of a seal field, or b"" when the record has none."""
        if name not in record:
            return b""
        value = record[name]
        if isinstance(value, str) and value.isascii() and value.isalnum():
            # hex digests (and any ASCII letters and digits) encode as themselves
            return b'"%s":"%s"' % (name.encode("ascii"), value.encode("ascii"))
        return _members({name: value})

    def sealed(self) -> bytes:
        """What `sealed_body` gives: the record without `hash` and `mac`."""
        return _join(self._before, self._between, self._after)

    def hashed(self, v: object, mac_member: bytes) -> bytes:
        """What `hashed_body` gives for a record of envelope version `v` with that `mac`."""
        if v == 1:
            return self.sealed()
        return _join(self._before, self._between, mac_member, self._after)

    def line(self, hash_member: bytes, mac_member: bytes) -> bytes:
        """What `canonical_json` gives for the whole record (no trailing newline)."""
        return _join(self._before, hash_member, self._between, mac_member, self._after)


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
