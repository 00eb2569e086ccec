"""The fallback spool (issue 18 item 2): records the log cannot take are fsynced there, in chain
order; the next successful write empties it; a spool left behind merges back so the log
verifies whole; a spool that does not continue the log is refused and kept."""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.audit import StepClock, file_mode, make_key, sample_events
from titrator.audit import (
    AuditIntegrityError,
    AuditStateError,
    AuditWriteError,
    AuditWriter,
    FileOps,
    Outcome,
    verify_log,
)
from titrator.audit.paths import default_data_dir
from titrator.audit.spool import default_spool_dir, merge_spool, spool_file


class Switch(FileOps):
    """A disk that is full (write ENOSPC) while `full`, and whose fsync fails while `bad_sync`."""

    def __init__(self) -> None:
        self.full = False
        self.bad_sync = False
        self.syncs = 0

    def write(self, fd: int, data: bytes) -> int:
        if self.full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return super().write(fd, data)

    def fsync(self, fd: int) -> None:
        self.syncs += 1
        if self.bad_sync:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        super().fsync(fd)


def _writer(tmp_path: Path, log_ops: FileOps, spool_ops: FileOps | None = None) -> AuditWriter:
    key_file = tmp_path / "keys" / "site.key"
    if not key_file.exists():
        make_key(tmp_path / "keys")
    return AuditWriter.create(
        "s1",
        station_id="bay",
        nurse_id="rn",
        data_dir=tmp_path / "logs",
        key_file=key_file,
        clock=StepClock(),
        min_free_bytes=0,
        ops=log_ops,
        spool_dir=tmp_path / "spool",
        spool_ops=spool_ops,
    )


def _key(tmp_path: Path) -> bytes:
    return (tmp_path / "keys" / "site.key").read_bytes()


def test_records_go_to_the_spool_in_chain_order_and_leave_it_once_written(
    tmp_path: Path,
) -> None:
    disk = Switch()
    writer = _writer(tmp_path, disk)
    events = sample_events(6)
    writer.append(events[0])
    disk.full = True
    for event in events[1:4]:
        with pytest.raises(AuditWriteError) as caught:
            writer.append(event)
        assert caught.value.spooled == caught.value.pending
        assert caught.value.spool_path == writer.spool_path
    spool = spool_file(tmp_path / "spool", "s1")
    assert writer.spool_path == spool
    assert writer.pending_in == "spool"
    assert file_mode(spool) == 0o600
    assert file_mode(spool.parent) == 0o700
    log_lines = writer.path.read_bytes().splitlines(keepends=True)
    spooled = spool.read_bytes().splitlines(keepends=True)
    assert len(spooled) == 3
    disk.full = False
    writer.append(events[4])  # the next successful write takes the spooled records too
    assert writer.healthy
    assert not spool.exists()
    assert writer.path.read_bytes().splitlines(keepends=True)[: len(log_lines) + 3] == (
        log_lines + spooled
    )  # the spool held the very lines the log was missing
    writer.close()
    assert verify_log(writer.path, key=_key(tmp_path)).outcome is Outcome.OK


def test_the_spool_stays_until_the_log_is_fsynced(tmp_path: Path) -> None:
    disk = Switch()
    writer = _writer(tmp_path, disk)
    disk.full = True
    with pytest.raises(AuditWriteError):
        writer.append(sample_events(1)[0])
    spool = spool_file(tmp_path / "spool", "s1")
    disk.full = False
    disk.bad_sync = True  # written but not durable: the spool must stay
    with pytest.raises(AuditWriteError):
        writer.retry()
    assert spool.exists()
    disk.bad_sync = False
    writer.retry()
    assert not spool.exists()


def test_a_spool_left_behind_is_merged_on_resume_and_the_log_verifies_whole(
    tmp_path: Path,
) -> None:
    disk = Switch()
    writer = _writer(tmp_path, disk)
    writer.append(sample_events(1)[0])
    disk.full = True
    for event in sample_events(4):
        with contextlib.suppress(AuditWriteError):
            writer.append(event)
    sealed = writer.sealed_count
    writer.abandon()  # the process ends with the disk still full
    spool = spool_file(tmp_path / "spool", "s1")
    assert spool.exists()
    resumed = AuditWriter.resume(
        "s1",
        station_id="bay",
        nurse_id="rn",
        data_dir=tmp_path / "logs",
        key_file=tmp_path / "keys" / "site.key",
        clock=StepClock(),
        min_free_bytes=0,
        spool_dir=tmp_path / "spool",
    )
    assert not spool.exists()
    resumed.close()
    result = verify_log(resumed.path, key=_key(tmp_path))
    assert result.outcome is Outcome.OK, result.summary()
    assert result.records == sealed + 2  # log_resumed and the closing record follow


def test_a_spool_whose_lines_the_log_holds_already_is_skipped(tmp_path: Path) -> None:
    disk = Switch()
    writer = _writer(tmp_path, disk)
    disk.full = True
    with contextlib.suppress(AuditWriteError):
        writer.append(sample_events(1)[0])
    spool = spool_file(tmp_path / "spool", "s1")
    left_behind = spool.read_bytes()
    disk.full = False
    writer.retry()
    writer.release()
    spool.write_bytes(left_behind)  # as if its removal had failed
    merged = merge_spool(writer.path, spool, _key(tmp_path), "s1")
    assert merged is not None
    assert (merged.merged, merged.skipped) == (0, 1)
    assert not spool.exists()
    assert verify_log(writer.path, key=_key(tmp_path)).outcome is Outcome.UNFINISHED


def test_a_spool_that_does_not_continue_the_log_is_refused_and_kept(tmp_path: Path) -> None:
    disk = Switch()
    writer = _writer(tmp_path, disk)
    disk.full = True
    for event in sample_events(2):
        with contextlib.suppress(AuditWriteError):
            writer.append(event)
    writer.abandon()
    spool = spool_file(tmp_path / "spool", "s1")
    lines = spool.read_bytes().splitlines(keepends=True)
    before = writer.path.read_bytes()
    spool.write_bytes(lines[1])  # the first spooled record is missing
    with pytest.raises(AuditIntegrityError, match="does not continue"):
        merge_spool(writer.path, spool, _key(tmp_path), "s1")
    edited = lines[0].replace(b"vitals_recorded", b"vitals_recordex")
    spool.write_bytes(edited + lines[1])  # a record edited in the spool: its MAC fails
    with pytest.raises(AuditIntegrityError):
        merge_spool(writer.path, spool, _key(tmp_path), "s1")
    assert writer.path.read_bytes() == before
    assert spool.exists()


def test_a_torn_last_spool_line_is_not_merged(tmp_path: Path) -> None:
    disk = Switch()
    writer = _writer(tmp_path, disk)
    disk.full = True
    for event in sample_events(2):
        with contextlib.suppress(AuditWriteError):
            writer.append(event)
    writer.abandon()
    spool = spool_file(tmp_path / "spool", "s1")
    data = spool.read_bytes()
    spool.write_bytes(data[:-10])  # the second line cut short: it was never made durable
    merged = merge_spool(writer.path, spool, _key(tmp_path), "s1")
    assert merged is not None
    assert merged.merged == 1
    assert verify_log(writer.path, key=_key(tmp_path)).outcome is Outcome.UNFINISHED


def test_the_default_spool_is_outside_the_default_data_directory(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    spool = default_spool_dir(env)
    assert not spool.is_relative_to(default_data_dir(env))
    assert default_spool_dir({"XDG_STATE_HOME": "/var/state"}) == Path("/var/state/titrator/spool")
    assert default_spool_dir({"TITRATOR_SPOOL_DIR": "/mnt/b/spool"}) == Path("/mnt/b/spool")


@settings(max_examples=40, deadline=None)
@given(
    plan=st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=25),
)
def test_no_record_is_lost_whatever_fails_when(
    tmp_path_factory: pytest.TempPathFactory, plan: list[tuple[bool, bool]]
) -> None:
    """For each record, the log's disk and the spool's disk are full or not: every sealed record
    is durable in the log or the spool, or counted as held in memory; once both have room,
    the log holds them all and verifies."""
    tmp_path = tmp_path_factory.mktemp("plan")
    log_disk, spool_disk = Switch(), Switch()
    writer = _writer(tmp_path, log_disk, spool_disk)
    spool = spool_file(tmp_path / "spool", "s1")
    for event, (log_full, spool_full) in zip(sample_events(len(plan)), plan, strict=True):
        log_disk.full, spool_disk.full = log_full, spool_full
        with contextlib.suppress(AuditWriteError):
            writer.append(event)
        in_log = len(writer.path.read_bytes().splitlines())
        if writer.pending_in == "spool":
            assert in_log + writer.pending_count == writer.sealed_count
            assert len(spool.read_bytes().splitlines()) >= writer.pending_count
        elif writer.pending_in is None:
            assert in_log == writer.sealed_count
            assert not spool.exists()
    log_disk.full = spool_disk.full = False
    writer.close()
    result = verify_log(writer.path, key=_key(tmp_path))
    assert result.outcome is Outcome.OK, result.summary()
    assert result.records == len(plan) + 2
    assert not spool.exists()


def test_a_new_log_is_refused_while_a_spool_of_its_session_waits(tmp_path: Path) -> None:
    disk = Switch()
    writer = _writer(tmp_path, disk)
    disk.full = True
    with contextlib.suppress(AuditWriteError):
        writer.append(sample_events(1)[0])
    writer.abandon()
    writer.path.unlink()  # the log gone, its spool still waiting
    with pytest.raises(AuditStateError, match="wait in its spool"):
        _writer(tmp_path, Switch())
