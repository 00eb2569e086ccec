"""`verify_log` with a key checks the last intact record's MAC and finds what every MAC finds.

Each v2/v3 record's hash covers its MAC and `prev_hash`, so once the hash chain holds, the last
intact record's MAC covers every earlier record; only when it fails is the log walked again
with every MAC checked, to name the first record rewritten. These tests compare that with the
walk that checks every record's MAC, result field by field, over keyed logs damaged every way
the mutation suite knows (and generated combinations): records rewritten and re-chained
without the key from any record on, MACs changed, records removed, lines cut, the tail cut.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.audit import RecordedLog, edit_payload, rechain, write_log
from titrator.audit import Outcome, key_id, verify_log
from titrator.audit.canonical import canonical_json, hashed_body, record_hash
from titrator.audit.verify import _walk

ATTACKER = b"k" * 32


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> RecordedLog:
    return write_log(tmp_path_factory.mktemp("keyed"), keyed=True, n_events=7)


def _both(tmp_path: Path, log: RecordedLog, data: bytes, *, anchored: bool = False) -> Outcome:
    path = tmp_path / "log.jsonl"
    path.write_bytes(data)
    assert log.key is not None
    anchor = log.head.hash if anchored else None
    fast = verify_log(path, key=log.key, expect_head=anchor)
    every = _walk(path, log.key, anchor, None, None, every_mac=True)
    assert fast == every
    return fast.outcome


def _forged(log: RecordedLog, edit: int, cut: int | None = None, *, keep_macs: bool) -> bytes:
    """Record `edit` rewritten and the rest re-chained without the site's key.

    `keep_macs`: every hash is recomputed so the chain links, and each record keeps the MAC it
    had (the forger cannot make new ones); otherwise every MAC is made with another key.
    """
    assert log.key is not None
    lines = log.lines
    lines[edit] = edit_payload(lines[edit], text="edited")
    if not keep_macs:
        forged = lines[:edit] + rechain(lines, key=ATTACKER, key_id=key_id(log.key))[edit:]
        return b"".join(forged[:cut])
    prev_hash = json.loads(lines[edit - 1])["hash"]
    for index in range(edit, len(lines)):
        record = json.loads(lines[index])
        record["prev_hash"] = prev_hash
        record["hash"] = prev_hash = record_hash(hashed_body(record))
        lines[index] = canonical_json(record) + b"\n"
    return b"".join(lines[:cut])


def test_a_clean_log_is_mac_verified_through_its_last_record(
    tmp_path: Path, log: RecordedLog
) -> None:
    assert _both(tmp_path, log, log.data, anchored=True) is Outcome.OK
    result = verify_log(log.path, key=log.key)
    assert result.mac_checked
    assert result.head == log.head


def test_a_record_re_chained_without_the_key_is_named_wherever_it_is(
    tmp_path: Path, log: RecordedLog
) -> None:
    for edit in range(1, len(log.lines)):
        for keep_macs in (True, False):
            assert _both(tmp_path, log, _forged(log, edit, keep_macs=keep_macs)) is Outcome.DAMAGED
            result = verify_log(tmp_path / "log.jsonl", key=log.key)
            assert result.line == edit + 1
            if keep_macs:  # the chain links: only the MACs show the rewrite
                assert "MAC does not match" in result.reason


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edit=st.integers(min_value=1, max_value=8),
    keep_macs=st.booleans(),
    cut=st.none() | st.integers(min_value=1, max_value=9),
    flip=st.none() | st.integers(min_value=0, max_value=10_000),
    drop=st.none() | st.integers(min_value=0, max_value=8),
    anchored=st.booleans(),
)
def test_any_damage_gives_the_result_every_mac_gives(
    tmp_path: Path,
    log: RecordedLog,
    edit: int,
    keep_macs: bool,
    cut: int | None,
    flip: int | None,
    drop: int | None,
    anchored: bool,
) -> None:
    forged = _forged(log, edit, cut, keep_macs=keep_macs) if edit < len(log.lines) else log.data
    data = bytearray(forged)
    if flip is not None:
        data[flip % len(data)] ^= 0x20
    lines = bytes(data).splitlines(keepends=True)
    if drop is not None and lines:
        del lines[drop % len(lines)]
    _both(tmp_path, log, b"".join(lines), anchored=anchored)
