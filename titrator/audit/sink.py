"""The durable end of the structlog chain: write a whole line, fsync, keep it pending on failure.

`DurableFileSink` is the "wrapped logger" that structlog hands each rendered record to. A record
is durable when `msg` returns. When the write or fsync fails, the record stays in an in-memory
queue, `AuditWriteError` is raised, and the next `msg` or `flush` first cuts the file back to the
end of the last durable record (removing any half-written bytes that were never acknowledged)
and then writes every pending record again, in order.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass

from titrator.audit.errors import AuditWriteError
from titrator.audit.record import SessionHead


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
        self.durable_head: SessionHead | None = None
        """Head after the last record known to be on disk."""

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
            return
        data = b"".join(p.line for p in self._pending)
        try:
            if self._dirty:
                self._ops.ftruncate(self._fd, self._size)
                self._dirty = False
            self._dirty = True
            self._write_all(data)
            if self._sync:
                self._ops.fsync(self._fd)
        except OSError as exc:
            raise AuditWriteError(
                f"audit record could not be written ({exc.strerror or exc}); "
                f"{len(self._pending)} record(s) pending",
                pending=len(self._pending),
                errno=exc.errno,
            ) from exc
        self._dirty = False
        self._size += len(data)
        self.durable_head = self._pending[-1].head
        self._pending.clear()

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
