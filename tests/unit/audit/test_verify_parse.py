"""The verifier parses a stored line exactly as `json.loads` does.

It calls json's own scanner directly on a line that is one bare JSON value (skipping
`json.loads`'s per-call wrapper) and hands anything else to `json.loads`. These tests compare
the two over every corpus line and over lines damaged in the ways a file can be: bytes
changed, cut or added, whitespace around the value, trailing data, a BOM, invalid UTF-8.
Its envelope check likewise takes a fast path for a record as written; the last test compares
that with the field-by-field check over corpus records with fields changed, removed, added and
reordered.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from titrator.audit.verify import _Damage, _envelope_problem, _field_problem, _parse_line

DATA = Path(__file__).resolve().parents[2] / "data"
LINES = [
    line
    for corpus in (DATA / "audit", DATA / "audit-v2", DATA / "review" / "logs")
    for path in sorted(corpus.glob("*.jsonl"))
    for line in path.read_bytes().splitlines()
    if line
]


def _same(body: bytes) -> None:
    try:
        expected: Any = json.loads(body.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError
        reason = f"not valid JSON: {exc}"
    else:
        got = _parse_line(body)
        assert type(got) is type(expected)
        if isinstance(expected, float) and math.isnan(expected):
            assert math.isnan(got)
        else:
            assert got == expected
        return
    with pytest.raises(_Damage) as damage:
        _parse_line(body)
    assert damage.value.reason == reason


def test_every_corpus_line_parses_as_json_loads_parses_it() -> None:
    assert len(LINES) > 100
    for line in LINES:
        _same(line)


@pytest.mark.parametrize(
    "body",
    [
        b' {"a":1}',
        b'{"a":1} ',
        b'{"a":1}\r',
        b'{"a":1}{"b":2}',
        b'{"a":1}x',
        b"\xef\xbb\xbf{}",
        b'{"a":1',
        b"",
        b"   ",
        b"NaN",
        b'{"a":NaN}',
        b"\xff{}",
        b'"just a string"',
        b"[1,2]",
        b'{"a":1,"a":2}',
    ],
)
def test_odd_lines_parse_or_fail_as_json_loads(body: bytes) -> None:
    _same(body)


@given(
    index=st.integers(min_value=0, max_value=len(LINES) - 1),
    at=st.integers(min_value=0, max_value=2000),
    cut=st.integers(min_value=0, max_value=4),
    insert=st.binary(max_size=4) | st.sampled_from([b" ", b"\t", b"\n", b"}", b'"', b",1"]),
)
def test_damaged_lines_parse_or_fail_as_json_loads(
    index: int, at: int, cut: int, insert: bytes
) -> None:
    line = LINES[index]
    at %= len(line) + 1
    _same(line[:at] + insert + line[at + cut :])


_VALUES = [0, 1, 3, -1, 2.5, -0.5, "x", None, True, {}, [], "0" * 64]
_values = st.sampled_from(_VALUES)


@given(
    index=st.integers(min_value=0, max_value=len(LINES) - 1),
    changes=st.dictionaries(
        st.sampled_from(["v", "seq", "mono", "ts", "kind", "payload", "mac", "key_id", "extra"]),
        _values | st.just(...),
        max_size=3,
    ),
    reverse=st.booleans(),
)
def test_the_envelopes_fast_path_decides_as_the_field_by_field_check(
    index: int, changes: dict[str, Any], reverse: bool
) -> None:
    record = json.loads(LINES[index])
    for name, value in changes.items():
        if value is ...:
            record.pop(name, None)
        else:
            record[name] = value
    if reverse:
        record = dict(reversed(record.items()))
    assert _envelope_problem(record) == _field_problem(record)


@pytest.mark.parametrize("index", [0, 1, -1])
def test_every_single_field_change_is_decided_as_the_field_by_field_check(index: int) -> None:
    versions = set()
    v2 = next(line for line in LINES if line.endswith(b'"v":2}'))
    for line in (LINES[index], v2):
        base = json.loads(line)
        versions.add(base["v"])
        for name in [*base, "extra"]:
            for value in [*_VALUES, ...]:
                record = dict(base)
                if value is ...:
                    record.pop(name, None)
                else:
                    record[name] = value
                assert _envelope_problem(record) == _field_problem(record), (name, value)
    assert 2 in versions
