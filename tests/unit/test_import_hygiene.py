"""Run-time import hygiene: the pure core loads no UI, serial or logging library (design.md)."""

import importlib
import json
import pkgutil
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


def modules_of(package: str) -> list[str]:
    """Every module of `package`, subpackages included (found on disk, not listed by hand)."""
    root = importlib.import_module(package)
    return sorted(info.name for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."))


def test_every_domain_module_is_found() -> None:
    found = modules_of("titrator.domain")
    assert "titrator.domain.session.engine" in found
    assert "titrator.domain.units" in found
    assert len(found) >= 25


def test_the_domain_core_is_pure() -> None:
    loaded = loaded_after_importing(*modules_of("titrator.domain"))
    assert not loaded & {"textual", "rich", "serial", "structlog", "sqlalchemy", "psycopg"}
    assert "titrator" in loaded


@pytest.mark.parametrize("package", ["pump", "audit", "files", "shell"])
def test_the_layers_below_the_ui_never_load_it(package: str) -> None:
    # (rich may come in through structlog's optional pretty printing; the UI is textual.)
    assert "textual" not in loaded_after_importing(*modules_of(f"titrator.{package}"))


def test_the_simulator_does_not_import_titrator() -> None:
    assert "titrator" not in loaded_after_importing("simulator")


def test_planning_from_the_cli_does_not_load_the_ui() -> None:
    assert "textual" not in loaded_after_importing("titrator.cli.main")
