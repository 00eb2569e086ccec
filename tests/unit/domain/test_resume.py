"""`session_resumed`: durations continue on the new clock; the pump is uncertain until read."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tests.support.clinical import NORMAL
from tests.support.plans import at
from titrator.domain.clock import Instant
from titrator.domain.decisions import AlarmCode, LinkState, PromptKind, PumpCommandKind
from titrator.domain.events import (
    AuditEvent,
    ClockRebased,
    PumpOutcome,
    PumpOutcomeUnknown,
    PumpStatusRead,
    SessionResumed,
)
from titrator.domain.replay import replay
from titrator.domain.session.resume import MONOTONIC_FIELDS
from titrator.domain.session.state import SessionData

from .engine_helpers import Driver

NEW_BASE_MS = 2_000


def restarted(before: Instant, down_min: float, wall_jump: timedelta = timedelta()) -> Instant:
    """The first instant of a new process, `down_min` after `before` (fresh monotonic clock)."""
    wall = before.wall_utc + timedelta(minutes=down_min) + wall_jump
    return Instant(wall_utc=wall, mono_ms=NEW_BASE_MS)


def events_of(driver: Driver) -> list[AuditEvent]:
    return [event for decision in driver.log for event in decision.events]


def resume(driver: Driver, now: Instant) -> None:
    """Resume and answer the status read truthfully (a pump at the engine's rate)."""
    decision = driver.feed(driver.session.resume(now, "test restart"), confirm=False)
    assert [c.kind for c in decision.commands] == [PumpCommandKind.READ_STATUS]
    assert driver.session.link is LinkState.UNCERTAIN
    rate = driver.session.rate_ml_per_h
    status = PumpStatusRead(at=now, running=rate > 0, rate_ml_per_h=rate)
    driver.feed(driver.session.handle(status))
    assert driver.session.link.value == "ok"


def test_the_dwell_counts_the_downtime_and_continues_on_the_new_clock() -> None:
    d = Driver()
    d.start()
    d.vitals(15)  # last input before the crash, at 15 min
    now = restarted(at(15), down_min=10)  # back at 25 min, monotonic clock restarted
    resume(d, now)
    rebased = next(e for e in events_of(d) if isinstance(e, ClockRebased))
    assert rebased.downtime_ms == 10 * 60_000
    assert d.session.state.value == "vitals_due", "a vitals set is due after a restart"
    d.feed(d.session.record_vitals(NORMAL, now.after_ms(60_000)))  # 26 min
    before = d.feed(d.session.tick(now.after_ms(4 * 60_000 - 1)))  # just before 30 min
    assert before.prompt is not None
    assert before.prompt.kind is not PromptKind.STEP_UP
    assert before.due.step_up_ms == NEW_BASE_MS + 5 * 60_000, "due times on the new clock"
    due = d.feed(d.session.tick(now.after_ms(5 * 60_000)))  # 30 min since the start
    assert due.prompt is not None
    assert due.prompt.kind is PromptKind.STEP_UP
    assert replay(events_of(d)).ok


def test_a_wall_clock_that_went_backwards_counts_no_downtime() -> None:
    d = Driver()
    d.start()
    d.vitals(15)
    now = restarted(at(15), down_min=10, wall_jump=timedelta(hours=-1))
    resume(d, now)
    rebased = next(e for e in events_of(d) if isinstance(e, ClockRebased))
    assert rebased.downtime_ms == 0
    assert rebased.wall_gap_ms < 0
    d.feed(d.session.record_vitals(NORMAL, now))
    # 15 min of dwell remain in full: the restart never shortens a dwell.
    early = d.feed(d.session.tick(now.after_ms(15 * 60_000 - 1)))
    assert early.prompt is not None
    assert early.prompt.kind is not PromptKind.STEP_UP


def test_downtime_is_capped_by_a_monotonic_clock_that_kept_counting() -> None:
    d = Driver()
    d.start()
    d.vitals(15)
    last = at(15)
    # Same boot: the monotonic clock moved 5 min, the wall clock 65 min (stepped forward).
    now = Instant(wall_utc=last.wall_utc + timedelta(minutes=65), mono_ms=last.mono_ms + 5 * 60_000)
    d.feed(d.session.resume(now), confirm=False)
    rebased = next(e for e in events_of(d) if isinstance(e, ClockRebased))
    assert rebased.downtime_ms == 5 * 60_000
    assert rebased.shift_ms == 0


def test_a_command_without_an_outcome_is_abandoned_and_never_resent() -> None:
    d = Driver()
    d.start()
    d.vitals(29)
    d.tick(30)
    step_up = d.feed(d.session.accept(at(30)), confirm=False)  # crash before the outcome
    [command] = step_up.commands
    assert command.kind is PumpCommandKind.SET_RATE
    now = restarted(at(30), down_min=2)
    decision = d.feed(d.session.resume(now), confirm=False)
    abandoned = [e for e in decision.events if isinstance(e, PumpOutcomeUnknown)]
    assert [e.command for e in abandoned] == [command]
    assert [c.kind for c in decision.commands] == [PumpCommandKind.READ_STATUS]
    assert AlarmCode.PUMP_UNCERTAIN in decision.alarms
    # A late outcome for the abandoned command is refused.
    late = d.session.handle(PumpOutcome(at=now, command_id=command.command_id, outcome="confirmed"))
    assert late.refusal is not None
    # The pump never got the increase: the status read shows the old rate.
    status = d.feed(
        d.session.handle(PumpStatusRead(at=now, running=True, rate_ml_per_h=Decimal(35)))
    )
    # titrator follows the slower pump (never re-sends the increase, never asks for it by hand).
    assert AlarmCode.PUMP_RATE_MISMATCH not in status.alarms
    assert status.rate_ml_per_h == 35
    assert status.step == 1
    assert not status.commands
    d.feed(d.session.record_vitals(NORMAL, now.after_ms(60_000)))
    later = d.feed(d.session.tick(now.after_ms(60 * 60_000)))
    assert later.prompt is not None
    assert later.prompt.kind is not PromptKind.STEP_UP
    assert all(c.kind is not PumpCommandKind.SET_RATE for c in later.commands)
    assert replay(events_of(d)).ok


def test_vitals_taken_before_the_restart_allow_no_increase() -> None:
    d = Driver()
    d.start()
    d.vitals(29)
    d.tick(29.5)
    resume(d, restarted(at(29.5), down_min=1))  # 30.5 min: dwell over, vitals 1.5 min old
    prompt = d.session.prompt
    assert prompt is not None
    assert prompt.kind is PromptKind.VITALS_DUE
    assert not prompt.override, "no override on vitals older than the restart"


def test_resume_is_refused_before_the_session_opens_and_replays_exactly() -> None:
    d = Driver()
    refused = d.session.handle(SessionResumed(at=at(0)))
    assert refused.refusal == "the session is not open yet"
    d2 = Driver()
    d2.start()
    d2.vitals(15)
    resume(d2, restarted(at(15), down_min=3))
    resume(d2, restarted(at(18), down_min=1))  # a second restart
    d2.vitals(0)  # the Driver's clock is behind the new base: refused, recorded, replayed
    result = replay(events_of(d2))
    assert result.ok, result.mismatch


def test_every_monotonic_field_is_moved_on_a_resume() -> None:
    # A new `*_ms` field must be classified here on purpose (shifted or not).
    assert set(MONOTONIC_FIELDS) == {
        "rate_started_ms",
        "origin_ms",
        "baseline_ms",
        "last_vitals_ms",
        "paused_until_ms",
        "completed_ms",
        "obs_until_ms",
        "volume_at_ms",
        "last_mono_ms",
        "resumed_ms",
    }
    assert {f for f in SessionData.__dataclass_fields__ if f.endswith("_ms")} == {
        *MONOTONIC_FIELDS,
        "clock_offset_ms",
    }


def test_replay_tolerates_a_record_cut_short_only_at_a_crash_point() -> None:
    d = Driver()
    d.start()
    d.vitals(29)
    d.tick(30)
    d.feed(d.session.accept(at(30)), confirm=False)
    events = events_of(d)
    cut = events[:-1]  # the last output (the pump command's intent) never reached the log
    assert not replay(cut).ok
    result = replay(cut, crash_points={len(cut)})
    assert result.ok, result.mismatch
    [short] = result.cut_short
    assert [e.kind for e in short.missing] == [events[-1].kind]
