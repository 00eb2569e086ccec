"""`titrator plan` with courses, grams and whole vials, an outside-label reason and an age."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from titrator.cli.main import main

ERROR = re.compile(r"^titrator plan: error: --[a-z-]+: .+\n$")


@pytest.fixture(autouse=True)
def _no_site_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("TITRATOR_CONFIG", raising=False)


def plan(product: str, indication: str, *options: str) -> list[str]:
    return ["plan", "--product", product, "--indication", indication, "--weight-kg", "70", *options]


def run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main([*args, "--json"]) == 0, capsys.readouterr().err
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def refused(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert ERROR.match(captured.err), captured.err
    assert "Traceback" not in captured.err
    return captured.err


def test_day_2_of_a_5_day_course_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    args = plan("privigen", "cidp", "--course-g-per-kg", "2", "--course-days", "5")
    data = run_json([*args, "--course-day", "2"], capsys)
    assert data["course"] == {
        "total_g_per_kg": "2",
        "days": 5,
        "day": 2,
        "total_g": "140",
        "day_dose_g": "28",
        "given_before_g": "28",
    }
    assert data["total_dose_g"] == "28"
    assert data["total_volume_ml"] == "280"


def test_the_course_is_shown_in_the_plan_table(capsys: pytest.CaptureFixture[str]) -> None:
    args = plan("privigen", "cidp", "--course-g-per-kg", "2", "--course-days", "5")
    assert main([*args, "--course-day", "3"]) == 0
    out = capsys.readouterr().out
    assert "Course 2 g/kg over 5 days = 140 g; today 0.4 g/kg = 28 g = 280 mL" in out
    assert "Course day 3 of 5: 28 g today; 56 g of 140 g given before" in out
    assert all(len(line) <= 80 for line in out.splitlines()[:8])


def test_a_split_the_label_does_not_allow_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(plan("privigen", "cidp", "--course-g-per-kg", "2", "--course-days", "7"), capsys)
    assert err.startswith("titrator plan: error: --course-days: 2 g/kg over 7 days is not")
    assert "(got '7')" in err


def test_grams_rounded_to_whole_vials_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(plan("gamunex-c", "pi", "--dose-g", "27.3", "--round-to-vials"), capsys)
    assert data["total_dose_g"] == "27.5"
    assert data["ordered_dose_g"] == "27.3"
    assert data["vials"] == [
        {"size_g": "20", "count": 1},
        {"size_g": "5", "count": 1},
        {"size_g": "2.5", "count": 1},
    ]
    assert data["rounding_pct"] == "0.7"
    assert data["total_volume_ml"] == "275"


def test_the_vials_and_the_difference_are_shown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(plan("gamunex-c", "pi", "--dose-g", "27.3", "--round-to-vials")) == 0
    out = capsys.readouterr().out
    assert "Dose ordered 27.3 g, rounded to whole vials: 27.5 g (+0.7 %)" in out
    assert "Vials: 1 x 20 g, 1 x 5 g, 1 x 2.5 g" in out


def test_rounding_a_product_without_vial_sizes_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    err = refused(plan("octagam-5", "pi", "--dose-g", "28", "--round-to-vials"), capsys)
    assert "--round-to-vials: the Octagam 5% product file lists no vial sizes" in err


def test_a_dose_given_two_ways_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(plan("gamunex-c", "pi", "--dose-g-per-kg", "0.4", "--dose-g", "28"), capsys)
    assert "--dose-g: not with --dose-g-per-kg" in err


def test_no_dose_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(plan("gamunex-c", "pi"), capsys)
    assert "--dose-g-per-kg: required, not given" in err


@pytest.mark.parametrize(
    ("option", "text", "words"),
    [
        ("--course-days", "2.5", "must be a whole number (got '2.5')"),
        ("--age-years", "twelve", "not a plain decimal number"),
        ("--dose-g", "-3", "must not be negative"),
    ],
)
def test_bad_numbers_name_the_option_and_the_text(
    option: str, text: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = plan("privigen", "cidp", "--course-g-per-kg", "2", "--course-days", "5")
    if option != "--course-days":
        args = plan("privigen", "pi", "--dose-g-per-kg", "0.4")
    err = refused([*args, option, text], capsys)
    assert option in err
    assert words in err


def test_a_pi_dose_of_0_8_needs_a_reason_and_then_shows_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    err = refused(plan("gamunex-c", "pi", "--dose-g-per-kg", "0.8"), capsys)
    assert "--dose-g-per-kg: 0.8 g/kg is above the label's usual range" in err
    assert "--outside-label-reason" in err
    assert "(got '0.8')" in err
    reason = "trough below target"
    args = plan("gamunex-c", "pi", "--dose-g-per-kg", "0.8", "--outside-label-reason", reason)
    data = run_json(args, capsys)
    assert reason in data["outside_label"]
    assert main(args) == 0
    assert "OUTSIDE LABEL DOSE: 0.8 g/kg is above" in capsys.readouterr().out


def test_the_site_maximum_is_hard(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text("site_max_dose_g_per_kg = 1\n", encoding="utf-8")
    args = plan("gamunex-c", "pi", "--dose-g-per-kg", "1.5", "--outside-label-reason", "x")
    err = refused([*args, "--config", str(config)], capsys)
    assert "above the site's maximum for one infusion (1 g/kg)" in err


def test_an_age_below_the_label_limit_is_refused_with_the_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    err = refused(plan("asceniv", "pi", "--dose-g-per-kg", "0.4", "--age-years", "10"), capsys)
    assert "--age-years: 10 years is outside the label's ages" in err
    assert "12 years and over" in err
    assert "(got '10')" in err


def test_the_age_is_shown_on_the_plan(capsys: pytest.CaptureFixture[str]) -> None:
    args = plan("asceniv", "pi", "--dose-g-per-kg", "0.4", "--age-years", "30")
    assert main(args) == 0
    assert "Age 30 years (label: 12 years and over)" in capsys.readouterr().out
    assert run_json(args, capsys)["age_years"] == 30
