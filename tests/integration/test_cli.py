"""The `titrator` command: plan output, protocols subcommands, and one-line refusals."""

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support.paths import ROOT
from titrator.cli.main import main

PLAN = [
    "plan",
    "--product",
    "privigen",
    "--indication",
    "pi",
    "--weight-kg",
    "70",
    "--dose-g-per-kg",
    "0.4",
]


@pytest.fixture(autouse=True)
def _no_site_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("TITRATOR_CONFIG", raising=False)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_json_has_the_documented_fields(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([*PLAN, "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    for key in (
        "product",
        "indication",
        "concentration_mg_per_ml",
        "dosing_weight_kg",
        "total_dose_g",
        "total_volume_ml",
        "max_rate_ml_per_h",
        "estimated_duration_min",
        "steps",
    ):
        assert key in data
    assert data["product"] == "privigen"
    assert Decimal(data["total_volume_ml"]) == 280
    first = data["steps"][0]
    for key in (
        "rate_mg_per_kg_min",
        "rate_ml_per_kg_min",
        "rate_ml_per_h",
        "start_min",
        "duration_min",
        "volume_ml",
    ):
        assert key in first
    assert Decimal(first["rate_ml_per_h"]) == 21
    assert Decimal(first["rate_mg_per_kg_min"]) == Decimal("0.5")
    assert Decimal(first["rate_ml_per_kg_min"]) == Decimal("0.005")
    assert sum(Decimal(s["volume_ml"]) for s in data["steps"]) == 280


def test_plan_table_shows_all_three_units_times_volumes_and_the_disclaimer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run([*PLAN, "--first-infusion"], capsys)
    assert code == 0
    assert "mg/kg/min  mL/kg/min    mL/h  Start" in out
    assert "   1        0.5      0.005      21   0:00" in out
    assert "154.3 lb" in out
    assert "does not replace the prescriber's order" in out


def test_at_risk_plan_uses_the_site_default_cap(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([*PLAN, "--at-risk", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["binding_cap"]["kind"] == "site_at_risk"
    assert Decimal(data["max_rate_ml_per_h"]) == 84


def test_a_site_config_sets_the_at_risk_cap(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "site.toml"
    config.write_text("site_at_risk_cap_mg_per_kg_min = 3\n")
    code, out, _ = run(["--config", str(config), *PLAN, "--at-risk", "--json"], capsys)
    assert code == 0
    assert Decimal(json.loads(out)["max_rate_ml_per_h"]) == 126


def test_a_broken_site_config_names_file_and_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "site.toml"
    config.write_text("site_at_risk_cap = 3\n")
    code, _, err = run(["--config", str(config), *PLAN], capsys)
    assert code == 1
    assert (
        f"{config}: site_at_risk_cap: unknown key; did you mean 'site_at_risk_cap_mg_per_kg_min'?"
        in err
    )


def _with(option: str, value: str) -> list[str]:
    args = list(PLAN)
    args[args.index(option) + 1] = value
    return args


BAD_INPUTS = [
    ("--weight-kg", "4..8"),
    ("--weight-kg", "1e3"),
    ("--weight-kg", ""),
    ("--weight-kg", "NaN"),
    ("--weight-kg", "-1"),
    ("--weight-kg", ".5"),
    ("--weight-kg", "4,8"),
    ("--weight-kg", "1.9"),
    ("--weight-kg", "301"),
    ("--dose-g-per-kg", "0"),
    ("--dose-g-per-kg", "0.9"),
    ("--dose-g-per-kg", "1e3"),
    ("--product", "nosuch"),
    ("--indication", "mmn"),
]


@pytest.mark.parametrize(("option", "value"), BAD_INPUTS)
def test_bad_input_is_refused_in_one_line_naming_the_option(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(_with(option, value), capsys)
    assert code == 2
    assert err.count("\n") == 1
    assert option in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "--product", "privigen", "--indication", "pi", "--weight-kg=--"],
        ["plan", "--product=--", "--indication", "pi", "--weight-kg", "70"],
        ["simulate", "--product", "privigen", "--indication", "pi", "--dose-g-per-kg=--"],
        ["review", "--summary=--"],
        ["export", "log.jsonl", "--format=--"],
    ],
)
def test_a_value_of_double_dash_is_a_named_usage_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Python 3.11's argparse drops a value that is exactly `--` (`--weight-kg=--` reached the
    planner as an empty list and stopped on an unexpected error)."""
    option = next(word.split("=")[0] for word in argv if word.endswith("=--"))
    code, out, err = run(argv, capsys)
    assert (code, out) == (2, "")
    assert err == f"titrator {argv[0]}: error: {option}: expected one argument\n"


def test_a_range_refusal_is_one_plain_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(_with("--weight-kg", "700"), capsys)
    assert code == 2
    assert err == "titrator plan: error: --weight-kg: must be 2 to 300 kg (got '700')\n"


def test_protocols_list_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["protocols", "list", "--json"], capsys)
    assert code == 0
    assert {row["id"] for row in json.loads(out)} >= {"privigen", "bivigam", "gammaplex-10"}
    code, out, _ = run(["protocols", "show", "octagam-10"], capsys)
    assert code == 0
    assert '"ladder"' in out
    assert "sha256" in out


def test_protocols_validate_reports_every_broken_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["protocols", "validate"], capsys)
    assert code == 0
    assert out.count(": ok (") == 13  # the 12 products and Qivigy
    bad = ROOT / "tests" / "data" / "products" / "bad"
    paths = sorted(str(p) for p in bad.glob("*.toml"))
    code, out, _ = run(["protocols", "validate", *paths], capsys)
    assert code == 1
    for path in paths:
        assert path in out


@pytest.mark.parametrize(
    "argv0", [[sys.executable, "-m", "titrator"], [str(Path(sys.executable).parent / "titrator")]]
)
def test_the_installed_command_and_module_run(argv0: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    done = subprocess.run(
        [*argv0, *PLAN, "--json"], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["steps"][0]["rate_ml_per_h"] == "21"
    bad = subprocess.run(
        [*argv0, *_with("--weight-kg", "4..8")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().endswith("more than one decimal point (got '4..8')")


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    command = f"{sys.executable} -m titrator {' '.join(PLAN)} | head -n 1"
    done = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, env=env, check=False
    )
    assert done.stdout.startswith("Privigen")
    assert "Traceback" not in done.stderr
