"""The session log writer: one durable, hash-chained JSON Lines file per infusion session.

Typical use by the shell::

    writer = AuditWriter.create(session_id, station_id="bay-3", nurse_id="rn-0042",
                                key_file=site_key, clock=clock)
    writer.append(event)            # returns only once the record is on disk
    head = writer.close()           # head.hash goes into the chart
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import titrator
from titrator.audit.chain import AuditLogger, HashChain, check_mono, format_ts, split_event
from titrator.audit.errors import AuditFormatError, AuditStateError, AuditWriteError
from titrator.audit.keys import key_id, load_key
from titrator.audit.paths import (
    DEFAULT_MIN_FREE_BYTES,
    check_free_space,
    create_private_file,
    default_data_dir,
    ensure_private_dir,
    fsync_dir,
    lock_exclusive,
    opening,
    session_log_path,
)
from titrator.audit.record import (
    CLOSE_KIND,
    WRITER_CLOSE_PAYLOAD,
    WRITER_KINDS,
    Clock,
    EventLike,
    SessionHead,
    SystemClock,
)
from titrator.audit.recovery import prepare_resume
from titrator.audit.sink import DurableFileSink, FileOps

PathArg = str | os.PathLike[str]


def _locate(
    session_id: str, station_id: str, nurse_id: str, data_dir: PathArg | None, key: PathArg | None
) -> tuple[Path, Path, bytes | None]:
    """Check the ids and key file; return the log directory, the log path and the key."""
    if not station_id or not nurse_id:
        raise ValueError("every record needs a station id and a nurse id")
    directory = Path(data_dir) if data_dir is not None else default_data_dir()
    path = session_log_path(directory, session_id)
    return directory, path, load_key(key, log_dir=directory) if key is not None else None


class AuditWriter:
    """Appends records to one session's log; build it with `create` or `resume`.

    Every `append` returns only after the record is written and fsynced; if that fails it
    raises `AuditWriteError`, keeps the record pending, and writes it (in order, before anything
    newer) on the next `append` or `retry`. Thread-safe.
    """

    def __init__(
        self,
        *,
        path: Path,
        fd: int,
        size: int,
        session_id: str,
        station_id: str,
        nurse_id: str,
        key: bytes | None,
        head: SessionHead | None,
        clock: Clock,
        ops: FileOps | None,
        sync_each_record: bool,
    ) -> None:
        self._path = path
        self._fd: int | None = fd
        self._session_id = session_id
        self._key_id = key_id(key) if key is not None else None
        self._chain = HashChain(key=key, key_id=self._key_id, head=head)
        self._sink = DurableFileSink(fd, size=size, ops=ops, sync_each_record=sync_each_record)
        self._sink.durable_head = head
        self._sync_each = sync_each_record
        self._clock = clock
        self._lock = threading.RLock()
        self._closing = False
        self._log = AuditLogger(
            self._sink,
            processors=[self._chain.envelope, self._chain.seal],
            context={"session_id": session_id, "station_id": station_id, "nurse_id": nurse_id},
        )
        self._station_id = station_id
        self._nurse_id = nurse_id

    # ------------------------------------------------------------------ construction
    @classmethod
    def create(
        cls,
        session_id: str,
        *,
        station_id: str,
        nurse_id: str,
        data_dir: PathArg | None = None,
        key_file: PathArg | None = None,
        clock: Clock | None = None,
        min_free_bytes: int = DEFAULT_MIN_FREE_BYTES,
        sync_each_record: bool = True,
        ops: FileOps | None = None,
    ) -> AuditWriter:
        """Start a new session log and write its `log_opened` record.

        Args:
            session_id: the session (also the file name: `<data_dir>/<session_id>.jsonl`).
            station_id: the workstation, stamped on every record.
            nurse_id: the signed-in user, stamped on every record (see `set_nurse`).
            data_dir: log directory; default `default_data_dir()` (`TITRATOR_DATA_DIR`, XDG).
            key_file: the site's HMAC key file (0600, outside the log directory), or None
                for a hash-only chain.
            clock: source of record times; default the system clock.
            min_free_bytes: refuse to start below this much free space (default 50 MB).
            sync_each_record: fsync every record (keep True except for bulk test set-ups).
            ops: system-call provider, for fault injection in tests.

        Returns:
            The writer, holding an exclusive lock on the log.

        Raises:
            AuditKeyError: the key file is unsafe or unreadable.
            AuditOpenError: the directory or file cannot be created (permissions, I/O).
            AuditSpaceError: not enough free space.
            AuditStateError: the log exists already (use `resume`) or is locked.
            AuditWriteError: the first record could not be written; the file is released
                (empty or torn) and can be taken over with `resume`.
            ValueError: the session id is not a safe file name.
        """
        directory, path, key = _locate(session_id, station_id, nurse_id, data_dir, key_file)
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
        writer = cls(
            path=path,
            fd=fd,
            size=0,
            session_id=session_id,
            station_id=station_id,
            nurse_id=nurse_id,
            key=key,
            head=None,
            clock=clock or SystemClock(),
            ops=ops,
            sync_each_record=sync_each_record,
        )
        with writer._abandon_on_error():
            writer._open_record("log_opened", {})
        return writer

    @classmethod
    def resume(
        cls,
        session_id: str,
        *,
        station_id: str,
        nurse_id: str,
        data_dir: PathArg | None = None,
        key_file: PathArg | None = None,
        clock: Clock | None = None,
        min_free_bytes: int = DEFAULT_MIN_FREE_BYTES,
        sync_each_record: bool = True,
        ops: FileOps | None = None,
    ) -> AuditWriter:
        """Reopen an unfinished session's log for appending (after a crash or restart).

        The log is verified first. A torn last line is copied to `<log>.torn-N` (kept, never
        deleted), cut from the log, and a `log_recovered` record is appended; otherwise a
        `log_resumed` record is appended. Arguments are as for `create`.

        Returns:
            The writer, positioned after the last intact record.

        Raises:
            AuditIntegrityError: the log is damaged; it must not be extended.
            AuditKeyError: the key file is unsafe, or the log's MACs need a key not given.
            AuditOpenError: the log cannot be opened or its torn tail set aside.
            AuditSpaceError: not enough free space.
            AuditStateError: no such log, the session was closed, or the log is locked.
            AuditWriteError: the resume record could not be written; the file is released
                unchanged apart from a possibly torn tail, and `resume` can be tried again.
        """
        directory, path, key = _locate(session_id, station_id, nurse_id, data_dir, key_file)
        if not path.exists():
            raise AuditStateError(f"no log for session {session_id} in {directory}")
        with opening(path):
            check_free_space(directory, min_free_bytes)
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
            lock_exclusive(fd, path)
            try:
                point = prepare_resume(path, fd, key, session_id)
            except BaseException:
                os.close(fd)
                raise
        writer = cls(
            path=path,
            fd=fd,
            size=point.size,
            session_id=session_id,
            station_id=station_id,
            nurse_id=nurse_id,
            key=key,
            head=point.head,
            clock=clock or SystemClock(),
            ops=ops,
            sync_each_record=sync_each_record,
        )
        after_seq = point.head.seq if point.head is not None else None
        with writer._abandon_on_error():
            if point.head is None:
                writer._open_record("log_opened", {})
            if point.torn is not None:
                writer._open_record("log_recovered", {"after_seq": after_seq, **point.torn})
            else:
                writer._open_record("log_resumed", {"after_seq": after_seq})
        return writer

    @contextlib.contextmanager
    def _abandon_on_error(self) -> Iterator[None]:
        """Close the file without flushing if construction fails; the log stays resumable."""
        try:
            yield
        except BaseException:
            if self._fd is not None:
                fd, self._fd = self._fd, None
                os.close(fd)
            raise

    def _open_record(self, kind: str, payload: dict[str, Any]) -> None:
        payload = {"software_version": titrator.__version__, **payload}
        with self._lock:
            self._emit(kind, payload, None, None)

    # ------------------------------------------------------------------ recording
    def append(
        self,
        event: EventLike | Mapping[str, Any],
        *,
        now: datetime | None = None,
        mono: float | None = None,
    ) -> SessionHead:
        """Record one event durably.

        Args:
            event: a pydantic event (`kind` attribute, `model_dump(mode="json")`) or a plain
                dict with a "kind" key. Writer-owned kinds (`WRITER_KINDS`) are refused, and
                `session_closed` goes through `close(event)`.
            now: the record's UTC wall-clock time (aware); default the writer's clock.
            mono: the record's monotonic reading in seconds; default the writer's clock.

        Returns:
            The chain head after this record.

        Raises:
            AuditWriteError: the record (and any earlier pending ones) could not be made
                durable; it is kept and retried. The recorded action must not proceed.
            AuditFormatError: the event cannot be encoded (NaN, infinity, naive time…);
                nothing was recorded.
            AuditStateError: the session is closed or the writer released.
        """
        kind, payload = split_event(event)
        if kind in WRITER_KINDS:
            raise AuditFormatError(f"kind {kind!r} is reserved for the audit writer")
        if kind == CLOSE_KIND:
            raise AuditFormatError(f"a {CLOSE_KIND!r} event is recorded with close(event)")
        with self._lock:
            if self._closing:
                raise AuditStateError(f"session {self._session_id} is closed")
            return self._emit(kind, payload, now, mono)

    def retry(self) -> None:
        """Write any pending records now.

        Raises:
            AuditWriteError: they still cannot be written.
        """
        with self._lock:
            if self._fd is None:
                return
            self._sink.flush()
            if self._closing:
                self._release_locked()

    def close(
        self,
        event: EventLike | Mapping[str, Any] | None = None,
        *,
        reason: str = "completed",
        now: datetime | None = None,
        mono: float | None = None,
    ) -> SessionHead:
        """Write the closing `session_closed` record and release the file.

        The returned head (the closing record's own hash and MAC) is the session's anchor: show
        it for the chart and pass it to `verify_log(expect_head=...)` later.

        Args:
            event: the engine's `session_closed` event, recorded as the closing record. Without
                one the writer records `{"closed_by": "audit_writer", "reason": reason}`.
            reason: why the session ended, when no event is given.
            now: the record's time; default the writer's clock.
            mono: the record's monotonic reading; default the writer's clock.

        Returns:
            The head of the closed log.

        Raises:
            AuditWriteError: the closing record is pending; call `retry` until it succeeds.
            AuditFormatError: the event is not a `session_closed` event or cannot be encoded;
                nothing was recorded and the session stays open.
            AuditStateError: the session is already closed.
        """
        if event is None:
            payload: dict[str, Any] = {**WRITER_CLOSE_PAYLOAD, "reason": reason}
        else:
            kind, payload = split_event(event)
            if kind != CLOSE_KIND:
                raise AuditFormatError(f"close() takes a {CLOSE_KIND!r} event, not {kind!r}")
        with self._lock:
            if self._closing:
                raise AuditStateError(f"session {self._session_id} is already closed")
            self._closing = True
            try:
                head = self._emit(CLOSE_KIND, payload, now, mono)
            except AuditWriteError:
                raise  # the closing record is pending: the session stays closing
            except BaseException:
                self._closing = False  # nothing was recorded (e.g. a bad time)
                raise
            self._release_locked()
            return head

    def _emit(
        self, kind: str, payload: dict[str, Any], now: datetime | None, mono: float | None
    ) -> SessionHead:
        if self._fd is None:
            raise AuditStateError(f"writer for {self._path} has been released")
        ts = format_ts(now if now is not None else self._clock.now())
        reading = check_mono(mono if mono is not None else self._clock.monotonic())
        self._log.record(kind, ts=ts, mono=reading, payload=payload)
        return self._chain.last_head

    # ------------------------------------------------------------------ life cycle
    def set_nurse(self, nurse_id: str) -> None:
        """Stamp later records with another user (hand-over); record the hand-over as an event."""
        if not nurse_id:
            raise ValueError("every record needs a nurse id")
        with self._lock:
            self._nurse_id = nurse_id
            self._log = self._log.bind(nurse_id=nurse_id)

    def release(self) -> None:
        """Close the file without closing the session (it can be resumed later).

        Raises:
            AuditWriteError: pending records still cannot be written; the file stays open.
        """
        with self._lock:
            if self._fd is not None:
                self._sink.flush()
                self._release_locked()

    def _release_locked(self) -> None:
        if self._fd is None:
            return
        if not self._sync_each:
            self._sink.sync()
        fd, self._fd = self._fd, None
        os.close(fd)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    # ------------------------------------------------------------------ state
    @property
    def path(self) -> Path:
        """The log file."""
        return self._path

    @property
    def session_id(self) -> str:
        """The session this log records."""
        return self._session_id

    @property
    def station_id(self) -> str:
        """Workstation stamped on records."""
        return self._station_id

    @property
    def nurse_id(self) -> str:
        """User stamped on new records."""
        return self._nurse_id

    @property
    def key_id(self) -> str | None:
        """Public name of the HMAC key, or None for a hash-only log."""
        return self._key_id

    @property
    def healthy(self) -> bool:
        """False while any record is pending (written neither durably nor at all)."""
        with self._lock:
            return self._sink.pending_count == 0

    @property
    def pending_count(self) -> int:
        """Number of records waiting to be written."""
        with self._lock:
            return self._sink.pending_count

    @property
    def head(self) -> SessionHead | None:
        """Head after the last durable record (None before the first)."""
        with self._lock:
            return self._sink.durable_head

    @property
    def closed(self) -> bool:
        """True once the `session_closed` record is durable."""
        with self._lock:
            return self._closing and self._sink.pending_count == 0
