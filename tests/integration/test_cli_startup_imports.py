"""`titrator --help` and `titrator plan` start without the TUI (issue 17: start-up time).

Each command runs in a fresh interpreter through the real entry point; afterwards the child
prints which heavy packages its `sys.modules` holds.
"""

import json
import subprocess
import sys

import pytest

PROBE = """
import contextlib, io, json, sys
from titrator.cli.main import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(sys.argv[1:])
heavy = ("textual", "rich", "pydantic", "titrator.tui", "titrator.training", "simulator")
print(json.dumps({"code": code, "out": out.getvalue(),
                  "loaded": [name for name in heavy if name in sys.modules]}))
"""

PLAN = ["plan", "--product", "privigen", "--indication", "pi", "--weight-kg", "70"]


def loaded_after(*argv: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True
    )
    report: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    return report


@pytest.mark.parametrize("argv", [["--help"], ["plan", "--help"], []])
def test_help_imports_neither_textual_nor_pydantic(argv: list[str]) -> None:
    report = loaded_after(*argv)
    assert report["code"] == 0
    assert "usage: titrator" in str(report["out"])
    assert report["loaded"] == []


def test_plan_imports_no_textual_simulator_or_training() -> None:
    report = loaded_after(*PLAN, "--dose-g-per-kg", "0.4", "--json")
    assert report["code"] == 0
    assert json.loads(str(report["out"]))["product"] == "privigen"
    assert report["loaded"] == ["pydantic"]  # the library's models, and nothing of the app
