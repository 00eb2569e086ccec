"""The README's quick start: exactly two commands, and CI runs the second one verbatim."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def quick_start() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- quick-start -->", 1)[1].split("<!-- /quick-start -->", 1)[0]
    lines = [line.strip() for line in block.strip().splitlines()]
    assert lines[0] == "```sh"
    assert lines[-1] == "```"
    return [line for line in lines[1:-1] if line]


def test_the_quick_start_has_exactly_two_commands() -> None:
    commands = quick_start()
    assert len(commands) == 2
    assert all(
        command.startswith("python3 -m venv .venv && .venv/bin/pip install") for command in commands
    )


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert quick_start()[1] in ci


def test_the_readme_states_the_decision_support_disclaimer() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "it does not replace the prescriber's order, the product label" in text.replace(
        "\n> ", " "
    )


def test_the_readme_is_built_from_the_current_docs() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_readme.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout
