"""Taking over an unfinished log: check it can be extended and set a torn tail aside.

A torn last line (a write cut short by a crash or power loss) is never deleted: it is copied to
a sibling `<log>.torn-N` file, made durable there, and only then cut from the log, so that the
chain can continue from the last intact record. Earlier lines are never rewritten.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from titrator.audit.errors import AuditIntegrityError, AuditKeyError, AuditStateError
from titrator.audit.paths import create_private_file, fsync_dir, quarantine_path
from titrator.audit.record import SessionHead
from titrator.audit.verify import Outcome, verify_log


@dataclass(frozen=True)
class ResumePoint:
    """Where a resumed log continues.

    Attributes:
        head: head after the last intact record, or None for an empty log.
        size: length of the intact prefix (the file's length once a torn tail is cut).
        torn: `log_recovered` payload fields if a torn tail was set aside, else None.
    """

    head: SessionHead | None
    size: int
    torn: dict[str, Any] | None


def prepare_resume(path: Path, fd: int, key: bytes | None, session_id: str) -> ResumePoint:
    """Verify a locked log and set any torn tail aside.

    Args:
        path: the log.
        fd: its descriptor, open for read and append, holding the writer lock.
        key: the site key, if configured.
        session_id: the session the caller means to resume.

    Returns:
        Where to continue.

    Raises:
        AuditStateError: the session was closed.
        AuditIntegrityError: the log is damaged or belongs to another session.
        AuditKeyError: the log is keyed but no key is configured.
    """
    result = verify_log(path, key=key)
    if result.outcome is Outcome.OK or result.closed:
        raise AuditStateError(f"session {session_id} is already closed")
    if result.outcome not in (Outcome.UNFINISHED, Outcome.TORN_TAIL):
        raise AuditIntegrityError(f"cannot resume: {result.summary()}")
    if result.keyed and key is None:
        raise AuditKeyError(f"{path} is keyed; configure its key file to resume")
    if result.session_id not in (None, session_id):
        raise AuditIntegrityError(f"{path} belongs to session {result.session_id}")
    torn = None
    if result.outcome is Outcome.TORN_TAIL:
        torn = quarantine_tail(path, fd, result.good_bytes)
    return ResumePoint(result.head, result.good_bytes, torn)


def quarantine_tail(path: Path, fd: int, good_bytes: int) -> dict[str, Any]:
    """Copy a torn tail to a sibling file (durably), then cut it from the log."""
    size = os.fstat(fd).st_size
    torn = os.pread(fd, size - good_bytes, good_bytes)
    aside = quarantine_path(path)
    qfd = create_private_file(aside, os.O_WRONLY)
    try:
        view = memoryview(torn)
        while view:
            view = view[os.write(qfd, view) :]
        os.fsync(qfd)
    finally:
        os.close(qfd)
    fsync_dir(path.parent)
    os.ftruncate(fd, good_bytes)
    os.fsync(fd)
    return {
        "quarantine_file": aside.name,
        "torn_bytes": len(torn),
        "torn_sha256": hashlib.sha256(torn).hexdigest(),
    }
