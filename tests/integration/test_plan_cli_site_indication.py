"""`titrator plan --library DIR ... --indication kawasaki`, and the log of such a session: an
off-label site protocol says so, with its source, in the plan text, the JSON, the log and the
review (issue 14 item 6)."""

from __future__ import annotations

import json
import re
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.integration.audit.harness import SCRIPTS
from titrator.audit import read_audit
from titrator.cli.main import main
from titrator.cli.simulate import simulate_main
from titrator.domain.events import AUDIT_EVENT_ADAPTER, SessionOpened
from titrator.files.library import protocols_dir
from titrator.review.export_discharge import to_discharge
from titrator.review.export_html import to_html
from titrator.review.model import load_review

EXAMPLE = protocols_dir() / "site-examples" / "kawasaki-privigen.toml"
AHA = "American Heart Association scientific statement 2017 (McCrindle et al., Circulation"
KAWASAKI = ["--product", "privigen", "--indication", "kawasaki", "--weight-kg", "20"]
LABEL_MAX_MG_PER_KG_MIN = Decimal(8)  # Privigen's label maximum (PI, CIDP)


@pytest.fixture(autouse=True)
def _no_site_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("TITRATOR_CONFIG", raising=False)


@pytest.fixture
def library_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "library"
    directory.mkdir()
    shutil.copy(EXAMPLE, directory)
    return directory


def plan_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["plan", *args, "--json"]) == 0, capsys.readouterr().err
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def test_the_json_plan_carries_the_off_label_marker_and_stays_under_the_label_maximum(
    library_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for first in ([], ["--first-infusion"]):
        data = plan_json(
            capsys, "--library", str(library_dir), *KAWASAKI, "--dose-g-per-kg", "2", *first
        )
        off = data["off_label"]
        assert off["site_protocol"] is True
        assert off["source"].startswith(AHA)
        assert off["marker"] == f"off-label: site protocol ({off['source']})"
        assert off["file"] == "kawasaki-privigen"
        assert data["total_dose_g"] == "40"
        assert data["notes"][0].startswith("off-label: site protocol (")
        assert all(
            Decimal(step["rate_mg_per_kg_min"]) <= LABEL_MAX_MG_PER_KG_MIN for step in data["steps"]
        )
    assert data["binding_cap"]["kind"] == "first_infusion"


def test_the_text_plan_says_off_label_site_protocol_under_the_indication(
    library_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--library", str(library_dir), "plan", *KAWASAKI, "--dose-g-per-kg", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "Indication: Kawasaki disease"
    assert lines[2] == f"OFF-LABEL: site protocol ({AHA} 2017;135:e927-e999))"
    assert "site file kawasaki-privigen version 2026.12.06" in lines[3]


def test_without_the_site_file_kawasaki_is_an_unknown_indication(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plan", *KAWASAKI, "--dose-g-per-kg", "2"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "titrator plan: error: --indication: Privigen has no indication 'kawasaki'; known: "
        "pi, itp, cidp (got 'kawasaki')\n"
    )


def test_a_site_file_above_the_label_maximum_stops_the_plan_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "bad"
    directory.mkdir()
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "rates = [0.5, 1, 2, 3, 4]", "rates = [0.5, 1, 2, 3, 4, 9]"
    )
    text = re.sub(
        r"max_rate = \{ value = 4, .*\n", 'max_rate = { value = 9, unit = "mg/kg/min" }\n', text
    )
    (directory / "kawasaki-privigen.toml").write_text(text, encoding="utf-8")
    code = main(["plan", "--library", str(directory), *KAWASAKI, "--dose-g-per-kg", "2"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert captured.err == (
        f"titrator plan: error: {directory / 'kawasaki-privigen.toml'}: "
        "indications.kawasaki.max_rate.value: is above the Privigen label's maximum rate "
        "(8 mg/kg/min); a site protocol may not run faster than the label allows "
        "(got 9 mg/kg/min)\n"
    )


def test_the_log_and_the_review_say_off_label_site_protocol(
    library_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = tmp_path / "logs"
    code = simulate_main(
        [
            *KAWASAKI,
            "--dose-g-per-kg",
            "2",
            "--library",
            str(library_dir),
            "--events",
            str(SCRIPTS / "uneventful.jsonl"),
            "--auto-accept",
            "--audit-dir",
            str(logs),
        ]
    )
    assert code == 0, capsys.readouterr().err
    path = logs / "simulate-privigen.jsonl"
    # The record as written: the plan in session_opened says it, with its source.
    raw = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    opened_raw = next(r for r in raw if r["kind"] == "session_opened")
    plan = opened_raw["payload"]["plan"]
    assert plan["off_label"]["site_protocol"] is True
    assert plan["off_label"]["source"].startswith(AHA)
    assert plan["notes"][0].startswith("off-label: site protocol (")
    # Read back as events.
    opened = [
        e.event for e in read_audit(path, AUDIT_EVENT_ADAPTER) if isinstance(e.event, SessionOpened)
    ]
    assert len(opened) == 1
    assert opened[0].plan.off_label is not None
    assert opened[0].plan.off_label.file_id == "kawasaki-privigen"
    # The review, the HTML export and the discharge sheet.
    review = load_review(path)
    assert review.header.product_label == "Privigen — Kawasaki disease (off-label: site protocol)"
    html = to_html(review)
    assert "<dt>Off-label</dt><dd>off-label: site protocol (American Heart Association" in html
    assert "Kawasaki disease (off-label: site protocol)" in to_discharge(review)
