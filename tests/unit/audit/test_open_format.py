"""Envelope v3 is an open format: every line is RFC 8785, and the verifier hashes stored bytes.

- every line of the committed corpus equals the output of an independent RFC 8785
  implementation (`rfc8785`, Trail of Bits) over its own parsed content;
- a v2 log (float `mono` in seconds), kept as it was written before v3, still verifies against
  its recorded head, and reads back with the same `mono_ms`;
- the verifier checks the hash over the stored bytes with the seal members cut out, so a line
  whose seal members are moved (even with a recomputed hash) is damaged, and so is any changed
  byte after them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import rfc8785

from tests.support.audit import make_key
from titrator.audit import AuditRecord, AuditWriter, read_for_review, read_records, verify_log
from titrator.audit.canonical import FORMAT_VERSION, canonical_json
from titrator.audit.verify import Outcome
from titrator.shell.clocks import ManualClock

DATA = Path(__file__).resolve().parents[2] / "data"
CORPUS = DATA / "audit"
V2_LOG = DATA / "audit-v2" / "uneventful.jsonl"
V2_HEAD = "43338209eaa5e91d3063611353b35ff8b1aeb3dd1137a9ad71c57b5f4e215038"
"""The head of the v2 corpus log as it was committed (46aff53) before envelope v3."""


def _corpus_lines() -> list[tuple[str, bytes]]:
    return [
        (f"{path.name}:{number}", line)
        for path in sorted(CORPUS.glob("*.jsonl"))
        for number, line in enumerate(path.read_bytes().splitlines(), start=1)
    ]


def test_every_corpus_line_is_exactly_rfc_8785_of_its_own_content() -> None:
    lines = _corpus_lines()
    assert len(lines) > 300
    wrong = [where for where, line in lines if rfc8785.dumps(json.loads(line)) != line]
    assert wrong == []
    assert {json.loads(line)["v"] for _, line in lines} == {FORMAT_VERSION} == {3}


def test_every_corpus_mono_is_whole_milliseconds() -> None:
    assert all(type(json.loads(line)["mono"]) is int for _, line in _corpus_lines())


def test_a_v2_log_still_verifies_against_its_recorded_head_and_reads_the_same_times() -> None:
    result = verify_log(V2_LOG, expect_head=V2_HEAD)
    assert result.ok, result.summary()
    records = read_records(V2_LOG)
    assert {r.v for r in records} == {2}
    first = json.loads(V2_LOG.read_bytes().splitlines()[0])
    assert isinstance(first["mono"], float)
    assert records[0].mono_ms == round(first["mono"] * 1000) == 85_800_000


def _written(tmp_path: Path, keyed: bool) -> tuple[Path, bytes | None]:
    key_file, key = make_key(tmp_path / "keys") if keyed else (None, None)
    writer = AuditWriter.create(
        "s-open",
        station_id="bay-1",
        nurse_id="rn-1",
        data_dir=tmp_path / "logs",
        key_file=key_file,
        clock=ManualClock(),
        min_free_bytes=0,
        sync_each_record=False,
    )
    writer.append({"kind": "rate_changed", "rate_ml_per_h": "21.0", "note": "ünïcode \u2028"})
    writer.close()
    return writer.path, key


def _rewrite_last(path: Path, line: bytes) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]) + line + b"\n")


@pytest.mark.parametrize("keyed", [False, True])
def test_written_logs_are_rfc_8785_and_verify(tmp_path: Path, keyed: bool) -> None:
    path, key = _written(tmp_path, keyed)
    for line in path.read_bytes().splitlines():
        assert rfc8785.dumps(json.loads(line)) == line
    assert verify_log(path, key=key).ok


def test_a_line_with_its_hash_moved_is_damaged_even_with_a_recomputed_hash(
    tmp_path: Path,
) -> None:
    path, _ = _written(tmp_path, keyed=False)
    last = json.loads(path.read_bytes().splitlines()[-1])
    body = canonical_json({k: v for k, v in last.items() if k != "hash"})
    # the same hash, recomputed correctly, but written last instead of first
    moved = body[:-1] + b',"hash":"' + hashlib.sha256(body).hexdigest().encode() + b'"}'
    _rewrite_last(path, moved)
    result = verify_log(path)
    assert result.outcome is Outcome.DAMAGED
    assert "canonical form" in result.reason


def test_whitespace_after_the_seal_members_is_a_changed_byte(tmp_path: Path) -> None:
    path, key = _written(tmp_path, keyed=True)
    last = path.read_bytes().splitlines()[-1]
    _rewrite_last(path, last.replace(b'"nurse_id":', b'"nurse_id": ', 1))
    result = verify_log(path, key=key)
    assert result.outcome is Outcome.DAMAGED
    assert "hash does not match" in result.reason


def test_a_float_mono_in_a_v3_record_is_malformed(tmp_path: Path) -> None:
    path, _ = _written(tmp_path, keyed=False)
    last = json.loads(path.read_bytes().splitlines()[-1])
    last["mono"] = last["mono"] / 1000
    body = canonical_json({k: v for k, v in last.items() if k != "hash"})
    last["hash"] = hashlib.sha256(body).hexdigest()
    _rewrite_last(path, canonical_json(last))
    result = verify_log(path)
    assert result.outcome is Outcome.DAMAGED
    assert "mono" in result.reason


@pytest.mark.parametrize(
    "log",
    sorted([*CORPUS.glob("*.jsonl"), V2_LOG, *(DATA / "review" / "logs").glob("*.jsonl")]),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_records_the_verifier_hands_over_equal_validated_records(log: Path) -> None:
    """`checked_record` skips pydantic's validation: it must build the very same records."""
    read = read_for_review(log)
    intact = [record for _, record in read.records[: read.verification.records]]
    validated = read_records(log)[: read.verification.records]
    assert intact == validated
    assert [r.model_fields_set for r in intact] == [r.model_fields_set for r in validated]
    assert [r.model_dump() for r in intact] == [r.model_dump() for r in validated]
    assert all(type(r) is AuditRecord for r in intact)


def test_the_verifiers_envelope_checks_name_every_field_of_the_record_model() -> None:
    """The byte-level verifier checks the envelope itself instead of through `AuditRecord`:
    a field added to one must be added to the other."""
    from titrator.audit import verify

    assert set(AuditRecord.model_fields) == verify._FIELDS
    optional = {n for n, f in AuditRecord.model_fields.items() if not f.is_required()}
    assert optional == set(verify._KEYED)
