"""`SealParts` gives byte for byte what `sealed_body`, `hashed_body` and `canonical_json` give.

The verifier encodes each record's members once through `SealParts` instead of three full
encodings (the writer builds its lines in record order: `test_chain_encoding.py`). These tests
prove the cut is exact over every line of the committed audit corpus and of the review logs
(v1 and v2 records, keyed and unkeyed) and over generated records, whose top-level keys are
drawn to fall before, between and after the seal fields.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from titrator.audit.canonical import SealParts, canonical_json, hashed_body, sealed_body
from titrator.audit.errors import AuditFormatError

DATA = Path(__file__).resolve().parents[2] / "data"
CORPORA = (DATA / "audit", DATA / "audit-v2", DATA / "review" / "logs")  # v3, v2, v1

_text = st.text(st.characters(codec="utf-8"), max_size=12)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
# keys near the cut points ("hash", "mac") as well as arbitrary ones
_keys = _text | st.sampled_from(
    ["h", "has", "hash0", "hasi", "hb", "ma", "mab", "mac0", "macro", "mad", "", "v", "seq"]
)
_records = st.dictionaries(_keys, _values, max_size=8)
_seal = st.none() | st.text(alphabet="0123456789abcdef", min_size=64, max_size=64) | _values


def _check(record: dict[str, Any]) -> None:
    parts = SealParts(record)
    mac = SealParts.member(record, "mac")
    assert parts.sealed() == sealed_body(record)
    assert parts.hashed(record.get("v"), mac) == hashed_body(record)
    assert parts.line(SealParts.member(record, "hash"), mac) == canonical_json(record)


def _corpus_lines() -> list[bytes]:
    lines = [
        line
        for corpus in CORPORA
        for path in sorted(corpus.glob("*.jsonl"))
        for line in path.read_bytes().splitlines()
        if line
    ]
    assert len(lines) > 100
    return lines


def test_every_corpus_line_is_rebuilt_exactly() -> None:
    versions = set()
    for line in _corpus_lines():
        record = json.loads(line)
        versions.add(record["v"])
        _check(record)
        parts = SealParts(record)
        rebuilt = parts.line(SealParts.member(record, "hash"), SealParts.member(record, "mac"))
        assert rebuilt == line
    assert versions == {1, 2, 3}


@given(
    record=_records,
    v=st.sampled_from([1, 2, True, "1", None]),
    hash_=st.none() | _seal,
    mac=st.none() | _seal,
)
def test_generated_records_are_rebuilt_exactly(
    record: dict[str, Any], v: object, hash_: object, mac: object
) -> None:
    record = dict(record)
    if v is not None:
        record["v"] = v
    if hash_ is not None:
        record["hash"] = hash_
    if mac is not None:
        record["mac"] = mac
    _check(record)


@pytest.mark.parametrize(
    ("record", "problem"),
    [({"a": float("nan")}, "cannot be recorded"), ({1: "x"}, "not a string")],
)
def test_bad_records_are_refused_like_canonical_json(record: dict[Any, Any], problem: str) -> None:
    with pytest.raises(AuditFormatError, match=problem):
        SealParts(record)
