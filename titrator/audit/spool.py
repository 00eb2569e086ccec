"""The fallback spool: where records go, durably and in chain order, while the log fails.

When the session log cannot take a record (a full disk, an I/O error), the writer keeps the
record pending and the sink copies every pending line, exactly as sealed for the log, to a spool
file on another configured location (`spool_dir`, by default outside the data directory) and
fsyncs it there. The chain is never broken: the spool holds the very lines the log is missing,
in order. When the log can be written again the pending lines go to the log, the log is fsynced,
and only then is the spool file removed. A spool left behind by a process that ended while the
log was failing is merged back by `merge_spool` (called when the session is resumed): the lines
the log already holds are skipped, the rest must continue its chain, the merged log is fsynced
and verified, and only then is the spool removed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from titrator.audit.errors import AuditIntegrityError, AuditKeyError
from titrator.audit.paths import (
    check_session_id,
    ensure_private_dir,
    fsync_dir,
    lock_exclusive,
    opening,
)
from titrator.audit.recovery import quarantine_tail
from titrator.audit.sink import FileOps
from titrator.audit.verify import Outcome, verify_log

ENV_SPOOL_DIR = "TITRATOR_SPOOL_DIR"
"""Environment variable that overrides the default spool directory."""

SPOOL_SUFFIX = ".jsonl.spool"
"""File-name suffix of a session's spool file."""


def default_spool_dir(env: Mapping[str, str] | None = None) -> Path:
    """The spool directory to use when none is configured.

    `TITRATOR_SPOOL_DIR` wins; otherwise `$XDG_STATE_HOME/titrator/spool`, falling back to
    `~/.local/state/titrator/spool`: the user's state directory, not the data directory (by
    default under `~/.local/share`), so that it is a different place to write to.
    """
    environ = os.environ if env is None else env
    if environ.get(ENV_SPOOL_DIR):
        return Path(environ[ENV_SPOOL_DIR]).expanduser()
    xdg = environ.get("XDG_STATE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state"
    return base / "titrator" / "spool"


def spool_file(spool_dir: Path, session_id: str) -> Path:
    """A session's spool file: `<spool_dir>/<session_id>.jsonl.spool`."""
    return spool_dir / f"{check_session_id(session_id)}{SPOOL_SUFFIX}"


class Spool:
    """One session's spool file, created (0600, in a 0700 directory) at its first use.

    Args:
        path: the spool file.
        ops: system-call provider (fault injection in tests); separate from the log's, as the
            spool lives on another file system.
    """

    def __init__(self, path: Path, ops: FileOps | None = None) -> None:
        self.path = path
        self._ops = ops or FileOps()
        self._fd: int | None = None
        self._size = 0
        self._dirty = False

    @property
    def in_use(self) -> bool:
        """True from the first record spooled until the spool is discarded."""
        return self._fd is not None

    def add(self, lines: Sequence[bytes]) -> None:
        """Append whole lines and fsync them; on failure cut back what was half written.

        Raises:
            OSError: the lines could not be made durable in the spool.
        """
        if not lines:  # a retry with nothing new to spool
            return
        if self._fd is None:
            ensure_private_dir(self.path.parent)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            os.fchmod(fd, 0o600)
            self._size = os.fstat(fd).st_size
            self._fd = fd
            fsync_dir(self.path.parent)
        if self._dirty:
            self._ops.ftruncate(self._fd, self._size)
            self._dirty = False
        data = b"".join(lines)
        self._dirty = True
        view = memoryview(data)
        while view:
            written = self._ops.write(self._fd, bytes(view))
            if written <= 0:
                raise OSError(0, "spool write made no progress")
            view = view[written:]
        self._ops.fsync(self._fd)
        self._dirty = False
        self._size += len(data)

    def close(self) -> None:
        """Close the file, keeping it (the process is ending; `merge_spool` takes it later)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def discard(self) -> None:
        """Close and remove the spool file (its lines are durable in the log now).

        Raises:
            OSError: it could not be removed (it is tried again later; merging skips lines
                the log already holds, so a spool left behind loses nothing).
        """
        self.close()
        self.path.unlink(missing_ok=True)
        fsync_dir(self.path.parent)


@dataclass(frozen=True)
class SpoolMerge:
    """What merging a spool into its log did.

    Attributes:
        merged: records appended to the log from the spool.
        skipped: spool records the log held already.
        torn: the log's torn tail set aside before the merge (`log_recovered` fields), if any.
    """

    merged: int
    skipped: int
    torn: dict[str, Any] | None = None


def _spool_lines(spool: Path) -> list[bytes]:
    """The spool's whole lines (a last line without its newline was never made durable)."""
    data = spool.read_bytes()
    lines = data.splitlines(keepends=True)
    if lines and not lines[-1].endswith(b"\n"):
        lines.pop()
    return lines


def _fields(line: bytes, where: Path) -> tuple[int, str, str]:
    try:
        record = json.loads(line)
        return int(record["seq"]), str(record["prev_hash"]), str(record["hash"])
    except (ValueError, KeyError, TypeError) as exc:
        raise AuditIntegrityError(f"{where}: a line is not an audit record") from exc


def merge_locked(
    path: Path, fd: int, spool: Path, key: bytes | None, session_id: str
) -> SpoolMerge:
    """Merge a spool into its log, which the caller holds open (read, append) and locked.

    Lines the log already holds are skipped (a spool can outlive a successful write when its
    removal failed); the rest must continue the log's chain. They are appended, the log is
    fsynced and verified whole, and only then is the spool removed.

    Raises:
        AuditIntegrityError: the log is damaged, or the spool does not continue it (nothing
            is changed: the spool is kept).
        AuditKeyError: the log is keyed and no key was given.
        OSError: the log could not be written or synced (the spool is kept).
    """
    before = verify_log(path, key=key)
    if before.outcome not in (Outcome.OK, Outcome.UNFINISHED, Outcome.TORN_TAIL):
        raise AuditIntegrityError(f"cannot merge the spool {spool}: {before.summary()}")
    if before.session_id not in (None, session_id):
        raise AuditIntegrityError(f"{path} belongs to session {before.session_id}")
    if before.keyed and key is None:
        raise AuditKeyError(f"{path} is keyed; configure its key file to merge its spool")
    torn = None
    if before.outcome is Outcome.TORN_TAIL:
        torn = quarantine_tail(path, fd, before.good_bytes)
    head_seq = before.head.seq if before.head is not None else -1
    head_hash = before.head.hash if before.head is not None else None
    lines = _spool_lines(spool)
    fresh: list[bytes] = []
    skipped = 0
    for line in lines:
        seq, prev_hash, line_hash = _fields(line, spool)
        if not fresh and seq <= head_seq:
            skipped += 1
            if seq == head_seq and line_hash != head_hash:
                raise AuditIntegrityError(f"{spool} does not continue {path} (record {seq})")
            continue
        expected_prev = head_hash if not fresh else _fields(fresh[-1], spool)[2]
        if seq != head_seq + 1 + len(fresh) or (
            expected_prev is not None and prev_hash != expected_prev
        ):
            raise AuditIntegrityError(f"{spool} does not continue {path} (record {seq})")
        fresh.append(line)
    if fresh:
        size = before.good_bytes
        data = b"".join(fresh)
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, size)
            raise
        after = verify_log(path, key=key)
        if after.outcome not in (Outcome.OK, Outcome.UNFINISHED):
            os.ftruncate(fd, size)
            os.fsync(fd)
            raise AuditIntegrityError(f"the spool {spool} does not verify: {after.summary()}")
    spool.unlink()
    fsync_dir(spool.parent)
    return SpoolMerge(merged=len(fresh), skipped=skipped, torn=torn)


def merge_spool(path: Path, spool: Path, key: bytes | None, session_id: str) -> SpoolMerge | None:
    """Merge a session's spool file into its log, if there is one (see `merge_locked`).

    Returns:
        What was merged, or None when there is no spool file.

    Raises:
        AuditStateError: the log is being written by another process.
        AuditIntegrityError: the log is damaged or the spool does not continue it.
        AuditKeyError: the log is keyed and no key was given.
        AuditOpenError: the log could not be opened, written or synced (the spool is kept).
    """
    if not spool.exists():
        return None
    with opening(path):
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
        lock_exclusive(fd, path)
        try:
            return merge_locked(path, fd, spool, key, session_id)
        finally:
            os.close(fd)
