"""Verification of a session log: chain, MACs, closing record, anchor.

`verify_log` reads a log line by line and stops at the first record that breaks the chain. It
never raises for a bad log; the outcome says what was found. Outcomes, from best to worst:

- `OK`: every record intact, the session was closed, and the head matches any given anchor.
- `UNFINISHED`: every record intact but there is no closing record (the session is still
  running, the program stopped, or the tail was cut at a record boundary).
- `TORN_TAIL`: like `UNFINISHED`, and the last line is incomplete (a write cut short).
- `ERROR`: the log or key could not be read; nothing was checked.
- `DAMAGED`: a record was altered, removed, inserted, duplicated or reordered, a MAC does not
  match the key, or the head differs from the expected anchor.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import io
import json
import os
import re
from dataclasses import dataclass
from json.encoder import encode_basestring
from json.scanner import make_scanner
from pathlib import Path
from typing import Any, Protocol, cast

from titrator.audit.canonical import (
    GENESIS,
    READABLE_VERSIONS,
    SealParts,
)
from titrator.audit.errors import AuditFormatError
from titrator.audit.keys import key_id
from titrator.audit.record import CLOSE_KIND, AuditRecord, SessionHead, checked_record

MIN_ANCHOR_DIGITS = 16
"""Shortest accepted `expect_head` prefix (64 bits) for anchors transcribed by hand."""

_HEX = re.compile(r"[0-9a-f]+")

_SCAN = make_scanner(cast("make_scanner", json.JSONDecoder()))
"""json's own (C) scanner, as `json.JSONDecoder` builds it: what `json.loads` runs on a line
that is exactly one JSON value, without its per-call wrapper (a BOM check and two whitespace
matches). Anything else (leading or trailing whitespace, trailing data, invalid JSON) is
handed to `json.loads` itself."""


def _parse_line(body: bytes) -> Any:
    """One stored line (without its newline) parsed as `json.loads` parses it.

    Plain parsing is enough: the hash covers the stored bytes, so a duplicate key or any other
    oddity that parses differently is still a change of the hashed bytes.

    Raises:
        _Damage: not UTF-8, or not JSON (json's own reason).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Damage(f"not valid JSON: {exc}") from exc
    try:
        obj, end = _SCAN(text, 0)
    except (StopIteration, ValueError):
        end = -1
    if end == len(text):
        return obj
    try:  # not exactly one JSON value: json.loads decides, and says why
        return json.loads(text)
    except ValueError as exc:
        raise _Damage(f"not valid JSON: {exc}") from exc


CHAIN_ONLY = "chain-only"
"""Label of an intact, closed log checked without the site key and without a head hash."""

KEYLESS_NOTE = (
    "hash chain only: not protected against rewriting; give the site key or the head hash"
)
"""What a check without key and anchor says, instead of calling the log verified."""


class Outcome(enum.Enum):
    """What verification found; `exit_code` is the CLI's exit status for it."""

    OK = ("ok", 0, 0)
    UNFINISHED = ("unfinished", 3, 1)
    TORN_TAIL = ("torn-tail", 4, 2)
    ERROR = ("error", 2, 3)
    DAMAGED = ("damaged", 1, 4)

    def __init__(self, label: str, exit_code: int, rank: int) -> None:
        self.label = label
        self.exit_code = exit_code
        self.rank = rank


@dataclass(frozen=True)
class VerifyResult:
    """Result of verifying one log.

    Attributes:
        path: the log.
        outcome: what was found.
        reason: one plain sentence explaining the outcome.
        records: number of records verified intact (before any problem).
        line: 1-based line of the first bad or torn line, when there is one.
        seq: `seq` found on that line, when it could be read.
        head: head after the last intact record, or None if there was none.
        session_id: session of the log, from its first intact record.
        keyed: the log carries MACs.
        mac_checked: MACs were checked against a key.
        closed: an intact `session_closed` record was found.
        good_bytes: length of the intact prefix (used to cut a torn tail when resuming).
        anchored: the head matched an expected head (`expect_head`) given by the caller.
    """

    path: Path
    outcome: Outcome
    reason: str
    records: int = 0
    line: int | None = None
    seq: int | None = None
    head: SessionHead | None = None
    session_id: str | None = None
    keyed: bool = False
    mac_checked: bool = False
    closed: bool = False
    good_bytes: int = 0
    anchored: bool = False

    @property
    def protected(self) -> bool:
        """True when something outside the log vouched for it: the site key or the head hash.

        Without either, an intact chain proves only that whoever wrote the log last recomputed
        its hashes; anyone who can write the file can do that.
        """
        return self.mac_checked or self.anchored

    @property
    def label(self) -> str:
        """The outcome's label; an intact log checked without key or anchor is `chain-only`."""
        if self.outcome is Outcome.OK and not self.protected:
            return CHAIN_ONLY
        return self.outcome.label

    @property
    def ok(self) -> bool:
        """True when the outcome is `OK`."""
        return self.outcome is Outcome.OK

    @property
    def exit_code(self) -> int:
        """The CLI exit status for this result."""
        return self.outcome.exit_code

    def summary(self) -> str:
        """Return one line for humans: outcome, path, where, why."""
        where = ""
        if self.line is not None:
            where = f" line {self.line}" + (f" (seq {self.seq})" if self.seq is not None else "")
            where += ":"
        head = f", head {self.head.hash}" if self.head is not None else ""
        auth = (
            " MAC-verified"
            if self.mac_checked
            else (" keyed (MACs unchecked)" if self.keyed else "")
        )
        detail = f" [{self.records} records{head}{auth}]"
        if not self.protected and self.outcome not in (Outcome.DAMAGED, Outcome.ERROR):
            detail += f"; {KEYLESS_NOTE}"
        return f"{self.label.upper()} {self.path}:{where} {self.reason}{detail}"


class _Damage(Exception):
    def __init__(self, reason: str, seq: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.seq = seq


_REQUIRED: dict[str, type] = {
    "v": int,
    "seq": int,
    "ts": str,
    "session_id": str,
    "station_id": str,
    "nurse_id": str,
    "kind": str,
    "payload": dict,
    "prev_hash": str,
    "hash": str,
}
"""Envelope fields every record has, with their JSON type (`mono` is checked by version)."""

_KEYED = ("key_id", "prev_mac", "mac")
"""Envelope fields of keyed logs only (strings)."""

_FIELDS = frozenset(_REQUIRED) | frozenset(_KEYED) | {"mono"}


def _shapes() -> dict[tuple[str, ...], tuple[type, ...]]:
    """The member names of a record as written, in canonical order, and their JSON types.

    Keyed and unkeyed, with an integer `mono` (v3; v1 and v2 records with a float `mono` take
    the field-by-field check).
    """
    types: dict[str, type] = {**_REQUIRED, "mono": int, "key_id": str, "prev_mac": str, "mac": str}
    return {
        tuple(names): tuple(types[name] for name in names)
        for names in (sorted({*_REQUIRED, "mono"}), sorted(_FIELDS))
    }


_SHAPES = _shapes()
"""`_envelope_problem`'s fast path: a record whose members and types are exactly these."""

_HASH_MEMBER = len(b'{"hash":"') + 64 + len(b'",')
"""Length of a line's first member, `{"hash":"<64 hex>",`: `hash` sorts before every other field."""


def _envelope_problem(obj: dict[str, Any]) -> str | None:
    """What is wrong with a parsed record's envelope (the checks `AuditRecord` makes), or None.

    The common case, a record as the writer makes it (its members in canonical order, each of
    its JSON type), is one lookup and one comparison of the members' types; anything else takes
    the field-by-field expression, and only a bad record pays for finding which field is wrong.
    `hash` and `prev_hash` need no format check here: each is compared with a digest this
    verifier computes.
    """
    if (
        _SHAPES.get(tuple(obj)) == tuple(map(type, obj.values()))
        and obj["v"] >= 1
        and obj["seq"] >= 0
        and obj["mono"] >= 0
    ):
        return None  # a record as written: its members in canonical order, each of its type
    return _field_problem(obj)


def _field_problem(obj: dict[str, Any]) -> str | None:
    """`_envelope_problem` field by field, for a record in any order or shape."""
    get = obj.get
    v, seq, mono = get("v"), get("seq"), get("mono")
    if (
        type(v) is int
        and type(seq) is int
        and type(get("ts")) is str
        and type(get("session_id")) is str
        and type(get("station_id")) is str
        and type(get("nurse_id")) is str
        and type(get("kind")) is str
        and type(get("payload")) is dict
        and type(get("prev_hash")) is str
        and type(get("hash")) is str
        and v >= 1
        and seq >= 0
        and (type(mono) is int and mono >= 0 if v >= 3 else type(mono) in (int, float))
        and obj.keys() <= _FIELDS
        and type(get("key_id", "")) is str
        and type(get("prev_mac", "")) is str
        and type(get("mac", "")) is str
    ):
        return None
    return _which_problem(obj)


def _which_problem(obj: dict[str, Any]) -> str:
    for name, kind in _REQUIRED.items():
        value = obj.get(name)
        if type(value) is not kind:
            what = "missing" if name not in obj else f"not a {kind.__name__}"
            return f"malformed record: {name}: {what}"
    extra = obj.keys() - _FIELDS
    if extra:
        return f"malformed record: {sorted(extra)[0]}: unexpected field"
    if obj["v"] < 1 or obj["seq"] < 0:
        return "malformed record: v or seq below its minimum"
    mono = obj.get("mono")
    if obj["v"] >= 3 and (type(mono) is not int or mono < 0):
        return "malformed record: mono: not whole milliseconds (envelope v3)"
    if type(mono) not in (int, float):
        return "malformed record: mono: not a number"
    return "malformed record: key_id, prev_mac or mac: not a str"


class _Checker:
    """Walks the records of one log, keeping the chain state.

    Records of envelope v2 and v3 are checked on their stored bytes: the hash covers the line
    with its first member (`"hash"`) cut out, the MAC the line with `"hash"` and `"mac"` cut
    out (both members sit at fixed places because keys are sorted), so nothing is re-encoded.
    A line whose seal members are not where the canonical form puts them is damaged. v1
    records (whose hash left the MAC out) are re-encoded as before.

    With `every_mac` False, the MAC of a v2/v3 record is checked only for the last intact
    record (`last_mac_holds`), and every record's `key_id` and `prev_mac` link as it comes.
    That authenticates every record before it: each v2/v3 hash covers the record's MAC and
    `prev_hash`, so the last record's MAC covers, through the checked hashes, the bytes of every
    earlier record; a record changed without the key changes the last record's `prev_hash`
    chain and its MAC fails (unless SHA-256 collides). When it fails, the log is walked again
    with every MAC checked, to name the first record rewritten. A caller that takes records as
    they come (a sink) checks every MAC, since each record is vouched for before the last.
    """

    def __init__(self, key: bytes | None, *, every_mac: bool = True) -> None:
        self.key = key
        self.key_id = key_id(key) if key is not None else None
        self.records = 0
        self._hash = GENESIS  # the last intact record's hash and MAC (GENESIS before the first)
        self._mac: str | None = GENESIS
        self.session_id: str | None = None
        self.keyed = False
        self.log_key_id: str | None = None
        self.closed = False
        self._members: dict[tuple[str | None, str], bytes] = {}
        self._hmac = hmac.new(key, digestmod="sha256") if key is not None else None
        self._every_mac = every_mac
        self._unchecked_mac: tuple[bytes, str] | None = None  # the last record's sealed, mac

    def last_mac_holds(self) -> bool:
        """Check the MAC left for the end (`every_mac` False); True when none is left."""
        if self._unchecked_mac is None or self._hmac is None:
            return True
        sealed, expected = self._unchecked_mac
        return self._mac_matches(sealed, expected)

    def _mac_matches(self, sealed: bytes, expected: str) -> bool:
        assert self._hmac is not None
        mac = self._hmac.copy()  # the key's pads are hashed once per log, not per record
        mac.update(sealed)
        return hmac.compare_digest(mac.hexdigest(), expected)

    @property
    def head(self) -> SessionHead | None:
        """The head after the last intact record (None before the first)."""
        if not self.records:
            return None
        return SessionHead(self.records - 1, self._hash, self._mac if self.keyed else None)

    def check_line(self, body: bytes) -> dict[str, Any]:
        """Check one line (without its newline); return its parsed record."""
        obj = _parse_line(body)
        if not isinstance(obj, dict):
            raise _Damage("line is not a JSON object")
        try:
            self._check_record(obj, body)
        except _Damage as exc:  # the record is not changed by the checks
            exc.seq = obj.get("seq") if type(obj.get("seq")) is int else None
            raise
        return obj

    def _check_record(self, obj: dict[str, Any], body: bytes) -> None:
        problem = _envelope_problem(obj)
        if problem is not None:
            raise _Damage(problem)
        v = obj["v"]
        if v not in READABLE_VERSIONS:
            raise _Damage(f"unknown record format v={v}")
        expected = self.records
        if obj["seq"] != expected:
            what = "duplicated or reordered record" if obj["seq"] < expected else "missing record"
            raise _Damage(f"{what}: seq {obj['seq']} where {expected} was expected")
        if expected == 0:
            self._check_first(obj)
        elif obj["session_id"] != self.session_id:
            raise _Damage(f"record of another session ({obj['session_id']!r})")
        if obj["prev_hash"] != self._hash:
            raise _Damage("prev_hash does not link to the previous record (inserted or removed)")
        keyed = self.keyed
        if ("mac" in obj) is not keyed or ("key_id" in obj, "prev_mac" in obj) != (keyed, keyed):
            raise _Damage("MAC fields missing or present inconsistently with the first record")
        if v == 1:
            hashed, sealed = self._bodies_v1(obj, body)
        else:
            hashed, sealed = self._bodies(obj, body)
        if hashlib.sha256(hashed).hexdigest() != obj["hash"]:
            raise _Damage("hash does not match the record's content (record altered)")
        if keyed:  # (inline: this runs for every record)
            if obj["key_id"] != self.log_key_id:
                raise _Damage("key_id changed within the log")
            if obj["prev_mac"] != self._mac:
                raise _Damage("prev_mac does not link to the previous record")
            if self._hmac is not None:
                if self._every_mac or v == 1:
                    if not self._mac_matches(sealed, obj["mac"]):
                        raise _Damage("MAC does not match (record rewritten without the key)")
                else:
                    self._unchecked_mac = (sealed, obj["mac"])
            self._mac = obj["mac"]
        if obj["kind"] == CLOSE_KIND:
            self.closed = True
        self.records += 1
        self._hash = obj["hash"]

    def _bodies(self, obj: dict[str, Any], body: bytes) -> tuple[bytes, bytes]:
        """The v2/v3 hashed and sealed bytes, cut from the stored line."""
        kind = obj["kind"]
        members = self._members.get((obj.get("key_id"), kind))
        if members is None:  # the encoded key_id and kind members, once per log and kind
            members = b'"kind":' + encode_basestring(kind).encode("utf-8") + b","
            if self.keyed:
                key = encode_basestring(obj["key_id"]).encode("utf-8")
                members = b'"key_id":' + key + b"," + members
            self._members[(obj.get("key_id"), kind)] = members
        start = _HASH_MEMBER + len(members)  # where a keyed line's mac member starts
        if not (
            body.startswith(b'{"hash":"' + obj["hash"].encode("utf-8") + b'",')
            and body.startswith(members, _HASH_MEMBER)
        ):
            raise _Damage("line is not in canonical form (seal fields out of place)")
        hashed = b"{" + body[_HASH_MEMBER:]
        if not self.keyed:
            return hashed, hashed
        mac = obj["mac"]
        if mac.isascii() and mac.isalnum():  # hex digits encode as themselves
            mac_member = b'"mac":"' + mac.encode("ascii") + b'",'
        else:
            mac_member = b'"mac":' + encode_basestring(mac).encode("utf-8") + b","
        if not body.startswith(mac_member, start):
            raise _Damage("line is not in canonical form (seal fields out of place)")
        return hashed, b"{" + body[_HASH_MEMBER:start] + body[start + len(mac_member) :]

    @staticmethod
    def _bodies_v1(obj: dict[str, Any], body: bytes) -> tuple[bytes, bytes]:
        """v1: re-encode (its hash leaves the MAC out); the line must be canonical."""
        try:
            parts = SealParts(obj)
            hash_member = SealParts.member(obj, "hash")
            mac_member = SealParts.member(obj, "mac")
        except AuditFormatError as exc:
            raise _Damage(str(exc)) from exc
        if parts.line(hash_member, mac_member) != body:
            raise _Damage("line is not in canonical form (bytes altered)")
        sealed = parts.sealed()
        return sealed, sealed

    def _check_first(self, obj: dict[str, Any]) -> None:
        if obj["kind"] != "log_opened":
            raise _Damage(f"first record is {obj['kind']!r}, not 'log_opened'")
        self.session_id = obj["session_id"]
        self.keyed = obj.get("mac") is not None
        self.log_key_id = obj.get("key_id")
        if self.key is not None and not self.keyed:
            raise _Damage("a key was supplied but the log carries no MACs (stripped or unkeyed)")
        if self.key is not None and self.log_key_id != self.key_id:
            raise _Damage(
                f"log was signed with key {self.log_key_id}, not the supplied key {self.key_id} "
                "(wrong key)"
            )


def _check(
    checker: _Checker, raw: bytes
) -> tuple[dict[str, Any], None] | tuple[None, tuple[Outcome, str, int | None]]:
    """Check one line: its record, or what is wrong with it."""
    if checker.closed:
        return None, (Outcome.DAMAGED, "data after the session_closed record", None)
    if not raw.endswith(b"\n"):
        return None, (Outcome.TORN_TAIL, f"last line is incomplete ({len(raw)} bytes)", None)
    try:
        return checker.check_line(raw[:-1]), None
    except _Damage as damage:
        return None, (Outcome.DAMAGED, damage.reason, damage.seq)


def _check_anchor(expect_head: str) -> str:
    anchor = expect_head.replace(" ", "").strip().lower()
    if len(anchor) < MIN_ANCHOR_DIGITS or len(anchor) > 64 or not _HEX.fullmatch(anchor):
        raise ValueError(
            f"expected head must be {MIN_ANCHOR_DIGITS}–64 hex digits, got {expect_head!r}"
        )
    return anchor


class LineSink(Protocol):
    """Takes the lines of a log as `verify_log` walks it (for a single-pass tolerant read)."""

    def intact(self, line: int, record: AuditRecord, raw: bytes) -> None:
        """A line the chain vouches for, with its record and its bytes as stored."""

    def unchecked(self, line: int, raw: bytes) -> None:
        """A line at or after the first damage (or a torn tail): not vouched for."""


def verify_log(
    path: str | os.PathLike[str], key: bytes | None = None, expect_head: str | None = None
) -> VerifyResult:
    """Verify one session log.

    Args:
        path: the `.jsonl` log.
        key: the site's HMAC key; when given, the log must carry MACs made with it.
        expect_head: the head hash recorded in the chart (all 64 hex digits, or a prefix of at
            least 16); the last intact record's hash must match it.

    Returns:
        The result; it names the first bad line and why.

    Raises:
        ValueError: `expect_head` is not a hex string of acceptable length.
    """
    return walk_log(path, key, expect_head, None)


def walk_log(
    path: str | os.PathLike[str],
    key: bytes | None,
    expect_head: str | None,
    sink: LineSink | None,
    *,
    data: bytes | None = None,
) -> VerifyResult:
    """`verify_log`, handing every line to `sink` as it goes (None: stop at the first damage).

    With a sink the whole file is read once: intact records come back already parsed, and the
    lines from the first damage on are handed over raw, for the caller to read tolerantly.
    With `data` the log's bytes as already read are checked instead of the file at `path`.

    Raises:
        ValueError: `expect_head` is not a hex string of acceptable length.
    """
    anchor = _check_anchor(expect_head) if expect_head is not None else None
    if sink is None and key is not None:  # the MACs through the last record's (`_Checker`)
        result = _walk(Path(path), key, anchor, None, data, every_mac=False)
        if result is not None:
            return result
    result = _walk(Path(path), key, anchor, sink, data, every_mac=True)
    assert result is not None
    return result


def _walk(
    log: Path,
    key: bytes | None,
    anchor: str | None,
    sink: LineSink | None,
    data: bytes | None,
    *,
    every_mac: bool,
) -> VerifyResult | None:
    """One walk of `walk_log`; None if the last record's MAC fails (`every_mac` False)."""
    checker = _Checker(key, every_mac=every_mac)
    good_bytes = 0
    line_no = 0
    bad: tuple[Outcome, str, int | None] | None = None
    try:
        with io.BytesIO(data) if data is not None else log.open("rb") as stream:
            for raw in stream:
                line_no += 1
                record, bad = _check(checker, raw)
                if record is not None:
                    good_bytes += len(raw)
                    if sink is not None:
                        sink.intact(line_no, checked_record(record), raw)
                    continue
                if sink is not None:
                    sink.unchecked(line_no, raw)
                    for extra, rest in enumerate(stream, start=line_no + 1):
                        sink.unchecked(extra, rest)
                break
    except OSError as exc:
        return VerifyResult(log, Outcome.ERROR, f"cannot read: {exc.strerror or exc}")
    if not checker.last_mac_holds():
        return None

    def result(outcome: Outcome, reason: str, line: int | None, seq: int | None) -> VerifyResult:
        return VerifyResult(
            log,
            outcome,
            reason,
            records=checker.records,
            line=line,
            seq=seq,
            head=checker.head,
            session_id=checker.session_id,
            keyed=checker.keyed,
            mac_checked=checker.keyed and key is not None,
            closed=checker.closed,
            good_bytes=good_bytes,
            anchored=anchor is not None and outcome is not Outcome.DAMAGED,
        )

    if bad is not None and bad[0] is Outcome.DAMAGED:
        return result(bad[0], bad[1], line_no, bad[2])
    if anchor is not None:
        last = checker.head.hash if checker.head is not None else None
        if last is None or not last.startswith(anchor):
            return result(
                Outcome.DAMAGED,
                f"head {last or '(no records)'} does not match the expected head {anchor} "
                "(tail removed, log extended or replaced)",
                line_no if line_no else None,
                checker.head.seq if checker.head is not None else None,
            )
    if bad is not None:
        return result(bad[0], bad[1], line_no, bad[2])
    if checker.records == 0:
        return result(Outcome.UNFINISHED, "log is empty", None, None)
    if not checker.closed:
        return result(
            Outcome.UNFINISHED, "no session_closed record (session not finished)", None, None
        )
    return result(Outcome.OK, "intact and closed", None, None)
