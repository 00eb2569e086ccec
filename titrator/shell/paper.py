"""What the nurse is told while the audit log cannot be written: document on paper.

The words are the notice itself (no colour carries the meaning): where the records are kept
(the fallback spool, durably, or only in memory when the spool failed too), and that the
infusion is documented on paper until the log is written again.
"""

from __future__ import annotations

from titrator.audit.writer import AuditWriter

PAPER = "DOCUMENT ON PAPER until the audit log recovers."
"""The instruction every notice begins with."""


def paper_notice(audit: object) -> str:
    """The notice for the log's current state; '' while every record is in the log.

    Args:
        audit: the controller's audit sink (an `AuditWriter`, or None without a log).
    """
    if not isinstance(audit, AuditWriter):
        return ""
    where = audit.pending_in
    count = audit.pending_count
    if where is None:
        return ""
    if where == "spool":
        return (
            f"!! {PAPER} STOP and pause still work. {count} record(s) kept safe in the "
            f"spool {audit.spool_path}"
        )
    why = f" ({audit.spool_error})" if audit.spool_error else ""
    return (
        f"!! {PAPER} STOP and pause still work. The spool failed too{why}: {count} "
        "record(s) held in memory only. Do not quit: quitting now would lose them."
    )


def held_in_memory(audit: object) -> int:
    """How many records are neither in the log nor in the spool (quitting would lose them)."""
    if not isinstance(audit, AuditWriter) or audit.pending_in != "memory":
        return 0
    return audit.pending_count
