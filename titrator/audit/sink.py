"""The durable end of the structlog chain: write a whole line, fsync, keep it pending on failure.

`DurableFileSink` is the "wrapped logger" that structlog hands each rendered record to. A record
is durable when `msg` returns. When the write or fsync fails, the record stays in an in-memory
queue, `AuditWriteError` is raised, and the next `msg` or `flush` first cuts the file back to the
end of the last durable record (removing any half-written bytes that were never acknowledged)
and then writes every pending record again, in order.

With a spool (`titrator.audit.spool.Spool`, attached once the log is open), every pending line
the spool does not hold yet is also written there and fsynced before `AuditWriteError` is
raised: the records are durable in the spool, in chain order, while the log fails. Once the log
takes them all (and is fsynced), the spool file is removed.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from titrator.audit.errors import AuditWriteError
from titrator.audit.record import SessionHead

if TYPE_CHECKING:
    from titrator.audit.spool import Spool


class FileOps:
    """The three system calls the sink makes; tests inject failing versions."""

    def write(self, fd: int, data: bytes) -> int:
        """Write bytes; may write fewer than given. See `os.write`."""
        return os.write(fd, data)

    def fsync(self, fd: int) -> None:
        """Flush the file to stable storage. See `os.fsync`."""
        os.fsync(fd)

    def ftruncate(self, fd: int, size: int) -> None:
        """Cut the file to `size` bytes. See `os.ftruncate`."""
        os.ftruncate(fd, size)


@dataclass(frozen=True, slots=True)
class _Pending:
    line: bytes
    head: SessionHead


class DurableFileSink:
    """Appends rendered records to an open log file, durably and in order.

    Args:
        fd: descriptor opened with `O_APPEND`.
        size: current length of the file (the end of its last durable record).
        ops: system-call provider (for fault injection).
        sync_each_record: fsync after every write. Only bulk set-ups (benchmarks, tests) turn
            this off; the writer then syncs when it is released.
    """

    def __init__(
        self, fd: int, *, size: int, ops: FileOps | None = None, sync_each_record: bool = True
    ) -> None:
        self._fd = fd
        self._size = size
        self._ops = ops or FileOps()
        self._sync = sync_each_record
        self._pending: list[_Pending] = []
        self._dirty = False  # bytes past self._size may exist from a failed attempt
        self._spool: Spool | None = None
        self._spooled = 0  # how many of the pending records (from the first) the spool holds
        self.spool_error: str | None = None
        """Why the spool failed too, while it does (the pending records are in memory only)."""
        self.spool_left_behind: str | None = None
        """Why a spool whose lines are all in the log could not be removed (tried again)."""
        self.durable_head: SessionHead | None = None
        """Head after the last record known to be on disk."""

    def attach_spool(self, spool: Spool) -> None:
        """Spool pending records there from now on, while the log cannot be written."""
        self._spool = spool

    @property
    def spool(self) -> Spool | None:
        """The fallback spool, when one is attached."""
        return self._spool

    @property
    def spooled_count(self) -> int:
        """How many pending records are durable in the spool."""
        return self._spooled

    @property
    def pending_count(self) -> int:
        """Number of records waiting to be written."""
        return len(self._pending)

    @property
    def size(self) -> int:
        """Length of the durable part of the file."""
        return self._size

    def msg(self, line: bytes, *, head: SessionHead) -> None:
        """Queue a rendered record and write every pending record.

        Args:
            line: the record's canonical line, newline included.
            head: the chain head after this record.

        Raises:
            AuditWriteError: the records could not be made durable; they stay queued.
        """
        self._pending.append(_Pending(line, head))
        self.flush()

    def flush(self) -> None:
        """Write every pending record (no-op when none are pending).

        Raises:
            AuditWriteError: the records could not be made durable; they stay queued.
        """
        if not self._pending:
            self._drop_spool()
            return
        data = b"".join(p.line for p in self._pending)
        spooling = self._spool is not None and self._spool.in_use
        try:
            if self._dirty:
                self._ops.ftruncate(self._fd, self._size)
                self._dirty = False
            self._dirty = True
            self._write_all(data)
            if self._sync or spooling:  # the log must be durable before the spool goes
                self._ops.fsync(self._fd)
        except OSError as exc:
            raise self._failure(exc) from exc
        self._dirty = False
        self._size += len(data)
        self.durable_head = self._pending[-1].head
        self._pending.clear()
        self._spooled = 0
        self.spool_error = None
        self._drop_spool()

    def _failure(self, exc: OSError) -> AuditWriteError:
        """Spool what the spool lacks, and say where the pending records are."""
        count = len(self._pending)
        reason = f"audit record could not be written ({exc.strerror or exc})"
        spool_path = None
        if self._spool is not None:
            spool_path = self._spool.path
            try:
                self._spool.add([p.line for p in self._pending[self._spooled :]])
            except OSError as spool_exc:
                self.spool_error = str(spool_exc.strerror or spool_exc)
            else:
                self._spooled = count
                self.spool_error = None
        if self._spool is not None and self._spooled == count:
            where = f"{count} record(s) kept in the spool {spool_path}"
        elif self._spool is not None:
            where = (
                f"the spool {spool_path} failed too ({self.spool_error}); "
                f"{count} record(s) held in memory only"
            )
        else:
            where = f"{count} record(s) pending"
        return AuditWriteError(
            f"{reason}; {where}",
            pending=count,
            errno=exc.errno,
            spooled=self._spooled,
            spool_path=spool_path,
        )

    def _drop_spool(self) -> None:
        """Remove the spool once everything in it is in the log (tried again if it fails)."""
        if self._spool is None or not (self._spool.in_use or self.spool_left_behind):
            return
        try:
            self._spool.discard()
        except OSError as exc:  # its lines are in the log: a merge would skip them all
            self.spool_left_behind = str(exc.strerror or exc)
        else:
            self.spool_left_behind = None

    def sync(self) -> None:
        """Fsync the file (used when per-record sync is off).

        Raises:
            AuditWriteError: fsync failed.
        """
        try:
            self._ops.fsync(self._fd)
        except OSError as exc:
            raise AuditWriteError(
                f"audit log could not be synced ({exc.strerror or exc})",
                pending=len(self._pending),
                errno=exc.errno,
            ) from exc

    def _write_all(self, data: bytes) -> None:
        offset = 0
        while offset < len(data):
            written = self._ops.write(self._fd, data[offset:] if offset else data)
            if written <= 0:
                raise OSError(errno.EIO, "write made no progress")
            offset += written
