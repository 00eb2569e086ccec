"""The headless runner: example scripts, output shape, bad lines, determinism."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support import paths as support_paths
from titrator.cli.simulate import override_reason, simulate_main
from titrator.domain.decisions import OverrideReason

DATA = support_paths.DATA / "simulate"
FAHRENHEIT = json.dumps(
    {"t_min": 1, "vitals": {"temp_c": "98.6", "hr_bpm": 70, "sbp_mmhg": 120, "dbp_mmhg": 80}}
)
BASE = [
    "--product",
    "privigen",
    "--indication",
    "pi",
    "--weight-kg",
    "70",
    "--dose-g-per-kg",
    "0.4",
]


def run(
    capsys: pytest.CaptureFixture[str], script: str | Path, *extra: str
) -> tuple[int, list[dict[str, Any]], str]:
    path = script if isinstance(script, Path) else DATA / script
    code = simulate_main([*BASE, *extra, "--events", str(path)])
    captured = capsys.readouterr()
    lines = [json.loads(line, parse_float=Decimal) for line in captured.out.splitlines()]
    return code, lines, captured.err


def test_uneventful_infusion_climbs_one_step_at_a_time_and_closes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, lines, err = run(capsys, "uneventful.jsonl", "--auto-accept")
    assert code == 0, err
    steps = [line["step"] for line in lines if line["step"] is not None]
    assert all(b - a in (0, 1) for a, b in itertools.pairwise(steps))
    assert max(steps) == 5
    assert lines[-1]["state"] == "closed" or any(line["state"] == "closed" for line in lines)
    for line in lines:
        assert set(line) >= {"t_min", "state", "step", "rate_ml_per_h"}
        if "recommendation" in line:
            assert line["recommendation"]["action"] in {
                "continue",
                "hold",
                "slow",
                "pause",
                "stop",
                "emergency_stop",
            }
            assert line["recommendation"]["reason"]
    start = next(line for line in lines if line["state"] == "running")
    assert start["t_min"] == 0


def test_fever_pauses_then_finishes_at_the_last_tolerated_rate(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, lines, _ = run(capsys, "fever-pause.jsonl", "--auto-accept")
    assert code == 0
    actions = [line["recommendation"]["action"] for line in lines if "recommendation" in line]
    assert "pause" in actions
    after_pause = lines[[line["state"] for line in lines].index("paused") :]
    rates = [line["rate_ml_per_h"] for line in after_pause if line["rate_ml_per_h"] > 0]
    assert max(rates) == Decimal(42)


def test_anaphylaxis_stops_and_never_restarts(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = run(capsys, "anaphylaxis.jsonl")
    assert code == 0
    emergency = [
        line for line in lines if line.get("recommendation", {}).get("action") == "emergency_stop"
    ]
    assert emergency
    assert "SYM-SEVERE" in emergency[0]["recommendation"]["rule_ids"]
    refused = [line for line in lines if "refused" in line]
    assert refused
    assert lines[-1]["rate_ml_per_h"] == 0


def test_an_out_of_range_line_stops_the_run_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, err = run(capsys, "bad-temperature.jsonl")
    assert code == 2
    assert err.startswith("line 2: vitals.temp_c:")
    assert "got '370'" in err
    assert all(line["t_min"] < 15 for line in lines)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("not json", "line"),
        ('{"vitals": {}}', "t_min"),
        ('{"t_min": 1}', "line"),
        ('{"t_min": 1, "lot": "A", "stop": "x"}', "line"),
        ('{"t_min": 1, "lot": "A", "colour": "red"}', "colour"),
        ('{"t_min": 1, "symptoms": ["sneezing"]}', "symptoms"),
        ('{"t_min": 1, "decision": "maybe"}', "decision"),
        ('{"t_min": 1, "decision": "override"}', "reason"),
        ('{"t_min": 1, "vitals": {"temp_c": true}}', "vitals.temp_c"),
        (FAHRENHEIT, "vitals.temp_c"),
        ('{"t_min": 1, "vitals": {"temp_c": 37}}', "vitals.hr_bpm"),
    ],
)
def test_malformed_lines_name_the_line_and_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, field: str
) -> None:
    script = tmp_path / "s.jsonl"
    script.write_text('{"t_min": 0, "lot": "A1"}\n' + text + "\n", encoding="utf-8")
    code, _, err = run(capsys, script)
    assert code == 2
    assert err.startswith(f"line 2: {field}:"), err


def test_time_must_not_go_backwards(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    script = tmp_path / "s.jsonl"
    script.write_text('{"t_min": 5, "lot": "A"}\n{"t_min": 4, "lot": "B"}\n', encoding="utf-8")
    code, _, err = run(capsys, script)
    assert code == 2
    assert "line 2: t_min" in err


def test_the_same_script_gives_the_same_output(capsys: pytest.CaptureFixture[str]) -> None:
    simulate_main([*BASE, "--auto-accept", "--events", str(DATA / "fever-pause.jsonl")])
    first = capsys.readouterr().out
    simulate_main([*BASE, "--auto-accept", "--events", str(DATA / "fever-pause.jsonl")])
    assert capsys.readouterr().out == first


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        simulate_main(
            [*BASE[:-4], "--weight-kg", "70kg", "--dose-g-per-kg", "0.4", "--events", "-"]
        )
        == 2
    )
    assert "titrator simulate: error: --weight-kg: " in capsys.readouterr().err
    args = [
        "--product",
        "nope",
        "--indication",
        "pi",
        "--weight-kg",
        "70",
        "--dose-g-per-kg",
        "0.4",
    ]
    assert simulate_main([*args, "--events", "-"]) == 2
    assert simulate_main([*BASE, "--policy", "/nonexistent.toml", "--events", "-"]) == 2


def test_override_reasons_map_to_the_fixed_list() -> None:
    assert override_reason("prescriber_order") == (OverrideReason.PRESCRIBER_ORDER, "")
    assert override_reason("prescriber_order: Dr A") == (OverrideReason.PRESCRIBER_ORDER, "Dr A")
    assert override_reason("felt fine") == (OverrideReason.OTHER, "felt fine")
