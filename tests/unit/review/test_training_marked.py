"""Issue 12 item 5: a demo or training log says so in `session_opened`, and every review view,
export and folder-wide figure carries the TRAINING mark (or leaves the log out, and says so)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from tests.support import clinical
from tests.unit.review.logbuild import LogSpec, build_log
from tests.unit.review.logs import FIXTURE_LOG
from titrator.audit.reader import read_audit
from titrator.cli.review import review_main
from titrator.domain.events import AUDIT_EVENT_ADAPTER, AUDIT_KINDS, SessionOpened
from titrator.interop.fhir.export import TRAINING_TAG, to_fhir
from titrator.review.export_csv import to_csv
from titrator.review.export_html import to_html
from titrator.review.model import SessionReview, load_review
from titrator.review.summary import load_all, summarise, summary_table
from titrator.training.runner import TODAY, HeadlessRun
from titrator.training.scenarios import load_training_scenario
from titrator.training.trainees import PerfectTrainee

V2_0103 = "http://terminology.hl7.org/CodeSystem/v2-0103"


def _opened(path: Path) -> SessionOpened:
    for entry in read_audit(path, AUDIT_EVENT_ADAPTER, AUDIT_KINDS):
        if isinstance(entry.event, SessionOpened):
            return entry.event
    raise AssertionError(f"no session_opened in {path}")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two real logs and one training log of the same product."""
    folder = tmp_path_factory.mktemp("training")
    build_log(folder, LogSpec(session_id="s-real-1", script="completed"))
    build_log(folder, LogSpec(session_id="s-real-2", script="override"))
    build_log(folder, LogSpec(session_id="s-train", script="fever", training=True))
    return folder


@pytest.fixture(scope="module")
def trained(folder: Path) -> SessionReview:
    return load_review(folder / "s-train.jsonl")


def test_a_headless_training_run_says_so_in_session_opened(tmp_path: Path) -> None:
    library, loaded = clinical.library(), clinical.loaded_policy()
    scenario = load_training_scenario("febrile", library, loaded.policy, TODAY)
    run = HeadlessRun(
        scenario,
        PerfectTrainee(),
        library=library,
        policy=loaded,
        data_dir=tmp_path,
        sync_each_record=False,
    )
    result = run.run()
    assert _opened(result.audit_path).training is True
    assert load_review(result.audit_path).training


def test_the_field_is_recorded_and_read(folder: Path, trained: SessionReview) -> None:
    assert _opened(folder / "s-train.jsonl").training is True
    assert _opened(folder / "s-real-1.jsonl").training is False
    assert trained.training
    assert "session_opened.training is true" in trained.training_marks
    assert not load_review(folder / "s-real-1.jsonl").training


def test_an_old_log_without_the_field_reads_as_not_training() -> None:
    first = json.loads(
        next(line for line in FIXTURE_LOG.read_text().splitlines() if "session_opened" in line)
    )
    assert "training" not in first["payload"]
    review = load_review(FIXTURE_LOG)
    assert not review.training
    assert review.training_marks == ()


def test_an_old_log_with_the_older_marks_reads_as_training(tmp_path: Path) -> None:
    path = build_log(tmp_path, LogSpec(session_id="s-old", station_id="TRAINING-bay-3"))
    review = load_review(path)
    assert review.training
    assert review.training_marks == ("station TRAINING-bay-3",)


def test_the_html_report_is_marked_training(folder: Path, trained: SessionReview) -> None:
    html = to_html(trained)
    assert "<title>TRAINING — " in html
    assert 'class="banner training"' in html
    assert "not a real patient" in html
    real = to_html(load_review(folder / "s-real-1.jsonl"))
    assert "TRAINING" not in real


def test_every_csv_row_carries_the_mark(folder: Path, trained: SessionReview) -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(trained), newline="")))
    assert rows
    assert {row["training"] for row in rows} == {"yes"}
    real = list(csv.DictReader(io.StringIO(to_csv(load_review(folder / "s-real-1.jsonl")))))
    assert {row["training"] for row in real} == {"no"}


def _tags(resource: dict[str, Any]) -> list[dict[str, Any]]:
    tags: list[dict[str, Any]] = resource.get("meta", {}).get("tag", [])
    return tags


def test_the_fhir_bundle_and_every_resource_are_tagged(
    folder: Path, trained: SessionReview
) -> None:
    bundle = to_fhir(trained)
    assert {"system": V2_0103, "code": "T", "display": "Training"} in _tags(bundle)
    assert TRAINING_TAG == {"system": V2_0103, "code": "T", "display": "Training"}
    for entry in bundle["entry"]:
        assert TRAINING_TAG in _tags(entry["resource"]), entry["resource"]["resourceType"]
    Bundle.model_validate(bundle)
    real = to_fhir(load_review(folder / "s-real-1.jsonl"))
    assert TRAINING_TAG not in _tags(real)
    assert all(TRAINING_TAG not in _tags(e["resource"]) for e in real["entry"])


def test_the_summary_leaves_training_out_and_says_how_many(folder: Path) -> None:
    reviews, problems = load_all(sorted(folder.glob("*.jsonl")))
    summary = summarise(reviews, problems)
    assert summary.logs == 2
    assert summary.training_left_out == 1
    assert summary.groups[0].infusions == 2
    assert summary.groups[0].reactions["mild"] == 0  # the training fever is not counted
    text = summary_table(summary)
    assert "1 TRAINING log(s) (demo, train) left out; --include-training counts them." in text
    counted = summarise(reviews, problems, include_training=True)
    assert (counted.logs, counted.training_left_out, counted.training_included) == (3, 0, 1)
    assert counted.groups[0].reactions["mild"] == 1
    assert "1 TRAINING log(s) (demo, train) counted in these figures." in summary_table(counted)


def test_review_summary_option(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert review_main(["--summary", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "2 log(s) counted" in out
    assert "1 TRAINING log(s)" in out
    assert "left out" in out
    assert review_main(["--summary", str(folder), "--include-training"]) == 0
    out = capsys.readouterr().out
    assert "3 log(s) counted" in out
    assert "counted in these figures" in out
