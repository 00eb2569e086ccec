"""What the reviewer is told about a log's integrity: a word, a symbol and an exact banner.

Built from `titrator.audit.read_for_review`: the chain verification plus the lines that could not
be read at all. Three statuses, never shown by colour alone:

- verified (✓): every record intact and the session closed, checked with the site key (or the
  head hash from the chart);
- chain-only (○): the same, but checked by the hash chain only (no key, no head hash): anyone who
  can write the file could have rewritten it, so it is never called verified;
- unfinished (…): every record intact but no closing record (or a torn last line);
- damaged (✗): the chain breaks at a named line; what follows is shown but not vouched for.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from titrator.audit.reader import LineProblem
from titrator.audit.verify import KEYLESS_NOTE, Outcome, VerifyResult


class IntegrityStatus(StrEnum):
    """The three integrity results a reviewer sees."""

    VERIFIED = "verified"
    CHAIN_ONLY = "chain-only"
    DAMAGED = "damaged"
    UNFINISHED = "unfinished"

    @property
    def symbol(self) -> str:
        """A non-colour cue: ✓ verified, ○ chain-only, ✗ damaged, … unfinished."""
        return {"verified": "✓", "chain-only": "○", "damaged": "✗", "unfinished": "…"}[self.value]

    @property
    def label(self) -> str:
        """Symbol and word, e.g. `✗ damaged`."""
        return f"{self.symbol} {self.value}"


_STATUS = {
    Outcome.OK: IntegrityStatus.VERIFIED,
    Outcome.UNFINISHED: IntegrityStatus.UNFINISHED,
    Outcome.TORN_TAIL: IntegrityStatus.UNFINISHED,
    Outcome.ERROR: IntegrityStatus.DAMAGED,
    Outcome.DAMAGED: IntegrityStatus.DAMAGED,
}


@dataclass(frozen=True)
class Integrity:
    """The integrity of one log, for the banner, the list and every export.

    Attributes:
        status: verified, damaged or unfinished.
        verification: the full verification result (`titrator.audit.verify_log`).
        unreadable: lines that could not be read as records at all.
        lines: number of lines in the file.
    """

    status: IntegrityStatus
    verification: VerifyResult
    unreadable: tuple[LineProblem, ...]
    lines: int

    @classmethod
    def of(
        cls, verification: VerifyResult, unreadable: tuple[LineProblem, ...], lines: int
    ) -> Integrity:
        """Classify a verification result (intact but checked without key or anchor: chain-only)."""
        status = _STATUS[verification.outcome]
        if status is IntegrityStatus.VERIFIED and not verification.protected:
            status = IntegrityStatus.CHAIN_ONLY
        return cls(status, verification, unreadable, lines)

    @property
    def ok(self) -> bool:
        """True when the log is verified (intact and closed)."""
        return self.status is IntegrityStatus.VERIFIED

    @property
    def damaged(self) -> bool:
        """True when the log is damaged (exports need `--allow-damaged`)."""
        return self.status is IntegrityStatus.DAMAGED

    @property
    def head_hash(self) -> str | None:
        """Hash of the last intact record (the anchor to compare with the chart), if any."""
        head = self.verification.head
        return head.hash if head is not None else None

    @property
    def first_bad_line(self) -> int | None:
        """The first line not vouched for by the chain (None when every line is)."""
        if self.status is IntegrityStatus.DAMAGED:
            return self.verification.line if self.verification.line is not None else 1
        return self.verification.line

    def vouched(self, line: int) -> bool:
        """Whether the chain vouches for this line (it lies before the first bad line)."""
        bad = self.first_bad_line
        return bad is None or line < bad

    def _authentication(self) -> str:
        v = self.verification
        if v.mac_checked:
            return "HMAC chain verified with the site key"
        if v.keyed:
            return "keyed log, MACs not checked (no key file given)"
        return "hash chain only (no site key)"

    def banner(self) -> str:
        """One paragraph that says exactly what is wrong (or that nothing is)."""
        v = self.verification
        head = f"head {self.head_hash}" if self.head_hash else "no intact record"
        if self.status is IntegrityStatus.VERIFIED:
            return (
                f"{self.status.symbol} VERIFIED: all {v.records} records intact and the session "
                f"closed; {self._authentication()}; {head}."
            )
        if self.status is IntegrityStatus.CHAIN_ONLY:
            return (
                f"{self.status.symbol} CHAIN ONLY: all {v.records} records intact and the "
                f"session closed, but {KEYLESS_NOTE} ({self._authentication()}); {head}."
            )
        if self.status is IntegrityStatus.UNFINISHED:
            where = f" Line {v.line}: " if v.line is not None else " "
            return (
                f"{self.status.symbol} UNFINISHED:{where}{v.reason}. All {v.records} records "
                f"before it are intact ({self._authentication()}; {head}). The session is still "
                "running, the program stopped, or the end of the log is missing."
            )
        where = f"line {v.line}" if v.line is not None else "the log"
        seq = f" (seq {v.seq})" if v.seq is not None else ""
        text = (
            f"{self.status.symbol} DAMAGED at {where}{seq}: {v.reason}. "
            f"{v.records} record(s) before it are intact ({head})"
        )
        if v.line is not None and self.lines >= v.line:
            count = self.lines - v.line + 1
            text += f"; lines {v.line}–{self.lines} ({count}) are shown but NOT vouched for"
        text += "."
        if self.unreadable:
            shown = ", ".join(f"line {p.line} ({p.reason})" for p in self.unreadable[:3])
            more = f" and {len(self.unreadable) - 3} more" if len(self.unreadable) > 3 else ""
            text += f" Unreadable: {shown}{more}."
        return text
