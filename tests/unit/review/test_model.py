"""SessionReview from real logs: outcomes, episodes, segments, durations, integrity."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.unit.review.logs import add_garbage, tear_tail
from titrator.audit import AuditWriter, generate_key_file, load_key
from titrator.domain.policy import Severity
from titrator.domain.vitals import VitalField
from titrator.review.integrity import IntegrityStatus
from titrator.review.model import InfusionOutcome, load_review
from titrator.review.timeline import Category
from titrator.shell.clocks import SystemClock


@pytest.mark.parametrize(
    ("name", "outcome"),
    [
        ("completed", InfusionOutcome.COMPLETED),
        ("fever", InfusionOutcome.COMPLETED),
        ("anaphylaxis", InfusionOutcome.STOPPED_FOR_REACTION),
        ("override", InfusionOutcome.COMPLETED),
        ("stopped", InfusionOutcome.ABORTED),
        ("unfinished", InfusionOutcome.UNFINISHED),
    ],
)
def test_each_scenario_gets_its_outcome(
    logs: dict[str, Path], name: str, outcome: InfusionOutcome
) -> None:
    review = load_review(logs[name])
    assert review.outcome is outcome
    expected = IntegrityStatus.UNFINISHED if name == "unfinished" else IntegrityStatus.CHAIN_ONLY
    assert review.integrity.status is expected


def test_header_comes_from_the_setup(logs: dict[str, Path]) -> None:
    h = load_review(logs["completed"]).header
    assert (h.patient_id, h.patient_id_2, h.nurse_id, h.lot) == (
        "MRN-0001",
        "1970-01-01",
        "rn-0042",
        "P100234",
    )
    assert h.product_id == "privigen"
    assert h.indication_id == "pi"
    assert h.final_rate_ml_per_h == Decimal("252.0")


def test_rate_segments_chain_and_the_durations(logs: dict[str, Path]) -> None:
    review = load_review(logs["completed"])
    rates = [s.rate_ml_per_h for s in review.rate_segments]
    assert rates == [Decimal(r) for r in ("21.0", "42.0", "84.0", "168.0", "252.0", "0")]
    for before, after in zip(review.rate_segments, review.rate_segments[1:], strict=False):
        assert before.end == after.start
    assert review.rate_segments[-1].end == review.closed_at
    assert review.time_to_final_rate == timedelta(hours=2)
    assert review.chair_time == timedelta(hours=3, minutes=10)
    assert review.volume_ml == Decimal("280.0")
    assert all(c.outcome == "confirmed" for c in review.pump_commands)


def test_a_mild_reaction_updated_twice_is_one_episode_with_its_reasons(
    logs: dict[str, Path],
) -> None:
    review = load_review(logs["fever"])
    (reaction,) = review.reactions
    assert reaction.severity is Severity.MILD
    assert reaction.rule_ids == ("SYM-MILD", "TEMP-RISE-1")
    assert reaction.updates == 2
    assert reaction.action == "pause"
    assert reaction.reasons
    assert "chills/rigors" in reaction.reasons[0]
    assert reaction.opened_by == "rn-0042"
    assert review.time_to_final_rate is None  # never reached the last step


def test_a_severe_reaction_stops_the_infusion(logs: dict[str, Path]) -> None:
    review = load_review(logs["anaphylaxis"])
    (reaction,) = review.reactions
    assert reaction.severity is Severity.SEVERE
    assert reaction.never_restart
    assert "severe reaction" in review.outcome_detail
    refused = [e for e in review.timeline if e.kind == "input_refused"]
    assert refused
    assert "cannot be overridden" in refused[0].summary


def test_an_override_keeps_its_reason_note_and_nurse(logs: dict[str, Path]) -> None:
    (override,) = load_review(logs["override"]).overrides
    assert (override.reason, override.limit, override.nurse_id) == (
        "patient_request",
        "increase declined",
        "rn-0042",
    )
    assert override.note == "anxious; stay at this rate for now"


def test_a_nurse_stop_is_an_abort_with_the_reason(logs: dict[str, Path]) -> None:
    review = load_review(logs["stopped"])
    assert "patient request" in review.outcome_detail


def test_vitals_series_keep_decimal_values(logs: dict[str, Path]) -> None:
    review = load_review(logs["fever"])
    temps = review.vital_series(VitalField.TEMP_C)
    assert Decimal("37.7") in [v for _, v in temps]
    assert review.vitals[0].purpose == "baseline"


def test_every_record_is_on_the_timeline_with_a_category(logs: dict[str, Path]) -> None:
    review = load_review(logs["fever"])
    lines = logs["fever"].read_text().count("\n")
    assert len(review.timeline) == lines
    assert all(e.vouched for e in review.timeline)
    assert {e.category for e in review.timeline} >= {
        Category.VITALS,
        Category.RATE,
        Category.REACTION,
    }
    assert all("mL/h" in e.summary for e in review.timeline if e.kind == "rate_changed")


def test_a_damaged_log_names_the_line_and_stops_vouching_from_there(damaged: Path) -> None:
    review = load_review(damaged)
    integrity = review.integrity
    assert integrity.status is IntegrityStatus.DAMAGED
    banner = integrity.banner()
    assert "DAMAGED at line 60" in banner
    assert "record altered" in banner
    assert "NOT vouched for" in banner
    assert [e.vouched for e in review.timeline[58:61]] == [True, False, False]
    assert review.timeline[59].nurse_id == "rn-9999"
    assert review.outcome is InfusionOutcome.COMPLETED  # what is readable is still reviewed


def test_unreadable_lines_are_listed_and_never_fatal(logs: dict[str, Path], tmp_path: Path) -> None:
    log = add_garbage(logs["completed"], tmp_path / "g.jsonl", 10)
    review = load_review(log)
    assert review.integrity.status is IntegrityStatus.DAMAGED
    assert [p.line for p in review.integrity.unreadable] == [11]
    assert "Unreadable: line 11" in review.integrity.banner()
    assert len(review.timeline) == log.read_text().count("\n") - 1


def test_a_torn_tail_is_unfinished_and_says_so(logs: dict[str, Path], tmp_path: Path) -> None:
    review = load_review(tear_tail(logs["completed"], tmp_path / "t.jsonl", 40))
    assert review.integrity.status is IntegrityStatus.UNFINISHED
    assert "Line 41: last line is incomplete" in review.integrity.banner()
    assert review.outcome is InfusionOutcome.UNFINISHED


@pytest.mark.parametrize("content", [b"", b"\x00\xff garbage\n", b"{}\n", b"[1, 2]\n"])
def test_junk_files_give_a_review_not_an_exception(tmp_path: Path, content: bytes) -> None:
    log = tmp_path / "junk.jsonl"
    log.write_bytes(content)
    review = load_review(log)
    assert review.outcome is InfusionOutcome.UNFINISHED
    assert review.header.product_label == "unknown product — unknown indication"


def test_a_log_closed_by_the_writer_is_aborted(tmp_path: Path) -> None:
    writer = AuditWriter.create(
        "s-w",
        station_id="bay-1",
        nurse_id="rn-1",
        data_dir=tmp_path,
        sync_each_record=False,
        clock=SystemClock(),
    )
    writer.close(reason="program shut down")
    review = load_review(tmp_path / "s-w.jsonl")
    assert review.outcome is InfusionOutcome.ABORTED
    assert "program shut down" in review.outcome_detail
    assert review.integrity.status is IntegrityStatus.CHAIN_ONLY  # no key, no anchor


def test_macs_are_checked_with_the_key_and_a_wrong_key_is_damage(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    key_dir.mkdir(mode=0o700)
    generate_key_file(key_dir / "site.key")
    generate_key_file(key_dir / "other.key")
    writer = AuditWriter.create(
        "s-k",
        station_id="b",
        nurse_id="n",
        data_dir=tmp_path / "logs",
        key_file=key_dir / "site.key",
        sync_each_record=False,
        clock=SystemClock(),
    )
    writer.close(reason="test")
    log = tmp_path / "logs" / "s-k.jsonl"
    assert (
        "HMAC chain verified"
        in load_review(log, key=load_key(key_dir / "site.key")).integrity.banner()
    )
    assert "MACs not checked" in load_review(log).integrity.banner()
    wrong = load_review(log, key=load_key(key_dir / "other.key")).integrity
    assert wrong.status is IntegrityStatus.DAMAGED
    assert "wrong key" in wrong.banner()
