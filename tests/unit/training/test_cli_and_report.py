"""`titrator train` and the debrief page."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import paths as support_paths
from titrator.cli.train import train_main


def test_no_argument_lists_every_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert train_main([]) == 0
    out = capsys.readouterr().out
    assert "anaphylaxis" in out
    assert "teaches:" in out
    assert train_main(["--list"]) == 0


def test_a_headless_run_prints_the_debrief_and_writes_a_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "debrief.html"
    code = train_main(
        ["anaphylaxis", "--headless", "careless", "--html", str(page), "--data-dir", str(tmp_path)]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "DEBRIEF — TRAINING" in out
    assert "missed" in out
    assert "tried to override a hard limit" in out
    html = page.read_text(encoding="utf-8")
    assert "TRAINING — not a patient record" in html
    for remote in ("http:", "https:", "src=", "<script", "<link"):
        assert remote not in html
    assert list(tmp_path.glob("training-anaphylaxis-careless*.jsonl"))


def test_an_unknown_scenario_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert train_main(["no-such-thing", "--headless", "perfect"]) == 2
    assert "SCENARIO: no scenario of that name" in capsys.readouterr().err


def test_a_bad_scenario_file_is_refused_with_its_field(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = support_paths.DATA / "training" / "bad" / "bad-rule-id.toml"
    assert train_main([str(bad), "--headless", "perfect"]) == 2
    assert "expect[0].rule_ids" in capsys.readouterr().err


def test_speed_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    assert train_main(["febrile", "--speed", "0"]) == 2
    assert "--speed" in capsys.readouterr().err
