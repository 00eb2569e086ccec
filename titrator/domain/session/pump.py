"""Shell-originated inputs: pump command outcomes, status reads, link changes, audit health.

Rules: a command whose outcome is unknown (or failed) puts the link in UNCERTAIN and asks for a
status read; nothing but that read and STOP is sent until the pump's state is known, and no
increase happens meanwhile. An audit-log failure blocks increases until the log is healthy.
A pump-reported volume replaces the engine's own integration only when the two agree within
`VOLUME_TOLERANCE_ML` or `VOLUME_TOLERANCE_FRACTION` (whichever is larger); otherwise the engine
keeps its own figure and raises an alarm.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from titrator.domain.decisions import AlarmCode, LinkState, PumpCommandKind, SessionState
from titrator.domain.events import (
    AuditHealthChanged,
    PumpLinkChanged,
    PumpOutcome,
    PumpStatusRead,
    RateChanged,
    VolumeReconciled,
)
from titrator.domain.session.state import (
    RUNNING_MODES,
    Outbox,
    Refused,
    SessionData,
    clear_alarm,
    issue,
    raise_alarm,
    set_link,
)
from titrator.domain.session.transitions import start_confirmed, start_not_done
from titrator.domain.units import show_ml, show_ml_per_h

VOLUME_TOLERANCE_ML: Final = Decimal(2)
VOLUME_TOLERANCE_FRACTION: Final = Decimal("0.02")


def _read_status(data: SessionData, out: Outbox) -> None:
    set_link(data, out, LinkState.UNCERTAIN)
    issue(data, out, PumpCommandKind.READ_STATUS)


def on_pump_outcome(data: SessionData, out: Outbox, ev: PumpOutcome) -> None:
    """The read-back result of a command."""
    awaiting = data.awaiting
    if awaiting is None or awaiting.command_id != ev.command_id:
        raise Refused(f"no command {ev.command_id} is awaiting an outcome", field="command_id")
    data.awaiting = None
    if awaiting.kind is PumpCommandKind.READ_STATUS:
        if ev.outcome != "confirmed":
            set_link(data, out, LinkState.UNCERTAIN)
        return
    expected = awaiting.rate_ml_per_h
    if awaiting.kind in (PumpCommandKind.STOP, PumpCommandKind.PAUSE):
        expected = Decimal(0)
    if ev.outcome == "confirmed":
        reported = ev.reported_rate_ml_per_h
        if expected is not None and reported is not None and reported != expected:
            text = f"Pump reports {show_ml_per_h(reported)}, expected {show_ml_per_h(expected)}."
            raise_alarm(data, out, AlarmCode.PUMP_RATE_MISMATCH, text)
            data.rate_mismatch = True
            _read_status(data, out)
            return
        if awaiting.kind is PumpCommandKind.START and data.starting_to is not None:
            start_confirmed(data, out)  # the step timer and the running state begin now
        if data.rate_mismatch and reported == data.rate:
            # The pump confirmed the rate titrator expects: they agree again.
            _agree(data, out)
        return
    _read_status(data, out)


def _agree(data: SessionData, out: Outbox) -> None:
    data.rate_mismatch = False
    clear_alarm(data, out, AlarmCode.PUMP_RATE_MISMATCH)


def _follow_slower_pump(data: SessionData, out: Outbox, actual: Decimal) -> None:
    """The pump delivers less than expected: titrator follows it (always the safe direction).

    An increase that never reached the pump, or a pump that stopped by itself (occlusion, power
    reset, its communications watchdog), is never re-sent or restarted automatically: the rate
    the pump really runs becomes the current rate, and any increase or restart goes through
    the usual discipline (a stopped pump: the nurse restarts with an override and a reason).
    """
    now_ms = out.now.mono_ms
    expected = data.rate
    data.volume_ml, data.volume_at_ms = data.volume_at(now_ms), now_ms
    data.rate = actual
    data.rate_started_ms = now_ms  # a new dwell: the lower rate is where the count starts
    if actual == 0:
        cause = f"stop: the pump stopped by itself (expected {show_ml_per_h(expected)})"
        data.resume_rate = expected if data.resume_rate is None else data.resume_rate
        data.mode = SessionState.STOPPED
        data.paused_until_ms = None
        data.stop_note = (
            "The pump stopped by itself (check its alarm: occlusion, power, communications)."
        )
    else:
        cause = (
            f"the pump runs {show_ml_per_h(actual)}, not {show_ml_per_h(expected)}: following it"
        )
        data.step = data.step_for_rate(actual)
    out.events.append(
        RateChanged(
            at=out.now, from_ml_per_h=expected, to_ml_per_h=actual, step=data.step, cause=cause
        )
    )
    _agree(data, out)


def on_pump_status(data: SessionData, out: Outbox, ev: PumpStatusRead) -> None:
    """A status read: resolves UNCERTAIN, flags a rate mismatch, reconciles the volume."""
    if data.link is LinkState.LOST:
        raise Refused("the pump link is lost: a status read cannot arrive", field="pump_status")
    if data.awaiting is not None and data.awaiting.kind is PumpCommandKind.READ_STATUS:
        data.awaiting = None
    set_link(data, out, LinkState.OK)
    if data.starting_to is not None:  # a start the pump never confirmed: this read decides
        if ev.running:
            start_confirmed(data, out)
        else:
            start_not_done(data, out, "the pump is not infusing: the start did not happen")
    running_rate = ev.rate_ml_per_h if ev.running else Decimal(0)
    if running_rate == data.rate:
        _agree(data, out)
    elif running_rate < data.rate and data.mode in (*RUNNING_MODES, SessionState.PAUSED):
        _follow_slower_pump(data, out, running_rate)
    else:
        # Faster than titrator expects (or running when it should not): bring it down.
        text = (
            f"Pump reports {show_ml_per_h(running_rate)}, titrator expects "
            f"{show_ml_per_h(data.rate)}: the pump is being set back; check it, or STOP."
        )
        raise_alarm(data, out, AlarmCode.PUMP_RATE_MISMATCH, text)
        data.rate_mismatch = True
        if data.rate > 0:
            issue(data, out, PumpCommandKind.SET_RATE, data.rate)
        else:
            issue(data, out, PumpCommandKind.STOP)
    if ev.volume_ml is not None:
        _reconcile_volume(data, out, ev.volume_ml)


def _reconcile_volume(data: SessionData, out: Outbox, pump_ml: Decimal) -> None:
    now_ms = out.now.mono_ms
    engine_ml = data.volume_at(now_ms) if data.mode in RUNNING_MODES else data.volume_ml
    tolerance = max(VOLUME_TOLERANCE_ML, engine_ml * VOLUME_TOLERANCE_FRACTION)
    accepted = abs(pump_ml - engine_ml) <= tolerance
    out.events.append(
        VolumeReconciled(at=out.now, engine_ml=engine_ml, pump_ml=pump_ml, accepted=accepted)
    )
    if accepted:
        data.volume_ml, data.volume_at_ms = pump_ml, now_ms
        clear_alarm(data, out, AlarmCode.VOLUME_DISCREPANCY)
    else:
        text = f"Pump volume {show_ml(pump_ml)} differs from the expected {show_ml(engine_ml)}."
        raise_alarm(data, out, AlarmCode.VOLUME_DISCREPANCY, text)


def on_pump_link(data: SessionData, out: Outbox, ev: PumpLinkChanged) -> None:
    """Link lost: alarm, no command but STOP. Link back: UNCERTAIN until a status read."""
    if not ev.up:
        set_link(data, out, LinkState.LOST)
        return
    if data.link is not LinkState.LOST:
        raise Refused("the pump link was not lost", field="up")
    data.awaiting = None
    _read_status(data, out)


def on_audit_health(data: SessionData, out: Outbox, ev: AuditHealthChanged) -> None:
    """The audit log failed (no increase from now on) or recovered."""
    data.audit_failing = not ev.healthy
    if ev.healthy:
        clear_alarm(data, out, AlarmCode.AUDIT_FAILING)
    else:
        text = "The audit log cannot be written: no rate increase until it is fixed."
        raise_alarm(data, out, AlarmCode.AUDIT_FAILING, text)
