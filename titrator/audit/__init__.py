"""Tamper-evident, durable session logs: writer, verifier, reader.

One JSON Lines file per infusion session. Every record carries a SHA-256 hash chain and, when
the site has a key file, an HMAC-SHA256 chain; each record is fsynced before `append` returns.
See the reviewer's documentation for the record format; `titrator audit verify` is
`titrator.cli.audit`.
"""

import importlib
from typing import TYPE_CHECKING, Any

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
from titrator.audit.record import CLOSE_KIND, WRITER_KINDS, AuditRecord, EventLike, SessionHead

if TYPE_CHECKING:
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
    from titrator.audit.sink import FileOps
    from titrator.audit.verify import Outcome, VerifyResult, verify_log
    from titrator.audit.writer import AuditWriter

_LAZY: dict[str, str] = {
    "AuditEntry": "titrator.audit.reader",
    "AuditWriter": "titrator.audit.writer",
    "DEFAULT_MIN_FREE_BYTES": "titrator.audit.paths",
    "ENV_DATA_DIR": "titrator.audit.paths",
    "FileOps": "titrator.audit.sink",
    "LineProblem": "titrator.audit.reader",
    "Outcome": "titrator.audit.verify",
    "ReviewRead": "titrator.audit.reader",
    "VerifyResult": "titrator.audit.verify",
    "default_data_dir": "titrator.audit.paths",
    "generate_key_file": "titrator.audit.keys",
    "key_id": "titrator.audit.keys",
    "load_key": "titrator.audit.keys",
    "read_audit": "titrator.audit.reader",
    "read_for_review": "titrator.audit.reader",
    "read_records": "titrator.audit.reader",
    "verify_log": "titrator.audit.verify",
}
"""Names loaded on first use: the writer brings structlog (and, through it, rich and pygments),
the reader pydantic's event adapters. `import titrator.audit.paths` (the app's first screen
needs only that) then costs none of it (issue 17: about 100 ms and 8.5 MiB at start-up)."""


def __getattr__(name: str) -> Any:
    """Load a lazily exported name from its module (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'titrator.audit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
