"""Applying the engine's decisions: write the audit events (fsync), then send pump commands.

`InfusionController` is the one place where a `Decision` meets the outside world, shared by the
Textual app, the headless runner and training. It feeds an input to the pure session, records
every resulting event durably, and only then releases the pump commands. When the audit log
cannot be written, commands that would raise the rate (a start or an increase) are withheld and
reported to the engine as failed, the engine is told the log is failing (no-escalation state),
and decreases, pauses, stops and status reads still go out. Writes are retried on every input.

`execute_command` runs one pump command against a `PumpAdapter` (blocking: call it from a worker
thread) and turns the result into the input event the engine expects back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, Literal, Protocol

from titrator.audit.errors import AuditWriteError
from titrator.domain.clock import Instant
from titrator.domain.decisions import PumpCommand, PumpCommandKind
from titrator.domain.events import (
    AuditHealthChanged,
    InputEvent,
    PumpLinkChanged,
    PumpOutcome,
    PumpStatusRead,
)
from titrator.domain.session.decision import Decision
from titrator.domain.session.engine import InfusionSession
from titrator.pump.base import (
    EventKind,
    LinkLostError,
    PumpAdapter,
    PumpError,
    PumpEvent,
    PumpLinkState,
    PumpStatus,
    ReadbackMismatchError,
    UncertainOutcomeError,
    WireRecord,
)
from titrator.pump.manual import ManualPump

REQUESTER = "titrator"


class AuditSink(Protocol):
    """What the controller needs of the audit writer (`titrator.audit.AuditWriter`)."""

    def append(
        self, event: Any, *, now: datetime | None = None, mono_ms: int | None = None
    ) -> object:
        """Record one event durably or raise."""
        ...

    def retry(self) -> None:
        """Write pending records now or raise."""
        ...

    def close(
        self, event: Any = None, *, now: datetime | None = None, mono_ms: int | None = None
    ) -> Any:
        """Write the closing record (the engine's `session_closed` event) and return the head."""
        ...

    @property
    def healthy(self) -> bool:
        """False while records are pending."""
        ...


@dataclass(frozen=True)
class Applied:
    """The outcome of feeding one input.

    Attributes:
        decision: the engine's last decision (after any follow-up inputs the controller fed).
        commands: pump commands to send now, in order (their intents are durable).
        withheld: commands not sent because the audit log could not be written.
        audit_error: why the audit write failed, when it did.
    """

    decision: Decision
    commands: tuple[PumpCommand, ...]
    withheld: tuple[PumpCommand, ...] = ()
    audit_error: str | None = None


def raises_rate(command: PumpCommand, current_ml_per_h: Decimal) -> bool:
    """Whether sending `command` could make the pump deliver faster than it does now."""
    if command.kind is PumpCommandKind.START:
        return True
    if command.kind is PumpCommandKind.SET_RATE:
        return (command.rate_ml_per_h or Decimal(0)) > current_ml_per_h
    return False


class InfusionController:
    """Feeds inputs to one session and records every event before any command goes out."""

    def __init__(self, session: InfusionSession, audit: AuditSink | None) -> None:
        self.session = session
        self.audit = audit
        self.audit_ok = True
        """What the engine was last told about the audit log."""
        self.head: Any = None
        """The closed log's head (its `hash` goes into the chart), once the session closes."""
        self.closing = False
        """The engine closed the session and its closing record was handed to the writer:
        nothing more can be recorded (the record may still be pending)."""

    def _record(self, decision: Decision) -> str | None:
        """Write the decision's events; the failure reason, or None when all are durable.

        Every event is handed to the writer even after a failed write: the writer keeps each
        failed record pending and writes them all, in order, once writing works again, so no
        event of the decision is lost from the log.
        """
        if self.audit is None:
            return None
        failure: str | None = None
        for event in decision.events:
            at = event.at
            try:
                if event.kind == "session_closed":
                    # The engine's closing event is the log's last record; its head is the anchor.
                    self.closing = True
                    self.head = self.audit.close(event, now=at.wall_utc, mono_ms=at.mono_ms)
                else:
                    self.audit.append(event, now=at.wall_utc, mono_ms=at.mono_ms)
            except AuditWriteError as error:  # the record stays pending in the writer
                failure = failure or str(error) or type(error).__name__
        return failure

    def feed(self, event: InputEvent) -> Applied:
        """Process one input: engine, audit, then the commands that may go out."""
        if self.closing and self.audit_ok:
            # The log is sealed: a late input (say, a pump result after the close) still reaches
            # the engine, which refuses it, but nothing more is recorded or sent.
            return Applied(self.session.handle(event), ())
        rate_before = self.session.rate_ml_per_h
        decision = self.session.handle(event)
        error = self._record(decision)
        if error is None:
            if not self.audit_ok and self.closing:  # durable at last, and nothing may follow
                self.audit_ok = True
            if not self.audit_ok:
                self.audit_ok = True
                recovered = self.feed(AuditHealthChanged(at=event.at, healthy=True))
                return Applied(recovered.decision, decision.commands + recovered.commands)
            return Applied(decision, decision.commands)
        send = tuple(c for c in decision.commands if not raises_rate(c, rate_before))
        held = tuple(c for c in decision.commands if raises_rate(c, rate_before))
        last = decision
        if self.closing:  # the session is over: the closing record waits for `retry_audit`
            self.audit_ok = False
            return Applied(decision, send, held, error)
        if self.audit_ok:
            self.audit_ok = False
            last = self.session.handle(AuditHealthChanged(at=event.at, healthy=False, detail=error))
            self._record(last)
        for command in held:
            last = self.session.handle(
                PumpOutcome(
                    at=event.at,
                    command_id=command.command_id,
                    outcome="failed",
                    detail="not sent: the audit log cannot be written",
                )
            )
            self._record(last)
            send += last.commands
        return Applied(last, send, held, error)

    def record_extra(self, record: Mapping[str, Any], now: Instant) -> Applied | None:
        """Record something that is not an engine event (the pump's wire bytes, in hex).

        A failed write is handled like any other: the engine is told the log is failing.
        """
        if self.audit is None or self.closing:
            return None
        try:
            self.audit.append(dict(record), now=now.wall_utc, mono_ms=now.mono_ms)
        except AuditWriteError as error:
            if self.audit_ok:
                self.audit_ok = False
                decision = self.session.handle(
                    AuditHealthChanged(at=now, healthy=False, detail=str(error))
                )
                self._record(decision)
                return Applied(decision, decision.commands, audit_error=str(error))
        return None

    def retry_audit(self, now: Instant) -> Applied | None:
        """Retry pending audit records (call on every tick while failing)."""
        if self.audit is None or self.audit_ok:
            return None
        try:
            self.audit.retry()
        except AuditWriteError:
            return None
        self.audit_ok = True
        if self.closing:  # the closing record is now durable: the log takes nothing more
            self.head = getattr(self.audit, "head", None)
            return None
        return self.feed(AuditHealthChanged(at=now, healthy=True))


def _status_event(
    pump: PumpAdapter, at: Instant, command: PumpCommand
) -> tuple[InputEvent, PumpStatus]:
    status = pump.status(requester=REQUESTER, reason=f"command {command.command_id}: status")
    if status.infusing and status.rate_ml_per_h is None:
        event: InputEvent = PumpOutcome(
            at=at,
            command_id=command.command_id,
            outcome="uncertain",
            detail="the pump is infusing at an unknown rate",
        )
        return event, status
    volume: Decimal | None = None
    if not isinstance(pump, ManualPump):  # a manual pump's volume is an estimate, never read
        try:
            volume = pump.volume_infused(requester=REQUESTER, reason="status")
        except PumpError:
            volume = None
    rate = status.rate_ml_per_h if status.infusing and status.rate_ml_per_h else Decimal(0)
    read = PumpStatusRead(at=at, running=status.infusing, rate_ml_per_h=rate, volume_ml=volume)
    return read, status


def _outcome(
    at: Instant, command: PumpCommand, outcome: Literal["failed", "uncertain"], error: Exception
) -> PumpOutcome:
    detail = f"{type(error).__name__}: {error}"
    return PumpOutcome(at=at, command_id=command.command_id, outcome=outcome, detail=detail)


def execute_command(
    pump: PumpAdapter, command: PumpCommand, at: Instant
) -> tuple[list[InputEvent], PumpStatus | None]:
    """Send one command (blocking) and return the inputs to feed back, and the pump's status.

    Args:
        pump: the adapter.
        command: the engine's command (its intent is already durable).
        at: the instant to stamp on the outcome (the caller re-stamps it when feeding).

    Returns:
        The engine inputs in order, and the last status the adapter reported (None on error).
    """
    why = f"command {command.command_id}: {command.kind.value}"
    try:
        if command.kind is PumpCommandKind.READ_STATUS:
            read, status = _status_event(pump, at, command)
            return [read], status
        if command.kind in (PumpCommandKind.STOP, PumpCommandKind.PAUSE):
            status = pump.stop(requester=REQUESTER, reason=why)
            reported = Decimal(0) if not status.infusing else status.rate_ml_per_h
        else:
            rate = command.rate_ml_per_h
            if rate is None:
                raise ValueError(f"{command.kind.value} without a rate")
            status = pump.set_rate(rate, requester=REQUESTER, reason=why)
            if command.kind is PumpCommandKind.START and not status.infusing:
                status = pump.start(requester=REQUESTER, reason=why)
            reported = status.rate_ml_per_h
    except LinkLostError as error:
        return [_outcome(at, command, "uncertain", error), PumpLinkChanged(at=at, up=False)], None
    except (UncertainOutcomeError, ReadbackMismatchError) as error:
        return [_outcome(at, command, "uncertain", error)], None
    except PumpError as error:
        return [_outcome(at, command, "failed", error)], None
    confirmed = PumpOutcome(
        at=at,
        command_id=command.command_id,
        outcome="confirmed",
        reported_rate_ml_per_h=reported,
    )
    return [confirmed], status


def link_input(event: PumpEvent, at: Instant) -> InputEvent | None:
    """The engine input for an adapter event, if it has one (link lost or restored)."""
    if event.kind is not EventKind.LINK_CHANGED:
        return None
    state = event.status.link_state
    if state is PumpLinkState.LOST:
        return PumpLinkChanged(at=at, up=False, detail=event.detail)
    if state is PumpLinkState.CONNECTED:
        return PumpLinkChanged(at=at, up=True, detail=event.detail)
    return None


STATE_NEWS: Final = frozenset({EventKind.ALARM, EventKind.VTBI_COMPLETE, EventKind.STATE_CHANGED})
"""Adapter events that say what the pump is doing now."""


def state_input(event: PumpEvent, at: Instant) -> PumpStatusRead | None:
    """The status read an adapter event amounts to, if it is one and the rate is known.

    An alarm, the end of the VTBI or a change at the keypad: the engine follows a slower or
    stopped pump and sets a faster one back.
    """
    if event.kind not in STATE_NEWS:
        return None
    status = event.status
    rate = status.rate_ml_per_h if status.infusing else Decimal(0)
    if rate is None:
        return None
    return PumpStatusRead(at=at, running=status.infusing, rate_ml_per_h=rate)


def wire_record(record: WireRecord) -> dict[str, Any]:
    """An audit record for bytes on the pump wire (not an engine event; replay skips it)."""
    fields = dataclasses.asdict(record)
    fields["direction"] = record.direction.value
    # a record holds no float (envelope v3 is RFC 8785): the adapter's clock in whole ms
    fields["monotonic_ms"] = round(fields.pop("monotonic_s") * 1000)
    return {"kind": "pump_wire", **fields}
