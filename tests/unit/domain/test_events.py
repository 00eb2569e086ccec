"""Audit events: every kind round-trips through JSON; replay reproduces a session byte for byte."""

from __future__ import annotations

import typing

import pytest
from pydantic import ValidationError

from tests.support.plans import at
from titrator.domain.decisions import OverrideReason
from titrator.domain.events import (
    INPUT_KINDS,
    AuditEvent,
    SessionOpened,
    event_json,
    parse_event,
)
from titrator.domain.replay import replay

from .engine_helpers import Driver


def scripted_session() -> list[AuditEvent]:
    d = Driver()
    d.start()
    d.vitals(15)
    d.vitals(30)
    d.accept(30)
    d.feed(d.session.record_symptoms(["flushing"], at(40)))
    d.accept(40)
    d.feed(d.session.record_symptoms([], at(55)))
    d.vitals(60)
    d.tick(70)
    d.accept(70)
    d.feed(d.session.override(OverrideReason.PRESCRIBER_ORDER, at(90), "Dr B"))
    d.feed(d.session.record_lot("LOT-2", at(95)))
    d.feed(d.session.stop("end", at(100)))
    return [event for decision in d.log for event in decision.events]


def test_every_event_round_trips_through_json() -> None:
    events = scripted_session()
    kinds = {e.kind for e in events}
    assert len(kinds) > 15
    for event in events:
        text = event_json(event)
        assert parse_event(text) == event
        assert event_json(parse_event(text)) == text


def test_every_event_kind_is_versioned_and_frozen() -> None:
    union = typing.get_args(typing.get_args(AuditEvent)[0])
    kinds = [typing.get_args(cls.model_fields["kind"].annotation)[0] for cls in union]
    assert len(kinds) == len(set(kinds))
    assert set(kinds) >= INPUT_KINDS
    for cls in union:
        assert cls.model_config.get("frozen") is True
        assert cls.model_config.get("extra") == "forbid"
        assert "schema_version" in cls.model_fields


def test_unknown_kind_or_extra_key_is_refused() -> None:
    with pytest.raises(ValidationError):
        parse_event('{"kind": "made_up", "at": {"wall_utc": "2026-01-01T00:00:00Z", "mono_ms": 1}}')
    good = event_json(scripted_session()[1])
    with pytest.raises(ValidationError):
        parse_event(good[:-1] + ', "extra": 1}')


def test_replay_reproduces_every_decision_byte_for_byte() -> None:
    events = scripted_session()
    text = [event_json(e) for e in events]
    parsed = [parse_event(line) for line in text]
    result = replay(parsed)
    assert result.ok, result.mismatch
    again = [event_json(e) for decision in result.decisions for e in decision.events]
    assert again == text
    assert result.session.state.value == "stopped"


def test_replay_detects_an_altered_output() -> None:
    events = scripted_session()
    index = next(i for i, e in enumerate(events) if e.kind == "rate_changed")
    altered = events[index].model_copy(update={"cause": "edited"})
    result = replay([*events[:index], altered, *events[index + 1 :]])
    assert not result.ok
    assert "rate_changed" in (result.mismatch or "")


def test_replay_needs_the_opening_event() -> None:
    events = scripted_session()
    assert isinstance(events[0], SessionOpened)
    with pytest.raises(ValueError, match="session_opened"):
        replay(events[1:])
