"""CSV export: one row per line of the log, stable documented columns (docs/reviewer/exports.md).

The first row is the integrity check (`row_type` = `integrity`), then one `record` row per
readable record in file order, then one `unreadable` row per line that is not a record. Every
value keeps its unit in the column name; times are ISO 8601 UTC with offset; decimals are
written exactly, without trailing zeros. `payload_json` holds the record's payload as stored
(canonical JSON), so nothing recorded is lost. `training` (the last column) is `yes` on every row
of a demo or training log.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any, Final, TextIO

from titrator.domain import events as ev
from titrator.domain.units import plain
from titrator.domain.vitals import VitalField
from titrator.review.fmt import iso
from titrator.review.model import SessionReview, TimelineEntry
from titrator.review.timeline import validate_event

COLUMNS: Final = (
    "row_type",
    "line",
    "seq",
    "time_utc",
    "kind",
    "category",
    "nurse_id",
    "station_id",
    "vouched",
    "summary",
    "rate_ml_per_h",
    "step",
    *(f.value for f in VitalField),
    "severity",
    "rule_ids",
    "reason",
    "note",
    "command_id",
    "command",
    "outcome",
    "payload_json",
    "training",
)
"""The CSV header, in order. New columns are only ever appended. `training` is `yes` on every
row of a demo or training log (`no` otherwise), so a row read alone still carries the mark."""


def _payload_json(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _fields(event: object) -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(event, ev.RateChanged):
        out["rate_ml_per_h"] = plain(event.to_ml_per_h)
        out["step"] = "" if event.step is None else str(event.step)
        out["reason"] = event.cause
    elif isinstance(event, ev.VitalsAccepted):
        out.update({f.value: plain(v) for f, v in event.values.items()})
        out["reason"] = event.purpose
    elif isinstance(event, ev.ReactionOpened):
        out["severity"] = event.severity.value if event.severity else ""
        out["rule_ids"] = " ".join(event.rule_ids)
    elif isinstance(event, ev.AssessmentMade):
        rec = event.recommendation
        out["severity"] = rec.severity.value if rec.severity else ""
        out["rule_ids"] = " ".join(rec.rule_ids)
        out["reason"] = rec.reason
        out["outcome"] = rec.action.value
    elif isinstance(event, ev.ReactionCleared | ev.OverrideRecorded):
        out["reason"] = event.reason.value
        out["note"] = event.note
    elif isinstance(event, ev.NurseDecided):
        out["outcome"] = event.choice.value
        out["reason"] = event.reason.value if event.reason else ""
        out["note"] = event.note
    elif isinstance(event, ev.PumpCommandIssued):
        out["command_id"] = str(event.command.command_id)
        out["command"] = event.command.kind.value
        rate = event.command.rate_ml_per_h
        out["rate_ml_per_h"] = "" if rate is None else plain(rate)
    elif isinstance(event, ev.PumpOutcome):
        out["command_id"] = str(event.command_id)
        out["outcome"] = event.outcome
        rate = event.reported_rate_ml_per_h
        out["rate_ml_per_h"] = "" if rate is None else plain(rate)
        out["note"] = event.detail
    elif isinstance(event, ev.PumpStatusRead):
        out["rate_ml_per_h"] = plain(event.rate_ml_per_h)
    elif isinstance(event, ev.StopRequested | ev.VitalsDue | ev.InputRefused):
        out["reason"] = event.reason
    elif isinstance(event, ev.StateChanged):
        out["step"] = "" if event.step is None else str(event.step)
        out["outcome"] = event.to_state.value
    elif isinstance(event, ev.AlarmRaised):
        out["reason"] = event.code.value
        out["note"] = event.text
    return out


def _record_row(entry: TimelineEntry) -> dict[str, str]:
    record = entry.record  # read again from the log, once for the payload and the event
    row = {
        "row_type": "record",
        "line": str(entry.line),
        "seq": str(entry.seq),
        "time_utc": iso(entry.at),
        "kind": entry.kind,
        "category": entry.category.value,
        "nurse_id": entry.nurse_id,
        "station_id": entry.station_id,
        "vouched": "yes" if entry.vouched else "no",
        "summary": entry.summary,
        "payload_json": _payload_json(record.payload),
    }
    row.update(_fields(validate_event(record)[0]))
    return row


def write_csv(review: SessionReview, stream: TextIO) -> None:
    """Write the review as CSV (RFC 4180, CRLF line ends) to `stream`."""
    writer = csv.DictWriter(stream, fieldnames=COLUMNS, restval="", lineterminator="\r\n")
    writer.writeheader()
    training = "yes" if review.training else "no"
    integrity = review.integrity
    v = integrity.verification
    writer.writerow(
        {
            "row_type": "integrity",
            "kind": "integrity_check",
            "line": "" if v.line is None else str(v.line),
            "seq": "" if v.seq is None else str(v.seq),
            "summary": integrity.banner(),
            "outcome": integrity.status.value,
            "reason": v.reason,
            "note": integrity.head_hash or "",
            "training": training,
            "payload_json": _payload_json(
                {
                    "status": integrity.status.value,
                    "reason": v.reason,
                    "records_intact": v.records,
                    "head": integrity.head_hash,
                    "mac_checked": v.mac_checked,
                    "session_id": review.session_id,
                }
            ),
        }
    )
    for entry in review.timeline:
        writer.writerow({**_record_row(entry), "training": training})
    for problem in integrity.unreadable:
        writer.writerow(
            {
                "row_type": "unreadable",
                "line": str(problem.line),
                "kind": "unreadable_line",
                "vouched": "no",
                "summary": f"line {problem.line} cannot be read: {problem.reason}",
                "reason": problem.reason,
                "payload_json": problem.text,
                "training": training,
            }
        )


def to_csv(review: SessionReview) -> str:
    """The CSV export as text."""
    buffer = io.StringIO()
    write_csv(review, buffer)
    return buffer.getvalue()
