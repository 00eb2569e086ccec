"""Contract with the session engine's event schema (`titrator.domain.events`): its events are
appended as they are, its `session_closed` event closes the log, and `read_audit` gives the
same models back through the engine's own TypeAdapter."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from titrator.audit import AuditWriter, read_audit, verify_log
from titrator.domain.clock import Instant
from titrator.domain.events import AUDIT_EVENT_ADAPTER, SessionClosed, Tick
from titrator.shell.clocks import SystemClock


def test_engine_events_round_trip_through_the_log(tmp_path: Path) -> None:
    at = Instant(wall_utc=datetime(2025, 1, 31, 9, 0, tzinfo=UTC), mono_ms=5_000)
    tick = Tick(at=at)
    closed = SessionClosed(at=at.after_ms(60_000), volume_ml=Decimal("250.0"))
    writer = AuditWriter.create(
        "engine-1",
        station_id="bay-3",
        nurse_id="rn-1",
        data_dir=tmp_path,
        min_free_bytes=0,
        clock=SystemClock(),
    )
    # The shell stamps each record with the event's own instant.
    writer.append(tick, now=tick.at.wall_utc, mono_ms=tick.at.mono_ms)
    head = writer.close(closed, now=closed.at.wall_utc, mono_ms=closed.at.mono_ms)
    assert verify_log(writer.path, expect_head=head.hash).ok
    entries = read_audit(writer.path, AUDIT_EVENT_ADAPTER)
    assert [e.event for e in entries] == [None, tick, closed]
    assert entries[-1].record.ts == "2025-01-31T09:01:00.000000+00:00"
