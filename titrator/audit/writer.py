"""The session log writer: one durable, hash-chained JSON Lines file per infusion session.

Typical use by the shell::

    writer = AuditWriter.create(session_id, station_id="bay-3", nurse_id="rn-0042",
                                key_file=site_key, clock=clock)
    writer.append(event)            # returns only once the record is on disk
    head = writer.close()           # head.hash goes into the chart

The writer keeps the session's rules; the file itself (opening or taking it over, stamping,
chaining and writing records durably, releasing it) is `titrator.audit.log_file`'s.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import titrator
from titrator.audit.chain import split_event
from titrator.audit.errors import AuditFormatError, AuditStateError, AuditWriteError
from titrator.audit.log_file import ChainedLog, OpenedLog, PathArg, create_log, reopen_log
from titrator.audit.paths import DEFAULT_MIN_FREE_BYTES
from titrator.audit.record import (
    CLOSE_KIND,
    WRITER_CLOSE_PAYLOAD,
    WRITER_KINDS,
    EventLike,
    SessionHead,
)
from titrator.audit.sink import FileOps
from titrator.audit.spool import Spool, spool_file
from titrator.domain.clock import Clock


def _check_ids(station_id: str, nurse_id: str) -> None:
    if not station_id or not nurse_id:
        raise ValueError("every record needs a station id and a nurse id")


class AuditWriter:
    """Appends records to one session's log; build it with `create` or `resume`.

    Every `append` returns only after the record is written and fsynced; if that fails it
    raises `AuditWriteError`, keeps the record pending, and writes it (in order, before anything
    newer) on the next `append` or `retry`. Thread-safe.
    """

    def __init__(
        self,
        log: OpenedLog,
        *,
        session_id: str,
        station_id: str,
        nurse_id: str,
        clock: Clock,
        ops: FileOps | None,
        sync_each_record: bool,
    ) -> None:
        self._path = log.path
        self._session_id = session_id
        self._out = ChainedLog(
            log,
            context={"session_id": session_id, "station_id": station_id, "nurse_id": nurse_id},
            clock=clock,
            ops=ops,
            sync_each_record=sync_each_record,
        )
        self._lock = threading.RLock()
        self._closing = False
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
        clock: Clock,
        min_free_bytes: int = DEFAULT_MIN_FREE_BYTES,
        sync_each_record: bool = True,
        ops: FileOps | None = None,
        spool_dir: PathArg | None = None,
        spool_ops: FileOps | None = None,
    ) -> AuditWriter:
        """Start a new session log and write its `log_opened` record.

        Args:
            session_id: the session (also the file name: `<data_dir>/<session_id>.jsonl`).
            station_id: the workstation, stamped on every record.
            nurse_id: the signed-in user, stamped on every record (see `set_nurse`).
            data_dir: log directory; default `default_data_dir()` (`TITRATOR_DATA_DIR`, XDG).
            key_file: the site's HMAC key file (0600, outside the log directory), or None
                for a hash-only chain.
            clock: source of record times (the shell's clock: `titrator.shell.clocks`).
            min_free_bytes: refuse to start below this much free space (default 50 MB).
            sync_each_record: fsync every record (keep True except for bulk test set-ups).
            ops: system-call provider, for fault injection in tests.
            spool_dir: where records go (fsynced, in chain order) while the log cannot be
                written (`titrator.audit.spool`); None for no spool (records wait in memory).
            spool_ops: the spool's system-call provider, for fault injection in tests.

        Returns:
            The writer, holding an exclusive lock on the log.

        Raises:
            AuditKeyError: the key file is unsafe or unreadable.
            AuditOpenError: the directory or file cannot be created (permissions, I/O).
            AuditSpaceError: not enough free space.
            AuditStateError: the log exists already (use `resume`) or is locked, or a spool of
                the session is waiting to be merged.
            AuditWriteError: the first record could not be written; the file is released
                (empty or torn) and can be taken over with `resume`.
            ValueError: the session id is not a safe file name.
        """
        _check_ids(station_id, nurse_id)
        if spool_dir is not None and spool_file(Path(spool_dir), session_id).exists():
            raise AuditStateError(
                f"records of session {session_id} wait in its spool in {spool_dir}"
            )
        log = create_log(
            session_id, data_dir=data_dir, key_file=key_file, min_free_bytes=min_free_bytes
        )
        writer = cls(
            log,
            session_id=session_id,
            station_id=station_id,
            nurse_id=nurse_id,
            clock=clock,
            ops=ops,
            sync_each_record=sync_each_record,
        )
        writer._open_records([("log_opened", {})])
        writer._attach_spool(spool_dir, spool_ops)
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
        clock: Clock,
        min_free_bytes: int = DEFAULT_MIN_FREE_BYTES,
        sync_each_record: bool = True,
        ops: FileOps | None = None,
        spool_dir: PathArg | None = None,
        spool_ops: FileOps | None = None,
    ) -> AuditWriter:
        """Reopen an unfinished session's log for appending (after a crash or restart).

        A spool the session left in `spool_dir` is merged into the log first (see
        `titrator.audit.spool.merge_spool`). The log is verified first. A torn last line is
        copied to `<log>.torn-N` (kept, never deleted), cut from the log, and a
        `log_recovered` record is appended; otherwise a `log_resumed` record is appended.
        Arguments are as for `create`.

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
        _check_ids(station_id, nurse_id)
        spool = spool_file(Path(spool_dir), session_id) if spool_dir is not None else None
        log = reopen_log(
            session_id,
            data_dir=data_dir,
            key_file=key_file,
            min_free_bytes=min_free_bytes,
            spool=spool,
        )
        writer = cls(
            log,
            session_id=session_id,
            station_id=station_id,
            nurse_id=nurse_id,
            clock=clock,
            ops=ops,
            sync_each_record=sync_each_record,
        )
        after: dict[str, Any] = {"after_seq": log.head.seq if log.head is not None else None}
        records: list[tuple[str, dict[str, Any]]] = [("log_opened", {})] if log.head is None else []
        if log.torn is not None:
            records.append(("log_recovered", {**after, **log.torn}))
        else:
            records.append(("log_resumed", after))
        writer._open_records(records)
        writer._attach_spool(spool_dir, spool_ops)
        return writer

    def _attach_spool(self, spool_dir: PathArg | None, ops: FileOps | None) -> None:
        """Spool from now on (a failed opening is never spooled: the session does not start)."""
        if spool_dir is not None:
            self._out.attach_spool(Spool(spool_file(Path(spool_dir), self._session_id), ops))

    def _open_records(self, records: list[tuple[str, dict[str, Any]]]) -> None:
        """Write the opening records; if one fails, close the file unflushed (stays resumable)."""
        try:
            with self._lock:
                for kind, payload in records:
                    self._out.append(kind, {"software_version": titrator.__version__, **payload})
        except BaseException:
            self._out.abandon()
            raise

    # ------------------------------------------------------------------ recording
    def append(
        self,
        event: EventLike | Mapping[str, Any],
        *,
        now: datetime | None = None,
        mono_ms: int | None = None,
    ) -> SessionHead:
        """Record one event durably.

        Args:
            event: a pydantic event (`kind` attribute, `model_dump(mode="json")`) or a plain
                dict with a "kind" key. Writer-owned kinds (`WRITER_KINDS`) are refused, and
                `session_closed` goes through `close(event)`.
            now: the record's UTC wall-clock time (aware); default the writer's clock.
            mono_ms: the record's monotonic reading in milliseconds; default the writer's clock.

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
            return self._out.append(kind, payload, now=now, mono_ms=mono_ms)

    def retry(self) -> None:
        """Write any pending records now.

        Raises:
            AuditWriteError: they still cannot be written.
        """
        with self._lock:
            if self._out.released:
                return
            self._out.flush()
            if self._closing:
                self._out.release()

    def close(
        self,
        event: EventLike | Mapping[str, Any] | None = None,
        *,
        reason: str = "completed",
        now: datetime | None = None,
        mono_ms: int | None = None,
    ) -> SessionHead:
        """Write the closing `session_closed` record and release the file.

        The returned head (the closing record's own hash and MAC) is the session's anchor: show
        it for the chart and pass it to `verify_log(expect_head=...)` later.

        Args:
            event: the engine's `session_closed` event, recorded as the closing record. Without
                one the writer records `{"closed_by": "audit_writer", "reason": reason}`.
            reason: why the session ended, when no event is given.
            now: the record's time; default the writer's clock.
            mono_ms: the record's monotonic reading in milliseconds; default the writer's clock.

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
                head = self._out.append(CLOSE_KIND, payload, now=now, mono_ms=mono_ms)
            except AuditWriteError:
                raise  # the closing record is pending: the session stays closing
            except BaseException:
                self._closing = False  # nothing was recorded (e.g. a bad time)
                raise
            self._out.release()
            return head

    # ------------------------------------------------------------------ life cycle
    def set_nurse(self, nurse_id: str) -> None:
        """Stamp later records with another user (hand-over); record the hand-over as an event."""
        if not nurse_id:
            raise ValueError("every record needs a nurse id")
        with self._lock:
            self._nurse_id = nurse_id
            self._out.bind(nurse_id=nurse_id)

    def release(self) -> None:
        """Close the file without closing the session (it can be resumed later).

        Raises:
            AuditWriteError: pending records still cannot be written; the file stays open.
        """
        with self._lock:
            if not self._out.released:
                self._out.flush()
                self._out.release()

    def abandon(self) -> None:
        """Close the file and the spool without writing anything more (the process is ending).

        Records still pending stay where they are: in the spool, which `resume` merges into
        the log (see `pending_in`); records held only in memory are lost.
        """
        with self._lock:
            self._out.abandon()
            spool = self._out.sink.spool
            if spool is not None:
                spool.close()

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
        return self._out.key_id

    @property
    def healthy(self) -> bool:
        """False while any record is pending (written neither durably nor at all)."""
        with self._lock:
            return self._out.pending_count == 0

    @property
    def pending_count(self) -> int:
        """Number of records waiting to be written."""
        with self._lock:
            return self._out.pending_count

    @property
    def sealed_count(self) -> int:
        """Records sealed into the chain so far, durable or pending.

        The log's length in records once every pending record is written.
        """
        with self._lock:
            return self._out.sealed_head.seq + 1

    @property
    def spool_path(self) -> Path | None:
        """The fallback spool file (it exists only while records wait there)."""
        spool = self._out.sink.spool
        return spool.path if spool is not None else None

    @property
    def pending_in(self) -> str | None:
        """Where the pending records are.

        None (none pending), "spool" (every one is durable in the spool) or "memory" (the
        spool failed too, or there is none).
        """
        with self._lock:
            sink = self._out.sink
            if sink.pending_count == 0:
                return None
            return "spool" if sink.spooled_count == sink.pending_count else "memory"

    @property
    def spool_error(self) -> str | None:
        """Why the spool failed too, while it does."""
        with self._lock:
            return self._out.sink.spool_error

    @property
    def head(self) -> SessionHead | None:
        """Head after the last durable record (None before the first)."""
        with self._lock:
            return self._out.durable_head

    @property
    def closed(self) -> bool:
        """True once the `session_closed` record is durable."""
        with self._lock:
            return self._closing and self._out.pending_count == 0
