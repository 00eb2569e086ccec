"""Hypothesis: any sequence of JSON-compatible event payloads produces a log that verifies and
reads back exactly."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from tests.support.audit import StepClock, make_key
from titrator.audit import AuditFormatError, AuditWriter, read_records, verify_log

_text = st.text(st.characters(codec="utf-8"), max_size=12)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
    | _text
    | st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str)
)
_keys = st.text(st.characters(codec="utf-8", max_codepoint=0xFFFF), max_size=12)
"""Keys inside the Basic Multilingual Plane, where code-point and UTF-16 order agree."""
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=8,
)
_payloads = st.dictionaries(_keys.filter(lambda k: k != "kind"), _values, max_size=4)
_kinds = st.sampled_from(["vitals_recorded", "rate_changed", "nurse_decision", "pump_status"])
_events = st.lists(st.tuples(_kinds, _payloads), min_size=0, max_size=12)


@given(events=_events, keyed=st.booleans(), nurse=_text.filter(bool))
def test_random_event_sequences_produce_logs_that_verify(
    events: list[tuple[str, dict[str, Any]]], keyed: bool, nurse: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        key_file, key = make_key(base / "keys") if keyed else (None, None)
        writer = AuditWriter.create(
            "prop",
            station_id="bay",
            nurse_id=nurse,
            data_dir=base / "logs",
            key_file=key_file,
            clock=StepClock(),
            min_free_bytes=0,
            sync_each_record=False,
        )
        for kind, payload in events:
            writer.append({"kind": kind, **payload})
        head = writer.close()
        result = verify_log(writer.path, key=key, expect_head=head.hash)
        assert result.ok, result.summary()
        assert result.records == len(events) + 2
        records = read_records(writer.path)[1:-1]
        assert [(r.kind, r.payload) for r in records] == events
        for line in writer.path.read_bytes().splitlines():
            assert rfc8785.dumps(json.loads(line)) == line  # v3: exactly RFC 8785


_not_jcs = (
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: {"x": f})
    | st.integers(min_value=2**53).map(lambda i: {"x": [1, {"y": i}]})
    | st.integers(max_value=-(2**53)).map(lambda i: {"x": i})
    | st.characters(min_codepoint=0x10000, codec="utf-8").map(lambda c: {"x": {c: 1}})
)


@given(bad=_not_jcs, keyed=st.booleans())
def test_values_that_rfc_8785_would_write_differently_are_refused_and_leave_no_gap(
    bad: dict[str, Any], keyed: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        key_file, key = make_key(base / "keys") if keyed else (None, None)
        writer = AuditWriter.create(
            "prop",
            station_id="bay",
            nurse_id="rn",
            data_dir=base / "logs",
            key_file=key_file,
            clock=StepClock(),
            min_free_bytes=0,
            sync_each_record=False,
        )
        with pytest.raises(AuditFormatError, match="payload"):
            writer.append({"kind": "vitals_recorded", **bad})
        writer.append({"kind": "vitals_recorded", "x": 1})
        head = writer.close()
        assert verify_log(writer.path, key=key, expect_head=head.hash).ok
        assert [r.seq for r in read_records(writer.path)] == [0, 1, 2]
