"""Issue 12 item 2: a failure is one clear line, never a traceback, never patient data.

The data directory is checked before setup by `run`, `demo`, `train` and `resume`, through the
installed console script. A read-only directory must be refused for root too: the check writes
a probe, so when the tests run as root the command runs as `nobody` (root may write anywhere).
An unexpected error leaves a short notice and a private crash file without local variables.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.app import SESSION_ID, build_app
from tests.tui.harness import open_session
from titrator.audit.unfinished import find_unfinished
from titrator.audit.verify import Outcome, verify_log
from titrator.audit.writer import AuditWriter
from titrator.cli.app import DEMO_PATIENT
from titrator.cli.main import main
from titrator.cli.resume import resume_main
from titrator.shell.clocks import SystemClock

SCRIPT = Path(sys.executable).parent / "titrator"
COMMANDS = {
    "run": ["run"],
    "demo": ["demo"],
    "train": ["train", "febrile"],
    "resume": ["resume", "s1"],
}
PATIENT_DATA = [v for k, v in DEMO_PATIENT.items() if k.startswith(("patient", "nurse"))]
READ_ONLY = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" && shift && exec "$@"'
"""As root, permission bits do not stop a write: the directory is made a read-only mount in
a private mount namespace of the command's own (`unshare -m`), as a read-only share would be."""


def _titrator(
    argv: list[str], home: Path, read_only: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **({"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        "TERM": "dumb",
    }
    command = [str(SCRIPT), *argv]
    if read_only is not None:
        if os.geteuid() == 0:
            command = ["unshare", "-m", "sh", "-c", READ_ONLY, "sh", str(read_only), *command]
        else:
            read_only.chmod(0o555)
    try:
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"titrator {' '.join(argv)} did not stop: the app was started")


@pytest.fixture
def read_only_possible(tmp_path: Path) -> None:
    """Skip (with the reason) only where no read-only directory can be made for this user."""
    if os.geteuid() != 0:
        return
    if shutil.which("unshare") is None:
        pytest.skip("running as root without unshare: no directory is read-only for root")
    probe = tmp_path / "probe"
    probe.mkdir()
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", READ_ONLY, "sh", str(probe), "touch", str(probe / "x")],
        capture_output=True,
        check=False,
    )
    if not done.stderr or (probe / "x").exists():
        pytest.skip("running as root where a read-only bind mount cannot be made")


def _assert_one_line_refusal(done: subprocess.CompletedProcess[str], command: str) -> str:
    err = done.stderr
    assert done.returncode == 2, (done.returncode, err[-2000:])
    assert err.count("\n") == 1, err[-2000:]
    assert err.startswith(f"titrator {command}: error: --data-dir: "), err
    assert "Traceback" not in err + done.stdout
    for value in PATIENT_DATA:
        assert value not in err + done.stdout
    return err


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_read_only_data_dir_is_refused_before_setup(
    command: str, tmp_path: Path, read_only_possible: None
) -> None:
    data = tmp_path / "logs"
    data.mkdir()
    done = _titrator([*COMMANDS[command], "--data-dir", str(data)], tmp_path, read_only=data)
    data.chmod(0o755)
    err = _assert_one_line_refusal(done, command)
    assert "not writable" in err or "read-only file system" in err
    assert f"(got '{data}')" in err
    assert not list(data.iterdir())


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_data_dir_that_is_a_file_is_refused_before_setup(command: str, tmp_path: Path) -> None:
    data = tmp_path / "logs"
    data.write_text("not a directory\n")
    done = _titrator([*COMMANDS[command], "--data-dir", str(data)], tmp_path)
    err = _assert_one_line_refusal(done, command)
    assert "is a file" in err
    assert f"(got '{data}')" in err
    assert data.read_text() == "not a directory\n"


def test_resume_reads_data_dir_and_key_file_from_the_site_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TITRATOR_DATA_DIR", raising=False)
    logs = tmp_path / "site-logs"
    writer = AuditWriter.create(
        "s1", station_id="b", nurse_id="n", data_dir=logs, clock=SystemClock()
    )
    writer.release()
    config = tmp_path / "site.toml"
    config.write_text(f'data_dir = "{logs}"\n')
    assert resume_main(["--list", "--config", str(config)]) == 0
    assert "s1" in capsys.readouterr().out
    missing_key = tmp_path / "no-such.key"
    config.write_text(f'data_dir = "{logs}"\nkey_file = "{missing_key}"\n')
    assert resume_main(["--list", "--config", str(config)]) == 2
    assert str(missing_key) in capsys.readouterr().err


def _no_locals(text: str) -> None:
    assert "SECRET-MRN-4711" not in text
    assert "Traceback (most recent call last)" in text


def test_an_unexpected_error_on_the_command_line_is_one_line_and_a_private_crash_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TITRATOR_CRASH_DIR", str(tmp_path / "crash"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))

    def broken(*_: object) -> int:
        patient = "SECRET-MRN-4711"
        raise RuntimeError("internal" + " " * len(patient))

    monkeypatch.setattr("titrator.cli.main.cmd_protocols", broken)
    code = main(["protocols", "list"])
    err = capsys.readouterr().err
    assert code == 70
    assert err.count("\n") == 1
    assert err.startswith(
        "titrator protocols: error: stopped on an unexpected error (RuntimeError)"
    )
    assert "Traceback" not in err
    [crash] = (tmp_path / "crash").glob("crash-*.txt")
    assert str(crash) in err
    assert stat.S_IMODE(crash.stat().st_mode) == 0o600
    assert stat.S_IMODE(crash.parent.stat().st_mode) == 0o700
    _no_locals(crash.read_text())


async def test_an_unexpected_error_in_the_app_leaves_the_session_resumable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TITRATOR_CRASH_DIR", str(tmp_path / "crash"))
    built = build_app(tmp_path / "logs")
    app = built.app

    def boom() -> None:
        patient = "SECRET-MRN-4711"
        raise RuntimeError("unexpected" + " " * len(patient))

    async def crash_after_opening() -> None:
        async with app.run_test() as pilot:
            await open_session(pilot)
            app.call_later(boom)
            await pilot.pause()

    with pytest.raises(RuntimeError):
        await crash_after_opening()
    assert app.return_code not in (None, 0)
    notice = app.crash_notice
    assert notice is not None
    assert "RuntimeError" in notice
    assert f"titrator resume {SESSION_ID}" in notice
    assert "check the pump" in notice
    for value in PATIENT_DATA:
        assert value not in notice
    [crash] = (tmp_path / "crash").glob("crash-*.txt")
    assert str(crash) in notice
    assert stat.S_IMODE(crash.stat().st_mode) == 0o600
    _no_locals(crash.read_text())
    # The log is intact and unfinished: `titrator resume` can take it over.
    assert verify_log(built.log_path).outcome is Outcome.UNFINISHED
    [entry] = find_unfinished(built.data_dir)
    assert entry.session_id == SESSION_ID
    assert entry.resumable
