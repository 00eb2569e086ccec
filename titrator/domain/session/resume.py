"""Taking a session over after the program restarted: a new clock base and an uncertain pump.

The monotonic clock starts afresh with the process, so the new process's readings cannot be
compared with the ones the engine remembers. On `session_resumed` the engine moves every
monotonic time it remembers onto the new clock, so that every duration (dwell, pause, vitals
schedule, observation, volume) continues as if the clock had never restarted:

    wall_gap  = resume wall time - wall time of the last recorded input
    downtime  = max(0, wall_gap), and no more than the monotonic clock itself measured when its
                reading did not go back (the machine did not reboot: it is immune to wall-clock
                steps)
    shift     = resume mono - (last mono + downtime)
    every remembered monotonic time t becomes t + shift

The time the program was down therefore counts as elapsed, measured by the wall clock, never
negative. If the wall clock went backwards, no downtime is counted: a dwell or a pause is never
shortened by a restart, only lengthened. A wall clock that jumped forward while the machine was
off cannot be told from real downtime (documented limitation).

Because the patient was not watched while the program was down, no vitals set taken before the
restart allows an increase or a resume (`SessionData.vitals_age_ms`), and a set is due at once
while infusing or paused.

The pump's real state is unknown: the link goes to UNCERTAIN and a status read is issued, so no
increase is possible until the status read reconciles. A command whose intent was recorded but
whose outcome never was is recorded as `pump_outcome_unknown` and is never sent again.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Final

from titrator.domain.decisions import LinkState, PumpCommandKind, SessionState
from titrator.domain.events import ClockRebased, PumpOutcomeUnknown, SessionResumed, VitalsDue
from titrator.domain.session.state import (
    RUNNING_MODES,
    Outbox,
    SessionData,
    issue,
    set_link,
)

NOT_MONOTONIC: Final = frozenset({"clock_offset_ms"})
"""`*_ms` fields of `SessionData` that are not monotonic instants (never shifted)."""
MONOTONIC_FIELDS: Final = tuple(
    f.name
    for f in dataclasses.fields(SessionData)
    if f.name.endswith("_ms") and f.name not in NOT_MONOTONIC
)
"""Every remembered monotonic instant: moved onto the new clock on a resume."""
AFTER_RESTART: Final = "after the restart"
UNKNOWN_REASON: Final = (
    "no outcome was recorded before the restart: treated as uncertain, never sent again"
)


def downtime_ms(data: SessionData, ev: SessionResumed) -> tuple[int, int]:
    """The downtime to count as elapsed, and the raw wall-clock gap (both in ms)."""
    if data.last_wall_utc is None:
        return 0, 0
    wall_gap = (ev.at.wall_utc - data.last_wall_utc) // timedelta(milliseconds=1)
    counted = max(wall_gap, 0)
    mono_gap = ev.at.mono_ms - data.last_mono_ms
    if mono_gap >= 0:  # the monotonic clock kept counting: it cannot have jumped forward
        counted = min(counted, mono_gap)
    return counted, wall_gap


def shift_times(data: SessionData, shift_ms: int) -> None:
    """Add `shift_ms` to every remembered monotonic instant."""
    for name in MONOTONIC_FIELDS:
        value = getattr(data, name)
        if value is not None:
            setattr(data, name, value + shift_ms)


def on_resume(data: SessionData, ev: SessionResumed, out: Outbox) -> None:
    """Move onto the new clock, abandon any command without an outcome, read the pump."""
    d = data
    counted, wall_gap = downtime_ms(d, ev)
    shift = ev.at.mono_ms - (d.last_mono_ms + counted)
    shift_times(d, shift)
    d.clock_offset_ms = ev.at.offset_ms
    d.resumed_ms = ev.at.mono_ms
    out.events.append(
        ClockRebased(at=out.now, downtime_ms=counted, wall_gap_ms=wall_gap, shift_ms=shift)
    )
    if d.awaiting is not None:
        out.events.append(PumpOutcomeUnknown(at=out.now, command=d.awaiting, reason=UNKNOWN_REASON))
        d.awaiting = None
    set_link(d, out, LinkState.UNCERTAIN)
    issue(d, out, PumpCommandKind.READ_STATUS)
    watched = d.mode in RUNNING_MODES or d.mode is SessionState.PAUSED
    if watched and d.vitals_due_reason is None:
        d.vitals_due_reason = AFTER_RESTART
        out.events.append(VitalsDue(at=out.now, reason=AFTER_RESTART))
