"""The head anchor covers the whole last record, its MAC included (format v2).

In format v1 the `hash` covered the record without its `mac`, so the last record's MAC was
covered by nothing: flipping its bits went unnoticed by a check with the head hash but without
the key. In v2 the `mac` is computed first and the `hash` covers it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.audit import RecordedLog, write_log
from titrator.audit import Outcome, verify_log
from titrator.audit.canonical import (
    FORMAT_VERSION,
    canonical_json,
    record_hash,
    record_mac,
    sealed_body,
)

HEX = "0123456789abcdef"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> RecordedLog:
    return write_log(tmp_path_factory.mktemp("anchor"), keyed=True, n_events=5)


def _flip(mac: str, bit: int) -> str:
    """`mac` with one bit of its hex text flipped (still 64 lowercase hex digits)."""
    index, shift = divmod(bit, 4)
    digit = HEX[int(mac[index], 16) ^ (1 << shift)]
    return mac[:index] + digit + mac[index + 1 :]


def test_every_bit_of_the_last_mac_is_covered_by_the_head_anchor(
    keyed: RecordedLog, tmp_path: Path
) -> None:
    lines = keyed.lines
    last = json.loads(lines[-1])
    assert last["hash"] == keyed.head.hash
    detected = 0
    for bit in range(256):  # every bit of the 64 hex digits
        record = dict(last, mac=_flip(last["mac"], bit))
        scratch = tmp_path / "flipped.jsonl"
        scratch.write_bytes(b"".join(lines[:-1]) + canonical_json(record) + b"\n")
        result = verify_log(scratch, key=None, expect_head=keyed.head.hash)
        detected += result.outcome is Outcome.DAMAGED
    assert detected == 256


def test_a_last_mac_flip_is_found_without_the_anchor_or_key_too(
    keyed: RecordedLog, tmp_path: Path
) -> None:
    """The hash itself covers the MAC, so even the plain chain check notices the flip."""
    lines = keyed.lines
    last = json.loads(lines[-1])
    record = dict(last, mac=_flip(last["mac"], 0))
    scratch = tmp_path / "flipped.jsonl"
    scratch.write_bytes(b"".join(lines[:-1]) + canonical_json(record) + b"\n")
    result = verify_log(scratch)
    assert result.outcome is Outcome.DAMAGED
    assert result.line == len(lines)


def test_records_are_written_as_v3_and_the_hash_covers_the_mac(keyed: RecordedLog) -> None:
    assert keyed.key is not None
    for line in keyed.lines:
        record = json.loads(line)
        assert record["v"] == FORMAT_VERSION == 3
        assert type(record["mono"]) is int  # v3: whole milliseconds
        body = sealed_body(record)
        assert record["mac"] == record_mac(keyed.key, body)
        without_hash = canonical_json({k: v for k, v in record.items() if k != "hash"})
        assert record["hash"] == record_hash(without_hash)


def _as_v1(lines: list[bytes], key: bytes) -> list[bytes]:
    """The same records sealed by the v1 rule (hash and MAC over the same bytes)."""
    out: list[bytes] = []
    prev_hash = prev_mac = "0" * 64
    for line in lines:
        record = json.loads(line)
        record.pop("hash")
        record.pop("mac")
        record.update(v=1, prev_hash=prev_hash, prev_mac=prev_mac)
        body = sealed_body(record)
        record["hash"] = prev_hash = record_hash(body)
        record["mac"] = prev_mac = record_mac(key, body)
        out.append(canonical_json(record) + b"\n")
    return out


def test_old_v1_logs_still_verify(keyed: RecordedLog, tmp_path: Path) -> None:
    assert keyed.key is not None
    old = _as_v1(keyed.lines, keyed.key)
    path = tmp_path / "old.jsonl"
    path.write_bytes(b"".join(old))
    head = json.loads(old[-1])["hash"]
    assert verify_log(path, key=keyed.key, expect_head=head).ok
    assert verify_log(path, expect_head=head).ok
