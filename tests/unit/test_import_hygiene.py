"""Run-time import hygiene: the pure core loads no UI, serial or logging library (design.md)."""

import json
import subprocess
import sys

import pytest

CHECK = """
import importlib, json, sys
for name in {modules!r}:
    importlib.import_module(name)
print(json.dumps(sorted(m.split(".")[0] for m in sys.modules)))
"""


def loaded_after_importing(*modules: str) -> set[str]:
    code = CHECK.format(modules=list(modules))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout))


def test_the_domain_core_is_pure() -> None:
    loaded = loaded_after_importing(
        "titrator.domain.units",
        "titrator.domain.library",
        "titrator.domain.plan",
        "titrator.domain.plan_model",
        "titrator.domain.validation_errors",
    )
    assert not loaded & {"textual", "rich", "serial", "structlog"}


@pytest.mark.parametrize("package", ["titrator.pump", "titrator.audit"])
def test_pump_and_audit_never_load_the_ui(package: str) -> None:
    # (rich may come in through structlog's optional pretty printing; the UI is textual.)
    assert "textual" not in loaded_after_importing(package)


def test_the_simulator_does_not_import_titrator() -> None:
    assert "titrator" not in loaded_after_importing("simulator")


def test_planning_from_the_cli_does_not_load_the_ui() -> None:
    assert "textual" not in loaded_after_importing("titrator.cli")
