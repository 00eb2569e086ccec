"""A review keeps summaries, not records: payloads and events are read again, checked (issue 17).

`load_review` builds the review record by record as the log is read and keeps, for each record,
its timeline entry only; `TimelineEntry.payload`, `.event` and `.record` read the line again
through `LogLines`, which checks it against the digest taken when the log was read. These tests
hold that to what reading the whole log at once gives, on intact, damaged, torn and junk-laden
logs, and check that a log changed since it was read is refused with a message that names the
file and the line and never the content.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.unit.review.logs import add_garbage, damage_line, tear_tail
from titrator.audit.reader import LogChangedError, LogLines, read_for_review
from titrator.domain.events import AUDIT_EVENT_ADAPTER, AUDIT_KINDS
from titrator.review.model import SessionReview, build_review, load_review


def _variants(logs: dict[str, Path], folder: Path) -> dict[str, Path]:
    return {
        **logs,
        "damaged": damage_line(logs["fever"], folder / "damaged.jsonl", 60),
        "garbage": add_garbage(logs["completed"], folder / "garbage.jsonl", 10),
        "torn": tear_tail(logs["completed"], folder / "torn.jsonl", 40),
    }


def _stored(log: Path) -> dict[int, dict[str, object]]:
    """Every line that parses as JSON, by line number, read independently of titrator."""
    found = {}
    for number, raw in enumerate(log.read_bytes().splitlines(keepends=True), start=1):
        try:
            found[number] = json.loads(raw)
        except ValueError:
            continue
    return found


def test_the_streamed_review_is_the_review_of_the_whole_read(
    logs: dict[str, Path], tmp_path: Path
) -> None:
    for name, log in _variants(logs, tmp_path).items():
        streamed = load_review(log)
        whole = build_review(log, read_for_review(log))
        assert streamed == whole, name
        assert [e.vouched for e in streamed.timeline] == [e.vouched for e in whole.timeline]
        assert len(streamed.timeline) > 0, name


def test_payloads_and_events_read_again_are_the_stored_ones(
    logs: dict[str, Path], tmp_path: Path
) -> None:
    for name, log in _variants(logs, tmp_path).items():
        stored = _stored(log)
        review = load_review(log)
        for entry in review.timeline:
            record = stored[entry.line]
            assert entry.payload == record["payload"], (name, entry.line)
            assert entry.record.seq == entry.seq == record["seq"]
            if entry.kind in AUDIT_KINDS and not entry.summary.endswith(")"):
                expected = AUDIT_EVENT_ADAPTER.validate_python(
                    {**record["payload"], "kind": record["kind"]}
                )
                assert entry.event == expected, (name, entry.line)


def test_events_gives_only_the_asked_kinds_in_log_order(logs: dict[str, Path]) -> None:
    from titrator.domain import events as ev

    review = load_review(logs["fever"])
    got = list(review.events(ev.VitalsDue, ev.VitalsAccepted))
    assert got, "the fever log records vitals"
    assert all(isinstance(event, ev.VitalsDue | ev.VitalsAccepted) for _, event in got)
    assert [entry.line for entry, _ in got] == sorted(entry.line for entry, _ in got)
    expected = [e.line for e in review.timeline if e.kind in {"vitals_due", "vitals_accepted"}]
    assert [entry.line for entry, _ in got] == expected


def _patient_text(review: SessionReview) -> str:
    opened = next(e for e in review.timeline if e.kind == "session_opened")
    setup = opened.payload["setup"]
    assert isinstance(setup, dict)
    return str(setup["patient_id_1"])


def test_a_line_rewritten_after_the_read_is_refused_without_its_content(
    logs: dict[str, Path], tmp_path: Path
) -> None:
    log = tmp_path / "fever.jsonl"
    log.write_bytes(logs["fever"].read_bytes())
    review = load_review(log)
    patient = _patient_text(review)
    opened = next(e for e in review.timeline if e.kind == "session_opened")
    data = log.read_bytes()
    assert patient.encode() in data
    log.write_bytes(data.replace(patient.encode(), b"X" * len(patient.encode())))
    with pytest.raises(LogChangedError) as caught:
        _ = opened.payload
    message = str(caught.value)
    assert "fever.jsonl" in message
    assert f"line {opened.line}" in message
    assert patient not in message
    assert isinstance(caught.value, OSError)  # the callers' file-error handling catches it


def test_a_log_removed_after_the_read_is_refused(logs: dict[str, Path], tmp_path: Path) -> None:
    log = tmp_path / "completed.jsonl"
    log.write_bytes(logs["completed"].read_bytes())
    review = load_review(log)
    os.remove(log)
    with pytest.raises(LogChangedError, match=r"completed\.jsonl: cannot read line 1 again"):
        _ = review.timeline[0].record


def test_a_log_that_grew_since_the_read_still_reads_back(
    logs: dict[str, Path], tmp_path: Path
) -> None:
    """A log still being written only grows: what was reviewed is still there, unchanged."""
    log = tmp_path / "unfinished.jsonl"
    full = logs["completed"].read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(full[:30]))
    review = load_review(log)
    log.write_bytes(b"".join(full))
    assert [e.payload for e in review.timeline] == [json.loads(r)["payload"] for r in full[:30]]


def test_a_snapshot_reads_back_from_its_bytes_not_the_file(
    logs: dict[str, Path], tmp_path: Path
) -> None:
    log = tmp_path / "stopped.jsonl"
    data = logs["stopped"].read_bytes()
    log.write_bytes(data)
    review = build_review(log, read_for_review(log, data=data))
    os.remove(log)
    assert review.timeline[-1].payload == json.loads(data.splitlines()[-1])["payload"]


def test_log_lines_check_each_line_and_know_their_count(tmp_path: Path) -> None:
    log = tmp_path / "three.jsonl"
    rows = [b'{"a":1}\n', b"not json\n", b'{"c":3}']
    log.write_bytes(b"".join(rows))
    lines = LogLines(log)
    for row in rows:
        lines.add(row)
    assert len(lines) == 3
    assert [lines.line(n) for n in (1, 2, 3)] == rows
    with pytest.raises(IndexError):
        lines.line(4)
    with pytest.raises(IndexError):
        lines.line(0)
    log.write_bytes(b'{"a":2}\n' + b"".join(rows[1:]))  # same length, one byte changed
    with pytest.raises(LogChangedError, match="line 1 is not what was read"):
        lines.line(1)
    assert lines.line(2) == rows[1]  # the other lines are still what was read


def test_entries_keep_no_payload_or_event(logs: dict[str, Path]) -> None:
    """The point of issue 17's change: nothing per record but the entry's own fields."""
    entry = load_review(logs["completed"]).timeline[0]
    assert not hasattr(entry, "__dict__")
    assert {"payload", "event", "record"}.isdisjoint(type(entry).__slots__)


def test_an_export_of_a_log_changed_meanwhile_says_so_and_writes_nothing(
    logs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from titrator.cli import review as review_cli

    log = tmp_path / "fever.jsonl"
    log.write_bytes(logs["fever"].read_bytes())
    patient = _patient_text(load_review(log))

    def load_then_rewrite(path: Path, key: bytes | None = None) -> SessionReview:
        review = load_review(path, key=key)
        data = log.read_bytes()
        log.write_bytes(data.replace(patient.encode(), b"X" * len(patient.encode())))
        return review

    monkeypatch.setattr(review_cli, "load_review", load_then_rewrite)
    out = tmp_path / "fever.csv"
    assert review_cli.export_main([str(log), "--format", "csv", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("titrator export: error: fever.jsonl: line ")
    assert "is not what was read when the log was opened" in err
    assert "nothing exported" in err
    assert patient not in err
    assert not out.exists()
