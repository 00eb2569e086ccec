"""How a training session is marked in its audit log, and how the log is read back.

Choices (the audit writer and the engine's event models are unchanged):

* every record's `station_id` is ``TRAINING-<station>`` (`training_station_id`);
* `session_opened.setup.raw` carries ``training = "true"``, ``scenario_id`` and
  ``scenario_sha256`` (`titrator.training.scenarios.mark_training`);
* a `training_scenario` record follows `session_opened` (scenario id, title, file SHA-256);
* every scripted happening (the start, a reaction's onset, escalation and settling, a pump fault,
  a new bag) is a `training_event` record, written when the app learns of it.

The two record kinds are not engine events: replay and review skip kinds outside the event
schema, as they skip the app's `pump_wire` trace.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from titrator.audit.canonical import canonical_json
from titrator.audit.reader import read_audit
from titrator.domain.events import AUDIT_EVENT_ADAPTER, AUDIT_KINDS, AuditEvent

TRAINING_PREFIX: Final = "TRAINING-"


def training_station_id(station_id: str) -> str:
    """The station id stamped on every record of a training log."""
    if station_id.startswith(TRAINING_PREFIX):
        return station_id
    return f"{TRAINING_PREFIX}{station_id}"


class TrainingScenarioRecord(BaseModel):
    """The scenario a training log belongs to (written once, after `session_opened`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["training_scenario"] = "training_scenario"
    scenario_id: str
    title: str
    sha256: str
    training: Literal[True] = True


class TrainingEventRecord(BaseModel):
    """Something the scenario made happen."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["training_event"] = "training_event"
    event_id: str
    """The scenario event ("start" for the start of the infusion)."""
    happening: str
    """started, onset, escalated, settled, pump_fault or lot_change."""
    text: str
    mono_ms: int
    """The app's monotonic clock when it learned of it (the engine's time base)."""
    sim_s: Decimal
    """The simulator's clock when it happened, in seconds to the millisecond (recorded as a
    string, like every Decimal: an audit record holds no floating-point number)."""


TrainingRecord = Annotated[
    TrainingScenarioRecord | TrainingEventRecord, Field(discriminator="kind")
]
_TRAINING_ADAPTER: Final[TypeAdapter[TrainingRecord]] = TypeAdapter(TrainingRecord)
_PAYLOAD_ADAPTER: Final[TypeAdapter[dict[str, Any]]] = TypeAdapter(dict[str, Any])
TRAINING_KINDS: Final = frozenset({"training_scenario", "training_event"})


@dataclass(frozen=True)
class LogItem:
    """One record of a training log, typed where we know its kind.

    Attributes:
        seq: the record's sequence number.
        kind: the record kind.
        mono_ms: when (engine events: their instant; training events: `mono_ms`).
        event: the engine event, for kinds of the event schema.
        training: the training record, for training kinds.
        station_id: the record's station id.
    """

    seq: int
    kind: str
    mono_ms: int | None
    event: AuditEvent | None = None
    training: TrainingScenarioRecord | TrainingEventRecord | None = None
    station_id: str = ""


def read_training_log(path: str | os.PathLike[str]) -> list[LogItem]:
    """Read a training log back with `read_audit` and type every record we know.

    Raises:
        AuditReadError: a malformed line or a payload that does not fit its schema.
    """
    items: list[LogItem] = []
    for entry in read_audit(path, _PAYLOAD_ADAPTER):
        record = entry.record
        payload = entry.event
        if payload is None:  # the writer's own records
            items.append(LogItem(record.seq, record.kind, None, station_id=record.station_id))
            continue
        if record.kind in AUDIT_KINDS:
            event = AUDIT_EVENT_ADAPTER.validate_json(canonical_json(payload))
            items.append(
                LogItem(record.seq, record.kind, event.at.mono_ms, event, None, record.station_id)
            )
        elif record.kind in TRAINING_KINDS:
            training = _TRAINING_ADAPTER.validate_python(payload)
            mono = training.mono_ms if isinstance(training, TrainingEventRecord) else None
            items.append(LogItem(record.seq, record.kind, mono, None, training, record.station_id))
        else:
            items.append(LogItem(record.seq, record.kind, None, station_id=record.station_id))
    return items
