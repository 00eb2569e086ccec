"""Hypothesis: any sequence of JSON-compatible event payloads produces a log that verifies and
reads back exactly."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.support.audit import StepClock, make_key
from titrator.audit import AuditWriter, read_records, verify_log

_text = st.text(st.characters(codec="utf-8"), max_size=12)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
    | st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_payloads = st.dictionaries(_text.filter(lambda k: k != "kind"), _values, max_size=4)
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
