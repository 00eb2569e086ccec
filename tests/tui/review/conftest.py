"""Fixtures for the review app tests: logs recorded through the controller, read once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.review.logbuild import LogSpec, build_log
from tests.unit.review.logs import FIXTURE_LOG, SCENARIOS, damage_line
from titrator.review.model import SessionReview, load_review


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with one log per scenario (patients MRN-0001…), an unfinished and a damaged log."""
    folder = tmp_path_factory.mktemp("review-logs")
    for n, name in enumerate(SCENARIOS, start=1):
        spec = LogSpec(
            session_id=f"s-{name}", script=name, patient_ids=(f"MRN-000{n}", "1970-01-01")
        )
        build_log(folder, spec)
    build_log(
        folder,
        LogSpec(
            session_id="s-unfinished",
            script="completed",
            until_min=60,
            patient_ids=("MRN-0009", "1980-02-02"),
        ),
    )
    damage_line(FIXTURE_LOG, folder / "s-damaged.jsonl", 60)
    return folder


@pytest.fixture(scope="session")
def reviews(log_dir: Path) -> list[SessionReview]:
    """Every log in `log_dir`, reviewed, in file-name order."""
    return [load_review(p) for p in sorted(log_dir.glob("*.jsonl"))]


@pytest.fixture(scope="session")
def damaged_review(tmp_path_factory: pytest.TempPathFactory) -> SessionReview:
    """The committed fever log with line 60 altered (fixed content: stable snapshots)."""
    return load_review(damage_line(FIXTURE_LOG, tmp_path_factory.mktemp("d") / "s-fever.jsonl", 60))


@pytest.fixture(scope="session")
def fixture_review() -> SessionReview:
    """The committed fever log, intact."""
    return load_review(FIXTURE_LOG)
