"""Mutation suite: every flipped byte, deleted, duplicated, swapped, inserted record and every
cut of the tail is detected, and names the first bad line; clean logs never raise an alarm."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.support.audit import RecordedLog, edit_payload, make_key, rechain, write_log
from titrator.audit import Outcome, VerifyResult, key_id, verify_log


@pytest.fixture(scope="module", params=[False, True], ids=["unkeyed", "keyed"])
def log(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> RecordedLog:
    keyed: bool = request.param
    return write_log(tmp_path_factory.mktemp("mut"), keyed=keyed, n_events=7)


@pytest.fixture(scope="module")
def keyed_log(tmp_path_factory: pytest.TempPathFactory) -> RecordedLog:
    return write_log(tmp_path_factory.mktemp("keyed"), keyed=True, n_events=7)


@pytest.fixture(scope="module")
def other_log(tmp_path_factory: pytest.TempPathFactory) -> RecordedLog:
    return write_log(tmp_path_factory.mktemp("other"), keyed=False, session_id="s-0002")


def check(tmp_path: Path, log: RecordedLog, data: bytes, anchored: bool = False) -> VerifyResult:
    scratch = tmp_path / "mutated.jsonl"
    scratch.write_bytes(data)
    return verify_log(scratch, key=log.key, expect_head=log.head.hash if anchored else None)


def line_of(lines: list[bytes], offset: int) -> int:
    end = 0
    for number, line in enumerate(lines, start=1):
        end += len(line)
        if offset < end:
            return number
    raise AssertionError("offset past the end")


def test_a_clean_log_verifies_with_and_without_anchor(tmp_path: Path, log: RecordedLog) -> None:
    for anchored in (False, True):
        result = check(tmp_path, log, log.data, anchored)
        assert result.outcome is Outcome.OK, result.summary()
        assert result.records == len(log.lines) == 9
        assert result.head == log.head
        assert result.mac_checked is (log.key is not None)


@pytest.mark.parametrize("masks", ["low-bit", "random"])
def test_every_flipped_byte_is_detected_at_its_line(
    tmp_path: Path, log: RecordedLog, masks: str
) -> None:
    rng = random.Random(20250131)
    lines = log.lines
    for offset in range(len(log.data)):
        mutated = bytearray(log.data)
        mutated[offset] ^= 0x01 if masks == "low-bit" else rng.randrange(1, 256)
        result = check(tmp_path, log, bytes(mutated))
        assert result.outcome is not Outcome.OK, f"flip at {offset} undetected"
        assert result.line == line_of(lines, offset), (offset, result.summary())
        if offset == len(log.data) - 1:
            assert result.outcome is Outcome.TORN_TAIL  # the final newline is gone
        else:
            assert result.outcome is Outcome.DAMAGED, (offset, result.summary())


def test_every_deleted_record_is_detected(tmp_path: Path, log: RecordedLog) -> None:
    lines = log.lines
    for i in range(len(lines)):
        data = b"".join(lines[:i] + lines[i + 1 :])
        result = check(tmp_path, log, data)
        if i == len(lines) - 1:
            assert result.outcome is Outcome.UNFINISHED  # the closing record is missing
            assert check(tmp_path, log, data, anchored=True).outcome is Outcome.DAMAGED
        else:
            assert result.outcome is Outcome.DAMAGED, i
            assert result.line == i + 1


def test_every_duplicated_record_is_detected(tmp_path: Path, log: RecordedLog) -> None:
    lines = log.lines
    for i in range(len(lines)):
        result = check(tmp_path, log, b"".join([*lines[: i + 1], lines[i], *lines[i + 1 :]]))
        assert result.outcome is Outcome.DAMAGED, i
        assert result.line == i + 2


def test_every_swapped_pair_is_detected(tmp_path: Path, log: RecordedLog) -> None:
    lines = log.lines
    for i in range(len(lines)):
        for j in range(i + 1, len(lines)):
            swapped = list(lines)
            swapped[i], swapped[j] = swapped[j], swapped[i]
            result = check(tmp_path, log, b"".join(swapped))
            assert result.outcome is Outcome.DAMAGED, (i, j)
            assert result.line == i + 1


def test_a_record_inserted_anywhere_is_detected(
    tmp_path: Path, log: RecordedLog, other_log: RecordedLog
) -> None:
    lines = log.lines
    for i in range(len(lines) + 1):
        for foreign in other_log.lines[:3]:
            result = check(tmp_path, log, b"".join([*lines[:i], foreign, *lines[i:]]))
            assert result.outcome is Outcome.DAMAGED, i
            # Another log's first record is a valid start: the mismatch shows on the next line.
            valid_start = i == 0 and foreign == other_log.lines[0] and log.key is None
            assert result.line == (i + 2 if valid_start else i + 1)


def test_the_tail_cut_at_every_offset_is_detected(tmp_path: Path, log: RecordedLog) -> None:
    boundaries = {0}
    end = 0
    for line in log.lines:
        end += len(line)
        boundaries.add(end)
    for cut in range(len(log.data)):
        result = check(tmp_path, log, log.data[:cut])
        if cut in boundaries:
            assert result.outcome is Outcome.UNFINISHED, cut
        else:
            assert result.outcome is Outcome.TORN_TAIL, cut
            assert result.line == line_of(log.lines, cut)
            assert result.good_bytes == max(b for b in boundaries if b < cut)
        anchored = check(tmp_path, log, log.data[:cut], anchored=True)
        assert anchored.outcome is Outcome.DAMAGED, cut


@pytest.mark.parametrize("extra", [b"\n", b'{"seq', b"x" * 3 + b"\n"])
def test_data_after_the_closing_record_is_detected(
    tmp_path: Path, log: RecordedLog, extra: bytes
) -> None:
    result = check(tmp_path, log, log.data + extra)
    assert result.outcome is Outcome.DAMAGED
    assert result.line == len(log.lines) + 1
    assert "after the session_closed" in result.reason


def test_a_re_chained_edit_passes_the_plain_chain_but_not_the_anchor_or_key(
    tmp_path: Path, log: RecordedLog
) -> None:
    lines = log.lines
    lines[4] = edit_payload(lines[4], rate_ml_per_h="45.5")
    forged = b"".join(rechain(lines, strip_mac=True))
    if log.key is None:
        # The known limit of a plain hash chain: only an anchor or a key reveals a rewrite.
        assert check(tmp_path, log, forged).outcome is Outcome.OK
        assert check(tmp_path, log, forged, anchored=True).outcome is Outcome.DAMAGED
    else:
        result = check(tmp_path, log, forged)
        assert result.outcome is Outcome.DAMAGED
        assert result.line == 1
        assert "no MACs" in result.reason


def test_a_keyed_log_re_chained_without_the_key_is_detected_at_the_edit(
    tmp_path: Path, keyed_log: RecordedLog
) -> None:
    log = keyed_log
    assert log.key is not None
    lines = log.lines
    lines[5] = edit_payload(lines[5], text="edited")
    attacker_key = b"k" * 32
    # The forger keeps the site's key id and recomputes every hash and MAC with their own key.
    forged = lines[:5] + rechain(lines, key=attacker_key, key_id=key_id(log.key))[5:]
    result = check(tmp_path, log, b"".join(forged))
    assert result.outcome is Outcome.DAMAGED
    assert result.line == 6
    # Re-signed from the start under the attacker's own key id: reported as a wrong key.
    resigned = rechain(lines, key=attacker_key, key_id=key_id(attacker_key))
    result = check(tmp_path, log, b"".join(resigned))
    assert result.outcome is Outcome.DAMAGED
    assert result.line == 1
    assert "wrong key" in result.reason


def test_a_wrong_key_is_reported_as_such(tmp_path: Path, log: RecordedLog) -> None:
    _, other_key = make_key(tmp_path / "other-keys")
    result = verify_log(log.path, key=other_key)
    assert result.outcome is Outcome.DAMAGED
    assert result.line == 1
    assert ("wrong key" if log.key else "no MACs") in result.reason


def test_a_keyed_log_without_the_key_still_checks_the_hash_chain(
    tmp_path: Path, log: RecordedLog
) -> None:
    result = verify_log(log.path)
    assert result.outcome is Outcome.OK
    assert result.keyed is (log.key is not None)
    assert not result.mac_checked


def test_a_short_anchor_prefix_is_accepted_and_a_malformed_one_refused(log: RecordedLog) -> None:
    assert verify_log(log.path, key=log.key, expect_head=log.head.short()).ok
    assert verify_log(log.path, key=log.key, expect_head=log.head.hash.upper()).ok
    with pytest.raises(ValueError, match="hex digits"):
        verify_log(log.path, key=log.key, expect_head="abc")
    other = "0" * 64
    assert verify_log(log.path, key=log.key, expect_head=other).outcome is Outcome.DAMAGED


def test_a_missing_file_is_an_error_not_damage(tmp_path: Path) -> None:
    result = verify_log(tmp_path / "nope.jsonl")
    assert result.outcome is Outcome.ERROR
    assert result.exit_code == 2
