"""One plain-language line per audit record, and the category the reviewer filters by.

Every number keeps its unit. Records whose payload does not fit this version's event schema (an
older or newer log, or the app's own `pump_wire` trace and `pump_reconnect` attempts) still get a
line, from the raw payload. A `pump_wire` line names the direction, the command in flight and the
number of bytes; the raw bytes (hex) are shown only when asked (`wire_hex=True`: the review
app's `w` key), and are always kept in the CSV's `payload_json`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Final

from pydantic import ValidationError

from titrator.audit.reader import LineSource, parse_record_line
from titrator.audit.record import AuditRecord
from titrator.domain import events as ev
from titrator.domain.events import AUDIT_EVENT_ADAPTER, AuditEvent
from titrator.domain.units import plain
from titrator.domain.vitals import SYMPTOM_LABELS, Symptom
from titrator.review.fmt import ml, ml_per_h, vitals_line


class Category(StrEnum):
    """What a timeline line is about (the app's kind filter)."""

    SESSION = "session"
    VITALS = "vitals"
    RATE = "rate"
    PUMP = "pump"
    REACTION = "reaction"
    OVERRIDE = "override"
    DECISION = "decision"
    ALARM = "alarm"
    SYSTEM = "system"


_CATEGORY: Final[Mapping[str, Category]] = {
    "log_opened": Category.SYSTEM,
    "log_resumed": Category.SYSTEM,
    "log_recovered": Category.SYSTEM,
    "session_opened": Category.SESSION,
    "checklist_answered": Category.SESSION,
    "preinfusion_recorded": Category.SESSION,
    "lot_recorded": Category.SESSION,
    "state_changed": Category.SESSION,
    "session_resumed": Category.SESSION,
    "session_closed": Category.SESSION,
    "tick": Category.SYSTEM,
    "clock_jumped": Category.ALARM,
    "clock_rebased": Category.SYSTEM,
    "vitals_entered": Category.VITALS,
    "vitals_accepted": Category.VITALS,
    "vitals_due": Category.VITALS,
    "symptoms_entered": Category.VITALS,
    "assessment_made": Category.DECISION,
    "prompt_shown": Category.DECISION,
    "nurse_decided": Category.DECISION,
    "input_refused": Category.DECISION,
    "stop_requested": Category.DECISION,
    "rate_changed": Category.RATE,
    "pump_command": Category.PUMP,
    "pump_outcome": Category.PUMP,
    "pump_outcome_unknown": Category.PUMP,
    "pump_status": Category.PUMP,
    "pump_link": Category.PUMP,
    "link_state": Category.PUMP,
    "volume_reconciled": Category.PUMP,
    "pump_wire": Category.PUMP,
    "pump_reconnect": Category.PUMP,
    "reaction_opened": Category.REACTION,
    "reaction_cleared": Category.REACTION,
    "medication_given": Category.REACTION,
    "override_recorded": Category.OVERRIDE,
    "alarm_raised": Category.ALARM,
    "alarm_cleared": Category.ALARM,
    "audit_health": Category.ALARM,
}


def validate_event(record: AuditRecord) -> tuple[AuditEvent | None, str | None]:
    """The record's payload as an engine event, or the reason it is not one.

    (None, None): a writer record or a kind outside the engine's events.
    """
    if record.from_writer or record.kind not in ev.AUDIT_KINDS:
        return None, None
    try:
        return AUDIT_EVENT_ADAPTER.validate_python({**record.payload, "kind": record.kind}), None
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        return None, f"does not fit this version's event schema: {loc}: {first['msg']}"


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One record of the log as a line of the timeline.

    An entry keeps what the timeline shows. The record's payload and its validated event are
    not kept (about 5 KB a record, where the entry is a few hundred bytes, issue 17): `payload`,
    `event` and `record` read the line again from the log (`LogLines`), checked to be the very
    bytes that were reviewed. Callers that need only some kinds check `kind` first.

    Attributes:
        line: 1-based line in the file.
        seq: the record's sequence number.
        at: when it happened (UTC).
        kind: the record kind.
        category: what it is about (for filtering).
        summary: one plain-language line, units included.
        nurse_id: the user signed in when it was recorded.
        station_id: the workstation that recorded it.
        vouched: the hash chain vouches for this line (False after a break).
        lines: the log's lines as read, where `record` reads this one again.
        wire_summary: for a `pump_wire` record, the line with the raw bytes (hex) too, shown
            only when the reviewer asks; None for every other record.
    """

    line: int
    seq: int
    at: datetime
    kind: str
    category: Category
    summary: str
    nurse_id: str
    station_id: str
    vouched: bool
    lines: LineSource = field(repr=False, compare=False)
    wire_summary: str | None = None

    @property
    def record(self) -> AuditRecord:
        """The record, read again from the log.

        Raises:
            LogChangedError: the log changed since it was read (an `OSError`).
        """
        return parse_record_line(self.lines.line(self.line), self.line)

    @property
    def payload(self) -> dict[str, Any]:
        """The record's payload as stored (read again; see `record`)."""
        return self.record.payload

    @property
    def event(self) -> AuditEvent | None:
        """The validated event, or None (writer records, other kinds, schema mismatch).

        Read again and validated again (see `record`).
        """
        return validate_event(self.record)[0]

    def shown(self, wire_hex: bool) -> str:
        """The line as shown: with the raw wire bytes only when `wire_hex` is asked for."""
        return self.wire_summary if wire_hex and self.wire_summary is not None else self.summary


def category(kind: str) -> Category:
    """The category of a record kind (unknown kinds are `system`)."""
    return _CATEGORY.get(kind, Category.SYSTEM)


def _dec(value: object) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _note(note: str) -> str:
    return f" — {note}" if note else ""


def _symptoms(e: ev.SymptomsEntered) -> str:
    known = {s.value: s for s in Symptom}
    names = [SYMPTOM_LABELS[known[s]] if s in known else s for s in e.symptoms]
    if e.other:
        names.append(f"other: {e.other}")
    return "symptoms: " + (", ".join(names) if names else "none")


def _checklist(e: ev.ChecklistAnswered) -> str:
    done = [a for a in e.answers if a.status == "confirmed"]
    missed = [f"{a.item_id} ({a.reason})" for a in e.answers if a.status != "confirmed"]
    text = f"checklist: {len(done)} of {len(e.answers)} confirmed"
    return text + (f"; not done: {', '.join(missed)}" if missed else "")


def _preinfusion(e: ev.PreInfusionRecorded) -> str:
    r = e.record
    scanned = f", scanned GTIN {r.scan.gtin} ({r.gtin_check})" if r.scan is not None else ""
    premeds = "; ".join(
        f"{p.drug} {plain(p.dose)} {p.unit} {p.route} {p.minutes_before} min before"
        for p in r.premedications
    )
    hydration = (
        f"; pre-hydration {plain(r.prehydration.volume_ml)} mL {r.prehydration.route}"
        if r.prehydration is not None
        else ""
    )
    return (
        f"pre-infusion: lot {r.lot} expires {r.lot_expiry.isoformat()}{scanned}; "
        f"IgA {r.iga_status.label}; premedication: {premeds or 'none'}{hydration}"
        + "".join(f" [{notice}]" for notice in r.notices)
    )


def _opened(e: ev.SessionOpened) -> str:
    p = e.plan
    text = (
        f"session opened: {p.product_name}, {p.indication_name}; "
        f"{plain(p.request.weight_kg)} kg, {plain(p.dose_per_kg, 3)} g/kg = "
        f"{plain(p.total_dose_g)} g in {ml(p.total_volume_ml)}; {len(p.steps)} steps, "
        f"max {ml_per_h(p.max_rate_ml_per_h)}"
    )
    if e.setup is not None:
        text += f"; patient {e.setup.patient_id_1}, lot {e.setup.lot}"
    return text + ("; TRAINING (demo or training scenario)" if e.training else "")


def _decided(e: ev.NurseDecided) -> str:
    if e.choice == "accept":
        return "nurse accepted"
    reason = e.reason.value if e.reason is not None else "no reason"
    return f"nurse overrode: {reason}{_note(e.note)}"


def _pump_outcome(e: ev.PumpOutcome) -> str:
    text = f"pump command {e.command_id}: {e.outcome}"
    if e.reported_rate_ml_per_h is not None:
        text += f", pump reports {ml_per_h(e.reported_rate_ml_per_h)}"
    return text + _note(e.detail)


def _pump_status(e: ev.PumpStatusRead) -> str:
    text = (
        f"pump status: {'running' if e.running else 'not running'} at {ml_per_h(e.rate_ml_per_h)}"
    )
    return text + (f", {ml(e.volume_ml)} infused" if e.volume_ml is not None else "")


def _command(e: ev.PumpCommandIssued) -> str:
    c = e.command
    rate = f" {ml_per_h(c.rate_ml_per_h)}" if c.rate_ml_per_h is not None else ""
    return f"pump command {c.command_id}: {c.kind.value.replace('_', ' ')}{rate}"


def _rate(e: ev.RateChanged) -> str:
    step = f" (step {e.step})" if e.step is not None else ""
    return f"rate {plain(e.from_ml_per_h)} → {ml_per_h(e.to_ml_per_h)}{step}: {e.cause}"


def _reaction(e: ev.ReactionOpened) -> str:
    severity = e.severity.value if e.severity is not None else "severity not graded"
    never = "; never restart" if e.never_restart else ""
    return f"reaction: {severity} ({', '.join(e.rule_ids)}){never}"


def _refused(e: ev.InputRefused) -> str:
    text = f"refused {e.input_kind}: {e.reason}"
    if e.field:
        text += f" [{e.field}" + (f" = {e.raw!r}" if e.raw is not None else "") + "]"
    return text + (" (hard limit)" if e.hard_limit else "")


_SUMMARY: Final[dict[type[Any], Callable[[Any], str]]] = {
    ev.SessionOpened: _opened,
    ev.ChecklistAnswered: _checklist,
    ev.PreInfusionRecorded: _preinfusion,
    ev.Tick: lambda e: "time passed",
    ev.VitalsEntered: lambda e: (
        "vitals typed: " + ", ".join(f"{k} {v!r}" for k, v in sorted(e.raw.items()))
    ),
    ev.SymptomsEntered: _symptoms,
    ev.NurseDecided: _decided,
    ev.LotRecorded: lambda e: f"lot recorded: {e.lot}",
    ev.MedicationGiven: lambda e: (
        f"medicine given: {e.drug} {plain(e.dose)} {e.unit} {e.route} "
        f"at {e.given_at.strftime('%H:%M')} UTC by {e.given_by}"
    ),
    ev.StopRequested: lambda e: f"STOP pressed{_note(e.reason)}",
    ev.PumpOutcome: _pump_outcome,
    ev.PumpStatusRead: _pump_status,
    ev.PumpLinkChanged: lambda e: f"pump link {'restored' if e.up else 'lost'}{_note(e.detail)}",
    ev.AuditHealthChanged: lambda e: (
        f"audit log {'writing again' if e.healthy else 'FAILING'}{_note(e.detail)}"
    ),
    ev.SessionResumed: lambda e: f"session resumed after a restart{_note(e.detail)}",
    ev.InputRefused: _refused,
    ev.StateChanged: lambda e: (
        f"state {e.from_state.value} → {e.to_state.value}"
        + (f" (step {e.step})" if e.step is not None else "")
    ),
    ev.VitalsAccepted: lambda e: f"vitals ({e.purpose}): {vitals_line(e.values)}",
    ev.AssessmentMade: lambda e: (
        f"assessment: {e.recommendation.action.value} — {e.recommendation.reason}"
    ),
    ev.PromptShown: lambda e: f"prompt: {e.prompt.title} — {e.prompt.text}",
    ev.PumpCommandIssued: _command,
    ev.RateChanged: _rate,
    ev.ReactionOpened: _reaction,
    ev.ReactionCleared: lambda e: f"reaction cleared: {e.reason.value}{_note(e.note)}",
    ev.OverrideRecorded: lambda e: (
        f"override ({e.limit}; {e.prompt_kind} prompt): {e.reason.value}{_note(e.note)}"
    ),
    ev.VitalsDue: lambda e: f"vitals due: {e.reason}",
    ev.ClockJumped: lambda e: f"wall clock jumped by {e.skew_ms / 1000:+.0f} s",
    ev.AlarmRaised: lambda e: f"ALARM {e.code.value}: {e.text}",
    ev.AlarmCleared: lambda e: f"alarm cleared: {e.code.value}",
    ev.LinkStateChanged: lambda e: f"pump link state: {e.link.value}",
    ev.VolumeReconciled: lambda e: (
        f"volume check: engine {ml(e.engine_ml)}, pump {ml(e.pump_ml)} "
        f"({'accepted' if e.accepted else 'NOT accepted'})"
    ),
    ev.ClockRebased: lambda e: (
        f"clock rebased after a restart: {e.downtime_ms // 1000} s counted as elapsed"
    ),
    ev.PumpOutcomeUnknown: lambda e: (
        f"pump command {e.command.command_id} ({e.command.kind.value}): outcome unknown "
        f"after a restart, never resent{_note(e.reason)}"
    ),
    ev.SessionClosed: lambda e: f"session closed: {ml(e.volume_ml)} given",
}


def summarise_event(event: object) -> str:
    """The timeline line for a validated event."""
    render = _SUMMARY.get(type(event))
    if render is None:
        return getattr(event, "kind", type(event).__name__)
    return render(event)


def wire_line(payload: Mapping[str, Any], *, wire_hex: bool = False) -> str:
    """A `pump_wire` record in words: `pump wire TX (status query): 5 bytes`.

    Args:
        payload: the record's payload as stored.
        wire_hex: also show the raw bytes, hex encoded.
    """
    data = str(payload.get("data_hex", ""))
    command = str(payload.get("command", "")) or "status query"
    note = f", {payload['note']}" if payload.get("note") else ""
    count = len("".join(data.split())) // 2
    text = f"pump wire {payload.get('direction', '?')} ({command}): {count} bytes{note}"
    return text + (f" [hex {data}]" if wire_hex else "")


def summarise_raw(kind: str, payload: Mapping[str, Any], *, wire_hex: bool = False) -> str:
    """The timeline line for a record not validated as an engine event.

    Args:
        kind: the record kind.
        payload: the record's payload as stored.
        wire_hex: show a `pump_wire` record's raw bytes (hidden unless asked).
    """
    if kind == "log_opened":
        return f"log opened (titrator {payload.get('software_version', '?')})"
    if kind == "log_resumed":
        return f"log resumed after seq {payload.get('after_seq', '?')}"
    if kind == "log_recovered":
        return (
            f"log recovered after seq {payload.get('after_seq', '?')}: torn last line "
            f"({payload.get('torn_bytes', '?')} bytes) kept in "
            f"{payload.get('quarantine_file', '?')}"
        )
    if kind == "session_closed" and payload.get("closed_by") == "audit_writer":
        return f"log closed by the audit writer: {payload.get('reason', '')}"
    if kind == "pump_wire":
        return wire_line(payload, wire_hex=wire_hex)
    if kind == "pump_reconnect":
        return (
            f"pump reconnect {payload.get('outcome', '?')} ({payload.get('requester', '?')}): "
            f"{payload.get('detail', '')}"
        )
    shown = ", ".join(f"{k}={v}" for k, v in sorted(payload.items()) if k not in ("at",))
    return f"{kind}: {shown}"[:200]


def raw_rate(payload: Mapping[str, Any], key: str) -> Decimal | None:
    """A Decimal field of a raw payload, or None."""
    return _dec(payload.get(key))
