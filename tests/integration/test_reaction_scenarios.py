"""Every reaction rule of issue 13 as a `titrator simulate` script (tests/data/simulate/reactions/).

Each script is run through the real headless runner and checked for the recommendation, the
rules behind it, the refusals of every attempt to restart, and the rate at the end.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support import paths as support_paths
from titrator.cli.simulate import simulate_main

SCRIPTS = support_paths.DATA / "simulate" / "reactions"
PATIENT = ["--product", "privigen", "--indication", "pi", "--weight-kg", "70"]
HARD = "a hard limit, the infusion is never restarted in this session"
# script -> (action recommended, a rule id behind it, refused restarts, never restarted)
EXPECTED: dict[str, tuple[str, str, int, bool]] = {
    "urticaria-wheeze": ("emergency_stop", "ANAPH-SKIN-PLUS", 3, True),
    "skin-gut": ("emergency_stop", "ANAPH-SKIN-PLUS", 0, True),
    "flushing-itch-hypotension": ("emergency_stop", "ANAPH-SKIN-PLUS", 0, True),
    "wheeze-alone": ("emergency_stop", "ANAPH-AIRWAY", 1, True),
    "thrombosis": ("stop", "BW-THROMBOSIS", 1, True),
    "haemolysis": ("stop", "BW-HAEMOLYSIS", 0, False),
    "aseptic-meningitis": ("stop", "BW-ASEPTIC-MENINGITIS", 0, False),
    "trali": ("emergency_stop", "BW-TRALI-TACO", 0, True),
    "free-text-weakness": ("emergency_stop", "SYM-OTHER-SEVERE", 0, True),
    "free-text-dark-urine": ("stop", "SYM-OTHER-MODERATE", 0, False),
}


def run(capsys: pytest.CaptureFixture[str], script: Path) -> list[dict[str, Any]]:
    code = simulate_main([*PATIENT, "--dose-g-per-kg", "0.4", "--events", str(script)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return [json.loads(line, parse_float=Decimal) for line in captured.out.splitlines()]


def test_every_script_has_an_expectation() -> None:
    assert {p.stem for p in SCRIPTS.glob("*.jsonl")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reaction_script(capsys: pytest.CaptureFixture[str], name: str) -> None:
    action, rule, refusals, never = EXPECTED[name]
    lines = run(capsys, SCRIPTS / f"{name}.jsonl")
    recs = [line["recommendation"] for line in lines if "recommendation" in line]
    reactions = [r for r in recs if r["action"] not in ("continue",)]
    assert reactions, "no reaction was recommended"
    final = reactions[-1]
    assert final["action"] == action
    assert rule in final["rule_ids"]
    refused = [line["refused"] for line in lines if "refused" in line]
    assert len(refused) == refusals
    if never:
        assert all(HARD in text or "no new lot" in text for text in refused)
    stopped_at = next(i for i, line in enumerate(lines) if line["state"] == "stopped")
    assert all(line["rate_ml_per_h"] == 0 for line in lines[stopped_at:])


@pytest.mark.parametrize("name", ["free-text-weakness", "free-text-dark-urine"])
def test_free_text_first_holds_and_asks(capsys: pytest.CaptureFixture[str], name: str) -> None:
    lines = run(capsys, SCRIPTS / f"{name}.jsonl")
    recs = [line["recommendation"] for line in lines if "recommendation" in line]
    first = next(r for r in recs if r["rule_ids"] and r["rule_ids"][0].startswith("SYM-OTHER"))
    assert first["action"] == "hold"
    assert first["rule_ids"] == ["SYM-OTHER-UNGRADED"]
    assert "Choose its severity" in first["reason"]
    assert not any(r["action"] == "pause" for r in recs)
    paused = [line for line in lines if line["state"] == "paused"]
    assert not paused


def test_a_new_lot_after_an_emergency_stop_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    lines = run(capsys, SCRIPTS / "urticaria-wheeze.jsonl")
    lot = [line for line in lines if line["trigger"] == "line 13"]
    assert lot
    assert "no new lot" in lot[0]["refused"]
