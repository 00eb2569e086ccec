"""The writer's lines are byte for byte the canonical encoding of their records.

`HashChain.seal` does not encode a record dict: it writes the record's members straight into
the line in their fixed canonical order (`RECORD_ORDER`), with the payload encoded once for the
sealed body, the hashed body and the line. These tests rebuild every record the slow, obvious
way (a dict of every member, `canonical_json`, `sealed_body`, `hashed_body`, `hmac.new`) and
compare bytes, over generated payloads, kinds and context values (quotes, control and
non-ASCII characters included), keyed and unkeyed, chained over several records.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from titrator.audit.canonical import (
    FORMAT_VERSION,
    GENESIS,
    canonical_json,
    hashed_body,
    sealed_body,
)
from titrator.audit.chain import RECORD_ORDER, HashChain
from titrator.audit.errors import AuditFormatError

_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
_bmp_keys = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"]), max_size=8)
_scalars = (
    st.none() | st.booleans() | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1) | _text
)
_payloads = st.dictionaries(
    _bmp_keys,
    st.recursive(
        _scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_bmp_keys, inner, max_size=3),
        max_leaves=10,
    ),
    max_size=6,
)
_events = st.fixed_dictionaries(
    {
        "event": _text.filter(bool),
        "session_id": _text,
        "station_id": _text,
        "nurse_id": _text,
        "ts": _text,
        "mono": st.integers(min_value=0, max_value=2**53 - 1),
        "payload": _payloads,
    }
)


def _expected(
    event: dict[str, Any], *, seq: int, prev_hash: str, key: bytes | None, prev_mac: str | None
) -> tuple[bytes, str, str | None]:
    record: dict[str, Any] = {
        "v": FORMAT_VERSION,
        "seq": seq,
        "kind": event["event"],
        "prev_hash": prev_hash,
        **{name: event[name] for name in ("session_id", "station_id", "nurse_id", "ts", "mono")},
        "payload": event["payload"],
    }
    mac = None
    if key is not None:
        record["key_id"] = "site-key-1"
        record["prev_mac"] = prev_mac
        mac = hmac.new(key, sealed_body(record), hashlib.sha256).hexdigest()
        record["mac"] = mac
    digest = hashlib.sha256(hashed_body(record)).hexdigest()
    record["hash"] = digest
    return canonical_json(record) + b"\n", digest, mac


@pytest.mark.parametrize("key", [None, b"k" * 32], ids=["unkeyed", "keyed"])
@given(events=st.lists(_events, min_size=1, max_size=4))
def test_sealed_lines_equal_the_canonical_encoding_of_their_records(
    key: bytes | None, events: list[dict[str, Any]]
) -> None:
    chain = HashChain(key=key, key_id="site-key-1" if key else None)
    prev_hash, prev_mac = GENESIS, GENESIS if key else None
    for seq, event in enumerate(events):
        args, kwargs = chain.seal(None, "msg", chain.envelope(None, "msg", dict(event)))
        line, digest, mac = _expected(
            event, seq=seq, prev_hash=prev_hash, key=key, prev_mac=prev_mac
        )
        assert args == (line,)
        assert (kwargs["head"].seq, kwargs["head"].hash, kwargs["head"].mac) == (seq, digest, mac)
        prev_hash, prev_mac = digest, mac
        assert list(json.loads(line)) == [k for k in RECORD_ORDER if k in json.loads(line)]


def test_record_order_is_the_canonical_order() -> None:
    assert list(RECORD_ORDER) == sorted(RECORD_ORDER)


@pytest.mark.parametrize(
    ("field", "value"),
    [("payload", {"x": "\ud800"}), ("nurse_id", "\udfff"), ("event", "k\ud83d")],
)
def test_a_lone_surrogate_is_refused_and_the_chain_does_not_move(field: str, value: object) -> None:
    chain = HashChain(key=None, key_id=None)
    event: dict[str, Any] = {
        "event": "note",
        "session_id": "s",
        "station_id": "st",
        "nurse_id": "rn",
        "ts": "2026-01-05T07:50:00.000000+00:00",
        "mono": 1,
        "payload": {},
    }
    event[field] = value
    with pytest.raises(AuditFormatError, match="cannot be recorded"):
        chain.seal(None, "msg", chain.envelope(None, "msg", event))
    assert (chain.next_seq, chain.prev_hash) == (0, GENESIS)
