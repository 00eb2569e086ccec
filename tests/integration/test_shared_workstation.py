"""A shared ward workstation: the machine-wide config, shared modes, resume under another login.

The machine-wide file is never /etc here: `TITRATOR_SYSTEM_CONFIG` points at the test's own.
The two-login test runs each login in a forked child that drops to its own user id (it needs
root to do that, as CI runs); the parent checks the log afterwards.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.integration.audit.harness import LoggedRun
from tests.support.audit import make_key
from titrator.audit import AuditWriter, Outcome, read_records, verify_log
from titrator.audit.errors import AuditKeyError
from titrator.audit.keys import load_key
from titrator.audit.paths import ensure_private_dir, file_mode_for, is_shared_dir
from titrator.cli.main import main
from titrator.domain.clock import Clock
from titrator.files.config import AppConfig, field_source, load_config
from titrator.files.datadir import check_data_dir
from titrator.shell.clocks import ManualClock
from titrator.shell.outbox import Outbox
from titrator.shell.resume import resume_session

WARD_GID = 61000
NURSE_A = 61001
NURSE_B = 61002


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The machine-wide file (empty) and a user config directory with no file in it."""
    system = tmp_path / "etc" / "config.toml"
    system.parent.mkdir()
    system.write_text("")
    monkeypatch.setenv("TITRATOR_SYSTEM_CONFIG", str(system))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TITRATOR_CONFIG", raising=False)
    return system


def test_the_machine_wide_file_is_read_first_and_the_users_overrides_it_field_by_field(
    machine: Path, tmp_path: Path
) -> None:
    machine.write_text(
        'data_dir = "/var/lib/titrator"\nstation_id = "ward3-bay2"\nward = "ward 3"\n'
        'ward_db = "postgresql://ship@db.example/ward"\n'
    )
    assert load_config() == AppConfig(
        data_dir=Path("/var/lib/titrator"),
        station_id="ward3-bay2",
        ward="ward 3",
        ward_db="postgresql://ship@db.example/ward",
    )
    user = tmp_path / "home" / "titrator" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text('station_id = "ward3-bay5"\n')
    config = load_config()
    assert (config.station_id, config.ward, config.data_dir) == (
        "ward3-bay5",
        "ward 3",
        Path("/var/lib/titrator"),
    )
    assert field_source("station_id") == user
    assert field_source("ward") == machine
    explicit = tmp_path / "other.toml"  # --config replaces the user's file, not the machine's
    explicit.write_text('ward = "ward 4"\n')
    config = load_config(explicit)
    assert (config.station_id, config.ward) == ("ward3-bay2", "ward 4")


def test_an_empty_variable_means_no_machine_wide_file(
    machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine.write_text('station_id = "from-the-machine"\n')
    monkeypatch.setenv("TITRATOR_SYSTEM_CONFIG", "")
    assert load_config().station_id == "station"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('station_id = ""\n', "station_id"),
        ('wards = "ward 3"\n', "wards"),
        ("data_dir = 3\n", "data_dir"),
    ],
)
def test_a_bad_machine_wide_file_is_one_line_naming_that_file_and_the_field(
    machine: Path, capsys: pytest.CaptureFixture[str], text: str, field: str
) -> None:
    machine.write_text(text)

    code = main(["run"])
    out, err = capsys.readouterr()

    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    assert err.startswith(f"titrator run: error: {machine}: {field}")
    assert "Traceback" not in err


def test_the_data_dir_error_names_the_machine_wide_file(
    machine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    machine.write_text(f'data_dir = "{blocker}"\n')

    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"titrator run: error: data_dir in {machine}: is a file")


# -- modes ---------------------------------------------------------------------------------------


def shared_dir(path: Path, gid: int | None = None) -> Path:
    """A ward data directory as the set-up page makes it: 2770, the ward group's."""
    path.mkdir(parents=True)
    if gid is not None:
        os.chown(path, 0, gid)
    os.chmod(path, 0o2770)
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_shared_directory_keeps_2770_and_its_logs_outbox_and_training_are_group_writable(
    tmp_path: Path,
) -> None:
    data = shared_dir(tmp_path / "var" / "titrator")
    assert is_shared_dir(data)
    assert file_mode_for(data) == 0o660
    old = os.umask(0o077)  # the strictest umask a nurse's login may have
    try:
        ensure_private_dir(data)
        writer = AuditWriter.create(
            "s-shared", station_id="b", nurse_id="n", data_dir=data, clock=ManualClock()
        )
        writer.release()
        Outbox(data).add("s-shared", writer.path, 0, "0" * 64)
        check_data_dir(data / "training", 0)
    finally:
        os.umask(old)
    assert mode(data) == 0o2770
    assert mode(writer.path) == 0o660
    assert mode(data / "ward-outbox.json") == 0o660
    assert mode(data / ".ward-outbox.lock") == 0o660
    assert mode(data / "training") == 0o2770


def test_a_private_directory_stays_0700_with_0600_logs_and_outbox(tmp_path: Path) -> None:
    data = tmp_path / "private"
    data.mkdir(mode=0o750)
    writer = AuditWriter.create(
        "s-private", station_id="b", nurse_id="n", data_dir=data, clock=ManualClock()
    )
    writer.release()
    Outbox(data).add("s-private", writer.path, 0, "0" * 64)
    assert (mode(data), mode(writer.path), mode(data / "ward-outbox.json")) == (
        0o700,
        0o600,
        0o600,
    )
    os.chmod(data, 0o2775)  # setgid but open to others: not a ward directory, tightened
    ensure_private_dir(data)
    assert not is_shared_dir(data)
    assert mode(data) & 0o077 == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the key to another account")
def test_a_ward_key_is_read_at_0640_only_when_another_account_owns_it(tmp_path: Path) -> None:
    key_file, key = make_key(tmp_path / "keys")
    os.chmod(key_file, 0o640)
    with pytest.raises(AuditKeyError, match="0600"):  # our own key must stay 0600
        load_key(key_file)
    os.chown(key_file, NURSE_A, WARD_GID)  # the administrator's (here: another account's)
    assert load_key(key_file) == key
    os.chmod(key_file, 0o660)  # the group could replace it: refused
    with pytest.raises(AuditKeyError, match="0600"):
        load_key(key_file)


# -- resume under another login ------------------------------------------------------------------


@pytest.fixture
def ward_root() -> Iterator[Path]:
    """A directory every test user can reach (pytest's own tmp is root-only)."""
    base = Path(tempfile.mkdtemp(prefix="titrator-ward-"))
    os.chmod(base, 0o711)
    yield base
    for path in sorted(base.rglob("*"), reverse=True):
        path.unlink() if not path.is_dir() or path.is_symlink() else path.rmdir()
    base.rmdir()


def as_login(uid: int, work: Callable[[], None]) -> None:
    """Run `work` in a child process as user `uid` of the ward group; fail if it fails."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.setgroups([WARD_GID])
            os.setgid(uid)
            os.setuid(uid)
            os.umask(0o077)
            work()
        except BaseException as error:  # reported through the exit status
            sys.stderr.write(f"login {uid} failed: {error!r}\n")
            code = 70
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status), f"login {uid}: {status}"
    assert os.WEXITSTATUS(status) == 0, f"login {uid} failed (see its stderr)"


class ConfiguredRun(LoggedRun):
    """A scripted session logged where, and as, the machine-wide configuration says."""

    def _open(self, clock: Clock) -> AuditWriter:
        config = load_config()
        assert config.data_dir is not None
        self.writer = AuditWriter.create(
            self.session_id,
            station_id=config.station_id,
            nurse_id="rn-a",
            data_dir=config.data_dir,
            key_file=config.key_file,
            clock=clock,
            min_free_bytes=0,
            sync_each_record=False,
        )
        return self.writer


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run as two logins")
def test_a_session_started_under_one_login_is_resumed_under_another(
    ward_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = shared_dir(ward_root / "var" / "lib" / "titrator", WARD_GID)
    etc = ward_root / "etc"
    etc.mkdir(mode=0o755)
    key_file, key = make_key(etc / "keys")
    os.chmod(etc / "keys", 0o755)
    os.chown(key_file, 0, WARD_GID)
    os.chmod(key_file, 0o640)
    system = etc / "config.toml"
    system.write_text(
        f'data_dir = "{data}"\nkey_file = "{key_file}"\nstation_id = "ward3-bay2"\n'
        'ward = "ward 3"\n'
    )
    os.chmod(system, 0o644)
    monkeypatch.setenv("TITRATOR_SYSTEM_CONFIG", str(system))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(ward_root / "nobody-home"))
    monkeypatch.delenv("TITRATOR_CONFIG", raising=False)
    run = ConfiguredRun(data, "s-ward")

    def nurse_a() -> None:  # starts the session; the program then "dies"
        run.run(6, run_on=False)
        assert run.writer is not None
        run.writer.release()

    def nurse_b() -> None:  # another login on the same workstation takes it over
        config = load_config()
        clock = ManualClock(
            start=run.runner.current().wall_utc + timedelta(minutes=5), mono_ms=3_000
        )
        resumed = resume_session(
            "s-ward",
            station_id=config.station_id,
            nurse_id="rn-b",
            data_dir=config.data_dir,
            key_file=config.key_file,
            clock=clock,
            sync_each_record=False,
        )
        resumed.writer.release()

    as_login(NURSE_A, nurse_a)
    as_login(NURSE_B, nurse_b)

    log = data / "s-ward.jsonl"
    info = log.stat()
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o660, NURSE_A, WARD_GID)
    records = list(read_records(log))
    resumed_kinds = [r.kind for r in records if r.nurse_id == "rn-b"]
    assert resumed_kinds[:2] == ["log_resumed", "session_resumed"]
    assert {r.station_id for r in records} == {"ward3-bay2"}
    checked = verify_log(log, key=key)  # intact, keyed with the ward key, still open
    assert (checked.outcome, checked.mac_checked) == (Outcome.UNFINISHED, True)
