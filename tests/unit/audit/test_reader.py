"""Reading logs back: raw records, tolerant review of damaged logs, typed events."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from tests.support.audit import StepClock, write_log
from titrator.audit import (
    AuditReadError,
    AuditWriter,
    Outcome,
    read_audit,
    read_for_review,
    read_records,
)
from titrator.shell.clocks import SystemClock


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    schema_version: int = 1


class VitalsRecorded(_Event):
    kind: Literal["vitals_recorded"] = "vitals_recorded"
    hr_bpm: int
    temp_c: Decimal


class RateChanged(_Event):
    kind: Literal["rate_changed"] = "rate_changed"
    rate_ml_per_h: Decimal
    reason: str


Event = Annotated[VitalsRecorded | RateChanged, Field(discriminator="kind")]
ADAPTER: TypeAdapter[VitalsRecorded | RateChanged] = TypeAdapter(Event)


def test_read_records_returns_every_envelope_in_order(tmp_path: Path) -> None:
    log = write_log(tmp_path, keyed=True, n_events=4)
    records = read_records(log.path)
    assert [r.seq for r in records] == list(range(6))
    assert records[1].payload == {"hr_bpm": 70, "temp_c": "36.8"}
    assert records[-1].head == log.head
    assert all(r.key_id is not None for r in records)


def test_read_records_names_the_first_malformed_line(tmp_path: Path) -> None:
    log = write_log(tmp_path, keyed=False, n_events=4)
    lines = log.lines
    lines[2] = b'{"not": "a record"}\n'
    log.path.write_bytes(b"".join(lines))
    with pytest.raises(AuditReadError, match="line 3") as info:
        read_records(log.path)
    assert info.value.line == 3


def test_review_reads_everything_readable_from_a_damaged_log(tmp_path: Path) -> None:
    log = write_log(tmp_path, keyed=False, n_events=4)
    lines = log.lines
    lines[1] = lines[1].replace(b'"hr_bpm":', b'"hr_bpm" :')  # still JSON, not canonical
    lines[3] = b"garbage\n"
    log.path.write_bytes(b"".join(lines) + b'{"torn')
    review = read_for_review(log.path)
    assert [n for n, _ in review.records] == [1, 2, 3, 5, 6]
    assert [(p.line, p.text) for p in review.problems] == [(4, "garbage"), (7, '{"torn')]
    assert review.verification.outcome is Outcome.DAMAGED
    assert review.verification.line == 2


def test_read_audit_validates_payloads_into_the_event_schema(tmp_path: Path) -> None:
    writer = AuditWriter.create(
        "s-1", station_id="b", nurse_id="n", data_dir=tmp_path, clock=StepClock(), min_free_bytes=0
    )
    written: list[VitalsRecorded | RateChanged] = [
        VitalsRecorded(hr_bpm=88, temp_c=Decimal("38.10")),
        RateChanged(rate_ml_per_h=Decimal("0.5"), reason="reaction: slow ↓"),
    ]
    for event in written:
        writer.append(event)
    writer.close()
    entries = read_audit(writer.path, ADAPTER)
    assert [e.record.kind for e in entries] == [
        "log_opened",
        "vitals_recorded",
        "rate_changed",
        "session_closed",
    ]
    assert [e.event for e in entries[1:3]] == written
    assert entries[0].event is None
    assert entries[-1].event is None
    assert isinstance(entries[1].event, VitalsRecorded)
    assert entries[1].event.temp_c == Decimal("38.10")  # exact, trailing zero kept


def test_read_audit_names_the_line_of_a_payload_that_does_not_fit(tmp_path: Path) -> None:
    writer = AuditWriter.create(
        "s-1",
        station_id="b",
        nurse_id="n",
        data_dir=tmp_path,
        min_free_bytes=0,
        clock=SystemClock(),
    )
    writer.append({"kind": "vitals_recorded", "hr_bpm": "fast", "temp_c": "37"})
    writer.release()
    with pytest.raises(AuditReadError, match=r"line 2: vitals_recorded \(seq 1\)"):
        read_audit(writer.path, ADAPTER)


def test_review_reads_the_file_once_and_gets_what_a_plain_read_gets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = write_log(tmp_path, keyed=False, n_events=6)
    lines = log.lines
    lines[4] = lines[4].replace(b'"seq":4', b'"seq":9')  # breaks the chain mid-file
    log.path.write_bytes(b"".join(lines))
    expected = read_records(log.path)
    opened: list[Path] = []
    real_open = Path.open

    def counting_open(self: Path, *args: object, **kwargs: object) -> object:
        opened.append(self)
        return real_open(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", counting_open)
    review = read_for_review(log.path)
    assert opened == [log.path]
    assert [record for _, record in review.records] == expected
    assert review.verification.outcome is Outcome.DAMAGED
    assert review.verification.line == 5


def test_review_of_a_missing_file_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="cannot read"):
        read_for_review(tmp_path / "absent.jsonl")
