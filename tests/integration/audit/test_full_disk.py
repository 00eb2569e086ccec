"""A full disk mid-session loses no record (issue 18 item 2).

The data directory's disk fills just before the first record of each kind a session writes: on
a real small tmpfs (when this machine lets us mount one) and with ENOSPC injected at `os.write`
(always). The headless runner drives the session through the controller into the real writer,
which spools to another directory while the log fails. Either the disk is freed a few writes
later (the next successful write merges the spool) or it stays full until the headless run
ends (the closing record joins the spool; `titrator resume` merges it back). Every record the
writer was handed is in the log afterwards, the log verifies whole and replays exactly, and a
pause or STOP reached the pump while the log was failing.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.integration.audit.harness import NURSE, SCRIPTS, STATION, LoggedRun
from tests.support.full_disk import Disk, InjectedDisk, TmpfsDisk, disk_of
from titrator.audit import AuditWriteError, AuditWriter, FileOps, Outcome, verify_log
from titrator.audit.chain import split_event
from titrator.audit.keys import generate_key_file, load_key
from titrator.audit.log_replay import replay_log
from titrator.audit.spool import merge_spool, spool_file
from titrator.cli.audit import audit_main
from titrator.cli.resume import resume_main
from titrator.cli.simulate import finish_log
from titrator.domain.clock import Clock, Instant
from titrator.domain.decisions import PumpCommand, PumpCommandKind
from titrator.domain.events import InputEvent
from titrator.shell.controller import raises_rate
from titrator.shell.headless import Runner
from titrator.shell.paper import held_in_memory, paper_notice

VITALS = (
    '{"temp_c": 36.7, "hr_bpm": 74, "sbp_mmhg": 118, "dbp_mmhg": 74, "rr_bpm": 14, "spo2_pct": 99}'
)
PAUSE_STOP = [
    f'{{"t_min": -15, "vitals": {VITALS}}}',
    '{"t_min": -15, "symptoms": []}',
    f'{{"t_min": 15, "vitals": {VITALS}}}',
    '{"t_min": 20, "pause": "patient to the toilet"}',
    '{"t_min": 28, "decision": "accept"}',
    f'{{"t_min": 30, "vitals": {VITALS}}}',
    '{"t_min": 40, "stop": "line occluded"}',
]
"""A nurse's pause (the runner accepts the restart) and a STOP."""

KINDS: Mapping[str, tuple[str, ...]] = {
    "uneventful": (
        "session_opened",
        "checklist_answered",
        "prompt_shown",
        "state_changed",
        "vitals_entered",
        "vitals_accepted",
        "assessment_made",
        "symptoms_entered",
        "lot_recorded",
        "nurse_decided",
        "rate_changed",
        "pump_command",
        "pump_outcome",
        "tick",
        "vitals_due",
        "session_closed",
    ),
    "fever-pause": ("reaction_opened",),
    "pause-stop": ("pause_requested", "input_refused", "stop_requested"),
}
"""Each kind of record a headless session writes, with a script that writes it. The failure
itself adds `audit_health`, `alarm_raised` and `alarm_cleared` to every run. `log_opened` is
left out: when the first record cannot be written the session never starts (see
test_write_failures)."""

CASES = [(script, kind) for script, kinds in KINDS.items() for kind in kinds]
FREE_AFTER = 40
"""Writes refused after the fill before the disk has room again (in the "freed" runs)."""
PAGE = 4096
"""A tmpfs page: a log's last page can take up to this many more bytes on a full tmpfs."""


class CountingWriter(AuditWriter):
    """The real writer, counting the records it is handed (durable or pending)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handed: list[str] = ["log_opened"]

    def append(self, event: Any, *, now: datetime | None = None, mono_ms: int | None = None) -> Any:
        kind = split_event(event)[0]
        try:
            head = super().append(event, now=now, mono_ms=mono_ms)
        except AuditWriteError:
            self.handed.append(kind)  # sealed and pending: it must reach the log
            raise
        self.handed.append(kind)
        return head

    def close(
        self,
        event: Any = None,
        *,
        reason: str = "completed",
        now: datetime | None = None,
        mono_ms: int | None = None,
    ) -> Any:
        try:
            head = super().close(event, reason=reason, now=now, mono_ms=mono_ms)
        except AuditWriteError:
            self.handed.append("session_closed")
            raise
        self.handed.append("session_closed")
        return head


class WatchedPump(Runner):
    """The perfect pump, noting each command with the log's health when it was sent."""

    sent: list[tuple[PumpCommandKind, bool]]
    notices: list[str]

    def feed(self, event: InputEvent, trigger: str) -> None:
        super().feed(event, trigger)
        notice = paper_notice(self.controller.audit)  # what the run screen shows now
        if notice:
            self.notices.append(notice)

    def send(self, commands: Sequence[PumpCommand], now: Instant) -> None:
        for command in commands:
            audit = self.controller.audit
            healthy = audit is None or audit.healthy
            increase = raises_rate(command, self.pump_rate_ml_per_h)
            assert healthy or not increase, f"increase {command} sent while the log fails"
            self.sent.append((command.kind, healthy))
            super().send([command], now)


class FillAt(FileOps):
    """The log's disk fills just before the first write carrying a `kind` record; with
    `free_after`, it has room again that many writes later."""

    def __init__(self, disks: Sequence[Disk], kind: str, free_after: int | None) -> None:
        self.disks = disks
        self.marker = f'"kind":"{kind}"'.encode()
        self.free_after = free_after
        self.since_fill: int | None = None
        self.bytes_after_fill = 0

    def write(self, fd: int, data: bytes) -> int:
        if self.since_fill is None and self.marker in data:
            for disk in self.disks:
                disk.fill()
            self.since_fill = 0
        elif self.since_fill is not None:
            self.since_fill += 1
            if self.free_after is not None and self.since_fill == self.free_after:
                for disk in self.disks:
                    disk.free()
        if self.since_fill is not None:
            self.bytes_after_fill += len(data)
        return self.disks[0].ops.write(fd, data)


class Session(LoggedRun):
    """A keyed headless session whose log is on `disk` and whose spool is elsewhere."""

    def __init__(
        self,
        disk: Disk,
        spool_dir: Path,
        key_file: Path,
        script: str,
        ops: FillAt,
        spool_ops: FileOps | None = None,
    ) -> None:
        super().__init__(
            disk.data_dir, "full", "uneventful", ops=ops, sync=True, runner_cls=WatchedPump
        )
        if script == "pause-stop":
            self.lines = list(PAUSE_STOP)
        elif script != "uneventful":
            self.lines = _lines(script)
        self.spool_dir = spool_dir
        self.key_file = key_file
        self.fill_ops = ops
        self.spool_ops = spool_ops
        assert isinstance(self.runner, WatchedPump)
        self.watched: WatchedPump = self.runner
        self.watched.sent = []
        self.watched.notices = []

    def _open(self, clock: Clock) -> AuditWriter:
        writer = CountingWriter.create(
            self.session_id,
            station_id=STATION,
            nurse_id=NURSE,
            data_dir=self.data_dir,
            key_file=self.key_file,
            clock=clock,
            min_free_bytes=0,
            ops=self.ops,
            spool_dir=self.spool_dir,
            spool_ops=self.spool_ops,
        )
        self.writer = writer
        return writer

    @property
    def counting(self) -> CountingWriter:
        assert isinstance(self.writer, CountingWriter)
        return self.writer


def _lines(script: str) -> list[str]:
    text = (SCRIPTS / f"{script}.jsonl").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


@pytest.fixture(params=["tmpfs", "injected"])
def disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Disk]:
    """The data directory's disk: a real tmpfs, or ENOSPC injected at `os.write`."""
    with disk_of(request.param, tmp_path / "disk") as chosen:
        yield chosen


def _logged_kinds(path: Path) -> list[str]:
    return [json.loads(line)["kind"] for line in path.read_text(encoding="utf-8").splitlines()]


def lost_records(session: Session) -> int:
    """Records the writer was handed that are not in the log (a record twice counts too)."""
    handed = Counter(session.counting.handed)
    logged = Counter(_logged_kinds(session.path))
    return sum((handed - logged).values()) + sum((logged - handed).values())


def _check_whole(session: Session, key: bytes, kind: str) -> None:
    result = verify_log(session.path, key=key)
    assert result.outcome is Outcome.OK, result.summary()
    replayed = replay_log(session.path, key=key)
    assert replayed.equal, replayed.summary()
    assert kind in _logged_kinds(session.path)
    assert lost_records(session) == 0, (session.counting.handed, _logged_kinds(session.path))
    assert not spool_file(session.spool_dir, session.session_id).exists()


def _stop_or_pause_reached_the_pump(session: Session, kind: str) -> None:
    wanted = {"stop_requested": PumpCommandKind.STOP, "pause_requested": PumpCommandKind.PAUSE}
    if kind in wanted:
        assert (wanted[kind], False) in session.watched.sent, session.watched.sent


def _failed(session: Session, disk: Disk) -> bool:
    """The fill made writes fail; on a tmpfs a log's last page may take one more page first."""
    if disk.failed_writes:
        return True
    return isinstance(disk, TmpfsDisk) and session.fill_ops.bytes_after_fill < PAGE


@pytest.mark.parametrize(("script", "kind"), CASES)
def test_disk_freed_mid_session_the_next_write_merges_the_spool(
    disk: Disk, tmp_path: Path, script: str, kind: str
) -> None:
    key_file = tmp_path / "site.key"
    generate_key_file(key_file)
    ops = FillAt([disk], kind, FREE_AFTER)
    session = Session(disk, tmp_path / "spool", key_file, script, ops)
    session.run()
    assert _failed(session, disk)
    disk.free()  # room again before the end, if the run ended before FREE_AFTER writes
    writer = session.counting
    assert finish_log(writer, session.runner, leave_open=False) == 0
    _check_whole(session, load_key(key_file), kind)
    _stop_or_pause_reached_the_pump(session, kind)
    if disk.failed_writes:
        assert "audit_health" in _logged_kinds(session.path) or kind == "session_closed"
        assert any("spool" in n and "DOCUMENT ON PAPER" in n for n in session.watched.notices)


@pytest.mark.parametrize(("script", "kind"), CASES)
def test_headless_run_ending_on_a_full_disk_loses_nothing(
    disk: Disk,
    tmp_path: Path,
    script: str,
    kind: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key_file = tmp_path / "site.key"
    generate_key_file(key_file)
    spool_dir = tmp_path / "spool"
    session = Session(disk, spool_dir, key_file, script, FillAt([disk], kind, None))
    session.run()
    writer = session.counting
    code = finish_log(writer, session.runner, leave_open=False)
    assert _failed(session, disk)
    if not disk.failed_writes:  # a tmpfs log's last page took every record after the fill
        assert code == 0
        _check_whole(session, load_key(key_file), kind)
        return
    assert code == 1
    err = capsys.readouterr().err
    assert "every record is safe in the spool" in err
    assert "titrator resume full" in err
    spool = spool_file(spool_dir, session.session_id)
    assert spool.exists()
    assert writer.pending_count > 0
    assert writer.pending_in == "spool"
    _stop_or_pause_reached_the_pump(session, kind)
    disk.free()  # the process has ended; someone makes room; the nurse resumes
    key = load_key(key_file)
    if isinstance(disk, TmpfsDisk):  # too small for the command's 50 MB start-up check
        merged = merge_spool(session.path, spool, key, session.session_id)
        assert merged is not None
        assert merged.merged > 0
    else:
        config = tmp_path / "config.toml"
        config.write_text(f'spool_dir = "{spool_dir}"\nkey_file = "{key_file}"\n')
        monkeypatch.setenv("TITRATOR_CONFIG", str(config))
        assert audit_main(["verify", str(session.path), "--config", str(config)]) == 3
        assert f"wait in the spool {spool}" in capsys.readouterr().err
        args = ["full", "--data-dir", str(disk.data_dir), "--config", str(config)]
        assert resume_main(args) == 0
        assert "merged" in capsys.readouterr().err
    _check_whole(session, key, kind)


@pytest.mark.parametrize(("script", "kind"), CASES)
def test_log_and_spool_both_full_keep_records_in_memory(
    tmp_path: Path, script: str, kind: str
) -> None:
    """Both disks full: the nurse is told records are in memory only, STOP and pause still go
    to the pump, and when room comes back every record reaches the log."""
    log_disk = InjectedDisk(tmp_path / "disk")
    spool_disk = InjectedDisk(tmp_path / "spool-disk")
    key_file = tmp_path / "site.key"
    generate_key_file(key_file)
    ops = FillAt([log_disk, spool_disk], kind, FREE_AFTER)
    session = Session(
        log_disk, tmp_path / "spool-disk" / "spool", key_file, script, ops, spool_disk.ops
    )
    session.run()
    assert log_disk.failed_writes > 0
    log_disk.free()  # room again before the end, if the run ended before FREE_AFTER writes
    spool_disk.free()
    if kind != "session_closed":
        assert spool_disk.failed_writes > 0
        assert any(
            "in memory only" in n and "DOCUMENT ON PAPER" in n for n in session.watched.notices
        )
    assert finish_log(session.counting, session.runner, leave_open=False) == 0
    _check_whole(session, load_key(key_file), kind)
    _stop_or_pause_reached_the_pump(session, kind)


def test_the_table_covers_every_kind_a_session_writes(tmp_path: Path) -> None:
    """No kind a session writes is missing from `KINDS` (so none goes untested)."""
    written: set[str] = set()
    for script in KINDS:
        disk = InjectedDisk(tmp_path / script)
        key_file = tmp_path / f"{script}.key"
        generate_key_file(key_file)
        session = Session(disk, tmp_path / "spool", key_file, script, FillAt([disk], "-", None))
        session.run()
        assert finish_log(session.counting, session.runner, leave_open=False) == 0
        written |= set(_logged_kinds(session.path))
    covered = {kind for kinds in KINDS.values() for kind in kinds}
    assert written - covered == {"log_opened"}, written - covered


def test_a_double_failure_is_reported_and_records_stay_in_memory(tmp_path: Path) -> None:
    """Both full at the end of a headless run: the report says how many records are lost."""
    log_disk = InjectedDisk(tmp_path / "disk")
    spool_disk = InjectedDisk(tmp_path / "spool-disk")
    key_file = tmp_path / "site.key"
    generate_key_file(key_file)
    ops = FillAt([log_disk, spool_disk], "stop_requested", None)
    session = Session(
        log_disk, tmp_path / "spool-disk" / "spool", key_file, "pause-stop", ops, spool_disk.ops
    )
    session.run()
    writer = session.counting
    assert writer.pending_in == "memory"
    assert held_in_memory(writer) == writer.pending_count > 0
    assert "Do not quit" in paper_notice(writer)
    _stop_or_pause_reached_the_pump(session, "stop_requested")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert finish_log(writer, session.runner, leave_open=False) == 1
    assert "could not be written to the log or the spool" in err.getvalue()
    log_disk.free()
    spool_disk.free()
    writer.retry()  # still running: room again, and nothing was lost
    assert writer.closed
    _check_whole(session, load_key(key_file), "stop_requested")
