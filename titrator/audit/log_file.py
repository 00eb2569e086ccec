"""A session log file as the writer uses it: opened (new or taken over), appended to, released.

`create_log` and `reopen_log` return the log open for appending and exclusively locked, with the
site's HMAC key loaded. A new log is created (0600, in a private directory) after a free-space
check, and its directory entry is made durable. An existing log is verified first and a torn
last line set aside (see `titrator.audit.recovery`). If anything fails after the file is opened,
it is closed again. `AuditWriter.create` and `AuditWriter.resume` document the errors raised.

`ChainedLog` appends records to an opened log until it is released: it stamps each with the
context and the time (the clock's, or the caller's), and writes it through the hash/HMAC chain
(`titrator.audit.chain`) and the durable sink (`titrator.audit.sink`). The session rules (which
kinds may be recorded, closing, hand-over, locking) are `titrator.audit.writer`'s.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from titrator.audit.chain import AuditLogger, HashChain, check_mono_ms, format_ts
from titrator.audit.errors import AuditStateError
from titrator.audit.keys import key_id, load_key
from titrator.audit.paths import (
    check_free_space,
    create_private_file,
    default_data_dir,
    ensure_private_dir,
    fsync_dir,
    lock_exclusive,
    opening,
    session_log_path,
)
from titrator.audit.record import SessionHead
from titrator.audit.recovery import prepare_resume
from titrator.audit.sink import DurableFileSink, FileOps
from titrator.audit.spool import Spool, merge_locked
from titrator.domain.clock import Clock

PathArg = str | os.PathLike[str]


@dataclass(frozen=True)
class OpenedLog:
    """A session log open for appending (`O_APPEND`) and exclusively locked.

    Attributes:
        path: the log file.
        fd: its descriptor; the writer closes it.
        key: the site's HMAC key, or None for a hash-only chain.
        size: the end of the last intact record (0 for a new log).
        head: the chain head after the last intact record (None for an empty log).
        torn: the `log_recovered` payload fields if a torn tail was set aside, else None.
    """

    path: Path
    fd: int
    key: bytes | None
    size: int = 0
    head: SessionHead | None = None
    torn: dict[str, Any] | None = None


def _locate(
    session_id: str, data_dir: PathArg | None, key_file: PathArg | None
) -> tuple[Path, Path, bytes | None]:
    """Check the session id and key file; return the log directory, the log path and the key."""
    directory = Path(data_dir) if data_dir is not None else default_data_dir()
    path = session_log_path(directory, session_id)
    key = load_key(key_file, log_dir=directory) if key_file is not None else None
    return directory, path, key


def create_log(
    session_id: str, *, data_dir: PathArg | None, key_file: PathArg | None, min_free_bytes: int
) -> OpenedLog:
    """Create and lock a new, empty session log (see `AuditWriter.create`)."""
    directory, path, key = _locate(session_id, data_dir, key_file)
    with opening(path):
        ensure_private_dir(directory)
        check_free_space(directory, min_free_bytes)
        fd = create_private_file(path)
        lock_exclusive(fd, path)
        try:
            fsync_dir(directory)
        except BaseException:
            os.close(fd)
            raise
    return OpenedLog(path=path, fd=fd, key=key)


def reopen_log(
    session_id: str,
    *,
    data_dir: PathArg | None,
    key_file: PathArg | None,
    min_free_bytes: int,
    spool: Path | None = None,
) -> OpenedLog:
    """Open, lock and verify an unfinished session log; set a torn tail aside (see `resume`).

    A spool file left by the session (`spool`, when it exists) is merged into the log first.
    """
    directory, path, key = _locate(session_id, data_dir, key_file)
    if not path.exists():
        raise AuditStateError(f"no log for session {session_id} in {directory}")
    with opening(path):
        check_free_space(directory, min_free_bytes)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
        lock_exclusive(fd, path)
        try:
            merged = None
            if spool is not None and spool.exists():
                merged = merge_locked(path, fd, spool, key, session_id)
            point = prepare_resume(path, fd, key, session_id)
        except BaseException:
            os.close(fd)
            raise
    torn = point.torn if point.torn is not None else (merged.torn if merged else None)
    return OpenedLog(path=path, fd=fd, key=key, size=point.size, head=point.head, torn=torn)


class ChainedLog:
    """Appends hash-chained records to an opened log, durably, until released. Not thread-safe.

    Args:
        log: the opened log; its descriptor is owned (and closed) from here on.
        context: fields stamped on every record (`session_id`, `station_id`, `nurse_id`).
        clock: source of record times when the caller gives none.
        ops: system-call provider, for fault injection in tests.
        sync_each_record: fsync every record; otherwise the file is synced when released.
    """

    def __init__(
        self,
        log: OpenedLog,
        *,
        context: Mapping[str, str],
        clock: Clock,
        ops: FileOps | None,
        sync_each_record: bool,
    ) -> None:
        self.path = log.path
        self.key_id = key_id(log.key) if log.key is not None else None
        self._fd: int | None = log.fd
        self._chain = HashChain(key=log.key, key_id=self.key_id, head=log.head)
        self._sink = DurableFileSink(
            log.fd, size=log.size, ops=ops, sync_each_record=sync_each_record
        )
        self._sink.durable_head = log.head
        self._sync_each = sync_each_record
        self._clock = clock
        self._log = AuditLogger(
            self._sink, processors=[self._chain.envelope, self._chain.seal], context=dict(context)
        )

    @property
    def released(self) -> bool:
        """True once the descriptor is closed (released or abandoned)."""
        return self._fd is None

    @property
    def pending_count(self) -> int:
        """Number of records waiting to be written."""
        return self._sink.pending_count

    @property
    def durable_head(self) -> SessionHead | None:
        """Head after the last durable record (None before the first)."""
        return self._sink.durable_head

    @property
    def sealed_head(self) -> SessionHead:
        """Head after the last record sealed, durable or pending (seq -1 before the first)."""
        return self._chain.last_head

    @property
    def sink(self) -> DurableFileSink:
        """The durable sink (pending records, the spool)."""
        return self._sink

    def attach_spool(self, spool: Spool) -> None:
        """Spool pending records there while the log cannot be written."""
        self._sink.attach_spool(spool)

    def append(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        now: datetime | None = None,
        mono_ms: int | None = None,
    ) -> SessionHead:
        """Stamp, chain, encode and write one record; return the chain head after it.

        Args:
            kind: the record kind.
            payload: the record's payload.
            now: the record's UTC wall-clock time (aware); default the clock's.
            mono_ms: the record's monotonic reading in milliseconds; default the clock's.

        Raises:
            AuditStateError: the log has been released.
            AuditWriteError: not durable; the record stays pending (see `DurableFileSink`).
            AuditFormatError: it cannot be encoded (bad time, NaN...); nothing was recorded.
        """
        if self._fd is None:
            raise AuditStateError(f"writer for {self.path} has been released")
        if now is None or mono_ms is None:
            instant = self._clock.now()
            now = instant.wall_utc if now is None else now
            mono_ms = instant.mono_ms if mono_ms is None else mono_ms
        ts = format_ts(now)
        reading = check_mono_ms(mono_ms)
        self._log.record(kind, ts=ts, mono=reading, payload=payload)
        return self._chain.last_head

    def bind(self, **fields: str) -> None:
        """Stamp later records with these context fields (e.g. another `nurse_id`)."""
        self._log = self._log.bind(**fields)

    def flush(self) -> None:
        """Write any pending records now (raises `AuditWriteError` if they still cannot be)."""
        self._sink.flush()

    def release(self) -> None:
        """Sync the file if records were not synced one by one, and close it (once)."""
        if self._fd is None:
            return
        if not self._sync_each:
            self._sink.sync()
        fd, self._fd = self._fd, None
        os.close(fd)

    def abandon(self) -> None:
        """Close the file without writing or syncing anything (a failed opening)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
