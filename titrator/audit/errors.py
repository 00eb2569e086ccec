"""Typed failures of the audit layer.

Every failure the shell must react to has its own type, so the engine can tell "the log cannot be
written right now" (enter the no-escalation state) from "this log was tampered with" (refuse to
resume) from "the site's key file is unsafe" (refuse to start).
"""

from __future__ import annotations

from pathlib import Path


class AuditError(Exception):
    """Base class of every error raised by `titrator.audit`."""


class AuditFormatError(AuditError, ValueError):
    """A value cannot be recorded or read back canonically (NaN, infinity, non-JSON types)."""


class AuditKeyError(AuditError):
    """The HMAC key file is missing, too short, unsafe, or does not match the log."""


class AuditSpaceError(AuditError):
    """Free space in the data directory is below the configured minimum."""


class AuditStateError(AuditError):
    """The operation does not fit the writer's or the log's state (closed, in use, exists)."""


class AuditOpenError(AuditError):
    """A log or its directory could not be created or opened (permissions, I/O error)."""


class AuditIntegrityError(AuditError):
    """An existing log failed verification, so it must not be appended to."""


class AuditReadError(AuditError):
    """A log line could not be read back into a record or an event.

    Attributes:
        line: 1-based line number of the offending line.
    """

    def __init__(self, message: str, *, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


class AuditWriteError(AuditError):
    """A record could not be made durable; it is kept pending and retried in order.

    The action the record describes must not proceed. The writer reports `healthy == False`
    until a later `append` or `retry` succeeds in writing every pending record.

    Attributes:
        pending: number of records waiting to be written, this one included.
        errno: the operating-system error number, when there was one.
        spooled: how many of them are durable in the fallback spool (all of them when the
            spool works; see `titrator.audit.spool`).
        spool_path: the spool file, when the writer has one.
    """

    def __init__(
        self,
        message: str,
        *,
        pending: int,
        errno: int | None,
        spooled: int = 0,
        spool_path: Path | None = None,
    ) -> None:
        super().__init__(message)
        self.pending = pending
        self.errno = errno
        self.spooled = spooled
        self.spool_path = spool_path
