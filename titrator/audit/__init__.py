"""Tamper-evident, durable session logs: writer, verifier, reader.

One JSON Lines file per infusion session. Every record carries a SHA-256 hash chain and, when
the site has a key file, an HMAC-SHA256 chain; each record is fsynced before `append` returns.
See the reviewer's documentation for the record format; `titrator audit verify` is
`titrator.cli.audit`.
"""

from titrator.audit.canonical import GENESIS, canonical_json
from titrator.audit.errors import (
    AuditError,
    AuditFormatError,
    AuditIntegrityError,
    AuditKeyError,
    AuditOpenError,
    AuditReadError,
    AuditSpaceError,
    AuditStateError,
    AuditWriteError,
)
from titrator.audit.keys import generate_key_file, key_id, load_key
from titrator.audit.paths import DEFAULT_MIN_FREE_BYTES, ENV_DATA_DIR, default_data_dir
from titrator.audit.reader import (
    AuditEntry,
    LineProblem,
    ReviewRead,
    read_audit,
    read_for_review,
    read_records,
)
from titrator.audit.record import (
    CLOSE_KIND,
    WRITER_KINDS,
    AuditRecord,
    EventLike,
    SessionHead,
)
from titrator.audit.sink import FileOps
from titrator.audit.verify import Outcome, VerifyResult, verify_log
from titrator.audit.writer import AuditWriter

__all__ = [
    "CLOSE_KIND",
    "DEFAULT_MIN_FREE_BYTES",
    "ENV_DATA_DIR",
    "GENESIS",
    "WRITER_KINDS",
    "AuditEntry",
    "AuditError",
    "AuditFormatError",
    "AuditIntegrityError",
    "AuditKeyError",
    "AuditOpenError",
    "AuditReadError",
    "AuditRecord",
    "AuditSpaceError",
    "AuditStateError",
    "AuditWriteError",
    "AuditWriter",
    "EventLike",
    "FileOps",
    "LineProblem",
    "Outcome",
    "ReviewRead",
    "SessionHead",
    "VerifyResult",
    "canonical_json",
    "default_data_dir",
    "generate_key_file",
    "key_id",
    "load_key",
    "read_audit",
    "read_for_review",
    "read_records",
    "verify_log",
]
