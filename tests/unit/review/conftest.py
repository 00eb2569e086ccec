"""Fixtures: realistic logs recorded through the controller and the audit writer, once per
test process, and damaged copies of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.review.logbuild import LogSpec, build_log
from tests.unit.review.logs import SCENARIOS, damage_line


@pytest.fixture(scope="session")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One closed log per scenario script, plus an unfinished one (`unfinished`)."""
    folder = tmp_path_factory.mktemp("logs")
    built = {
        name: build_log(folder, LogSpec(session_id=f"s-{name}", script=name)) for name in SCENARIOS
    }
    built["unfinished"] = build_log(
        folder, LogSpec(session_id="s-unfinished", script="completed", until_min=60)
    )
    return built


@pytest.fixture
def damaged(tmp_path: Path, logs: dict[str, Path]) -> Path:
    """The fever log with the user of line 60 rewritten (a record altered after the fact)."""
    return damage_line(logs["fever"], tmp_path / "s-fever.jsonl", 60)
