"""Write failures (disk full, I/O error, read-only file system) at every k-th write: a typed
error, `healthy` false, nothing lost, order kept, and a verifying chain once the fault clears."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from tests.support.audit import StepClock, make_key
from titrator.audit import (
    AuditWriteError,
    AuditWriter,
    FileOps,
    Outcome,
    read_records,
    verify_log,
)
from titrator.shell.clocks import SystemClock


class FaultyOps(FileOps):
    """Fails chosen system calls: `fail` holds 1-based call numbers of `target`."""

    def __init__(self, target: str, fail: set[int], err: int) -> None:
        self.target = target
        self.fail = fail
        self.err = err
        self.calls = 0

    def _maybe_fail(self, name: str) -> None:
        if name != self.target:
            return
        self.calls += 1
        if self.calls in self.fail:
            raise OSError(self.err, os.strerror(self.err))

    def write(self, fd: int, data: bytes) -> int:
        if self.target == "partial-write":
            self.calls += 1
            if self.calls in self.fail:
                os.write(fd, data[: max(1, len(data) // 2)])  # half a line reaches the file
                raise OSError(self.err, os.strerror(self.err))
            return os.write(fd, data)
        self._maybe_fail("write")
        return os.write(fd, data)

    def fsync(self, fd: int) -> None:
        self._maybe_fail("fsync")
        os.fsync(fd)


N_EVENTS = 10


def retry_until_healthy(writer: AuditWriter, errors: list[AuditWriteError]) -> None:
    """Retry as the engine would (on its next tick) until the fault has cleared."""
    while not writer.healthy:
        assert len(errors) < 50, "the fault never cleared"
        try:
            writer.retry()
        except AuditWriteError as exc:
            errors.append(exc)


@pytest.mark.parametrize("target", ["write", "fsync", "partial-write"])
@pytest.mark.parametrize(
    "err", [errno.ENOSPC, errno.EIO, errno.EROFS], ids=["ENOSPC", "EIO", "EROFS"]
)
@pytest.mark.parametrize("keyed", [False, True], ids=["unkeyed", "keyed"])
def test_a_failure_at_every_kth_write_loses_nothing_and_keeps_order(
    tmp_path: Path, target: str, err: int, keyed: bool
) -> None:
    key_file, key = make_key(tmp_path / "keys") if keyed else (None, None)
    # Call 1 writes log_opened; the fault hits call k and k + 1 (so a retry fails too), for
    # every k from the first event to the closing record.
    for k in range(2, N_EVENTS + 3):
        ops = FaultyOps(target, {k, k + 1}, err)
        writer = AuditWriter.create(
            f"s-{k}",
            station_id="b",
            nurse_id="n",
            data_dir=tmp_path / "logs",
            key_file=key_file,
            clock=StepClock(),
            min_free_bytes=0,
            ops=ops,
        )
        errors: list[AuditWriteError] = []
        for i in range(N_EVENTS):
            durable_before = writer.head
            try:
                writer.append({"kind": "tick", "i": i})
            except AuditWriteError as exc:
                errors.append(exc)
                assert errors[-1].pending == writer.pending_count >= 1
                assert not writer.healthy
                assert writer.head == durable_before  # the head only covers durable records
                continue
            assert writer.healthy
        try:
            writer.close()
        except AuditWriteError as exc:
            errors.append(exc)
            assert not writer.closed
        retry_until_healthy(writer, errors)
        assert writer.closed
        assert errors, "the injected fault was never hit"
        assert all(e.errno == err for e in errors)
        result = verify_log(writer.path, key=key)
        assert result.outcome is Outcome.OK, (k, result.summary())
        ticks = [r.payload["i"] for r in read_records(writer.path) if r.kind == "tick"]
        assert ticks == list(range(N_EVENTS))


@pytest.mark.parametrize("target", ["write", "fsync", "partial-write"])
def test_one_failure_then_a_retry_that_succeeds_leaves_each_record_once(
    tmp_path: Path, target: str
) -> None:
    # A single fault at call k: the very next retry succeeds, so it alone must cut back what
    # the failed call left in the file (half a line, or a whole line that was never synced).
    for k in range(2, N_EVENTS + 3):
        writer = AuditWriter.create(
            f"s-{k}",
            station_id="b",
            nurse_id="n",
            data_dir=tmp_path / "logs",
            clock=StepClock(),
            min_free_bytes=0,
            ops=FaultyOps(target, {k}, errno.ENOSPC),
        )
        for i in range(N_EVENTS):
            try:
                writer.append({"kind": "tick", "i": i})
            except AuditWriteError:
                writer.retry()
            assert writer.healthy
        try:
            writer.close()
        except AuditWriteError:
            writer.retry()
        assert writer.closed
        assert verify_log(writer.path).outcome is Outcome.OK, k
        ticks = [r.payload["i"] for r in read_records(writer.path) if r.kind == "tick"]
        assert ticks == list(range(N_EVENTS))


def test_a_failed_close_is_completed_by_retry(tmp_path: Path) -> None:
    ops = FaultyOps("fsync", {3, 4}, errno.EIO)
    writer = AuditWriter.create(
        "s-1",
        station_id="b",
        nurse_id="n",
        data_dir=tmp_path,
        min_free_bytes=0,
        ops=ops,
        clock=SystemClock(),
    )
    writer.append({"kind": "a"})
    with pytest.raises(AuditWriteError):
        writer.close()
    assert writer.pending_count == 1  # the closing record waits; the session is not closed
    with pytest.raises(AuditWriteError):
        writer.retry()
    writer.retry()
    assert writer.closed
    assert verify_log(writer.path).ok


def test_release_refuses_to_drop_pending_records(tmp_path: Path) -> None:
    ops = FaultyOps("write", {2, 3}, errno.ENOSPC)
    writer = AuditWriter.create(
        "s-1",
        station_id="b",
        nurse_id="n",
        data_dir=tmp_path,
        min_free_bytes=0,
        ops=ops,
        clock=SystemClock(),
    )
    with pytest.raises(AuditWriteError):
        writer.append({"kind": "a"})
    with pytest.raises(AuditWriteError):
        writer.release()
    writer.release()
    assert [r.kind for r in read_records(writer.path)] == ["log_opened", "a"]


def test_a_failed_first_record_leaves_a_log_that_resume_takes_over(tmp_path: Path) -> None:
    ops = FaultyOps("partial-write", {1}, errno.ENOSPC)
    with pytest.raises(AuditWriteError):
        AuditWriter.create(
            "s-1",
            station_id="b",
            nurse_id="n",
            data_dir=tmp_path,
            min_free_bytes=0,
            ops=ops,
            clock=SystemClock(),
        )
    assert verify_log(tmp_path / "s-1.jsonl").outcome is Outcome.TORN_TAIL
    writer = AuditWriter.resume(
        "s-1",
        station_id="b",
        nurse_id="n",
        data_dir=tmp_path,
        min_free_bytes=0,
        clock=SystemClock(),
    )
    writer.close()
    kinds = [r.kind for r in read_records(writer.path)]
    assert kinds == ["log_opened", "log_recovered", "session_closed"]
    assert verify_log(writer.path).ok
