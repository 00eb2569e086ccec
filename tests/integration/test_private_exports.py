"""Exports hold patient identifiers: every file `export --out` creates is private (0600).

The file is written to a temporary file in the same directory (created 0600) and renamed over
the target at once, so no reader ever sees a partial export or a moment of wider permissions,
whatever the umask.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from titrator.cli.main import main

AUDIT = Path(__file__).resolve().parents[1] / "data" / "audit"
LOG = AUDIT / "uneventful.jsonl"


@pytest.fixture(autouse=True)
def no_site_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("TITRATOR_CONFIG", raising=False)


@pytest.fixture(params=[0o000, 0o022], ids=["umask-000", "umask-022"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    mask: int = request.param
    old = os.umask(mask)
    try:
        yield mask
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("fmt", ["csv", "fhir", "html"])
def test_a_new_export_is_private(
    tmp_path: Path, umask: int, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "exports" / f"session.{fmt}"
    out.parent.mkdir()
    assert main(["export", str(LOG), "--format", fmt, "--out", str(out)]) == 0
    assert _mode(out) == 0o600
    assert out.read_text(encoding="utf-8")
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]  # no temporary left
    capsys.readouterr()


def test_an_existing_world_readable_file_is_replaced_by_a_private_one(
    tmp_path: Path, umask: int, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "old.csv"
    out.write_text("stale")
    out.chmod(0o644)
    assert main(["export", str(LOG), "--format", "csv", "--out", str(out)]) == 0
    assert _mode(out) == 0o600
    assert out.read_text(encoding="utf-8") != "stale"
    capsys.readouterr()


def test_an_unwritable_output_is_one_line_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "missing-dir" / "x.csv"
    assert main(["export", str(LOG), "--format", "csv", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--out" in err
    assert "Traceback" not in err
    assert not out.parent.exists()


def test_a_device_is_not_replaced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert main(["export", str(LOG), "--format", "csv", "--out", str(fifo)]) == 2
    err = capsys.readouterr().err
    assert "--out" in err
    assert "not a regular file" in err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
