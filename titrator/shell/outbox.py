"""The outbox: closed sessions' heads waiting to go to the ward store, in one small file.

The file is ``<data dir>/ward-outbox.json``: a JSON list, one entry per session (its log, the head
seq and hash it had when queued, the failed attempts so far, the last error, and why the store
refused it, if it did). It is replaced atomically through a temporary file (never half written),
with the mode of a session log in that directory (0600; 0660 in a shared ward directory, see
`titrator.audit.paths.file_mode_for`). Every read-modify-write holds an exclusive lock on
``.ward-outbox.lock`` for a few milliseconds, never while shipping, so two apps on one workstation
(two logins) never lose each other's entries.

An entry leaves the outbox only once the store holds its head (`remove` with that head's hash);
a head queued again meanwhile (a resumed session closed later) stays.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from titrator.audit.paths import file_mode_for
from titrator.files.private import write_private

OUTBOX_NAME = "ward-outbox.json"
"""File name of the outbox in the data directory."""

LOCK_NAME = ".ward-outbox.lock"
"""The lock taken around every change of the outbox."""


class OutboxError(Exception):
    """The outbox cannot be read or written; `reason` says why in plain words (no patient data)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class OutboxEntry:
    """One session waiting to be shipped.

    Attributes:
        session_id: the session.
        log: its log file.
        head_seq: the head's seq when it was queued.
        head_hash: the head's hash when it was queued.
        attempts: failed attempts so far.
        last_error: why the last attempt failed (empty before any).
        refused: why the store refused the log (FORK, DAMAGED): not retried until queued again.
    """

    session_id: str
    log: str
    head_seq: int
    head_hash: str
    attempts: int = 0
    last_error: str = ""
    refused: str = ""

    @property
    def path(self) -> Path:
        """The log file."""
        return Path(self.log)


def _entry(raw: object) -> OutboxEntry | None:
    if not isinstance(raw, dict):
        return None
    try:
        return OutboxEntry(
            session_id=str(raw["session_id"]),
            log=str(raw["log"]),
            head_seq=int(raw["head_seq"]),
            head_hash=str(raw["head_hash"]),
            attempts=int(raw.get("attempts", 0)),
            last_error=str(raw.get("last_error", "")),
            refused=str(raw.get("refused", "")),
        )
    except (KeyError, TypeError, ValueError):
        return None


class Outbox:
    """The outbox file of one data directory.

    Args:
        directory: the data directory (it exists: the app checked it at start-up).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / OUTBOX_NAME

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        lock = self.directory / LOCK_NAME
        mode = file_mode_for(self.directory)
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, mode)
        except OSError as error:
            raise OutboxError(f"cannot lock {lock}: {error.strerror or error}") from None
        try:
            if os.fstat(fd).st_uid == os.geteuid():  # ours: the umask must not take group bits
                os.fchmod(fd, mode)
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _read(self) -> list[OutboxEntry]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as error:
            raise OutboxError(f"cannot read {self.path}: {error.strerror or error}") from None
        try:
            raw = json.loads(text)
        except ValueError:
            raise OutboxError(f"{self.path} is not a JSON list; set it aside") from None
        if not isinstance(raw, list):
            raise OutboxError(f"{self.path} is not a JSON list; set it aside")
        return [entry for entry in map(_entry, raw) if entry is not None]

    def _write(self, entries: list[OutboxEntry]) -> None:
        data = json.dumps([dataclasses.asdict(e) for e in entries], indent=1) + "\n"
        try:
            write_private(self.path, data.encode("utf-8"), mode=file_mode_for(self.directory))
        except OSError as error:
            raise OutboxError(f"cannot write {self.path}: {error.strerror or error}") from None

    def _change(self, change: Callable[[list[OutboxEntry]], list[OutboxEntry]]) -> None:
        with self._locked():
            before = self._read()
            after = change(before)
            if after != before:
                self._write(after)

    def entries(self) -> list[OutboxEntry]:
        """Every entry, oldest first.

        Raises:
            OutboxError: the file cannot be read or is not an outbox.
        """
        with self._locked():
            return self._read()

    def add(self, session_id: str, log: Path, head_seq: int, head_hash: str) -> None:
        """Queue a session's head (replacing an older entry of the same session).

        Raises:
            OutboxError: the outbox cannot be written.
        """
        entry = OutboxEntry(session_id, str(log), head_seq, head_hash)

        def change(entries: list[OutboxEntry]) -> list[OutboxEntry]:
            return [e for e in entries if e.session_id != session_id] + [entry]

        self._change(change)

    def remove(self, session_id: str, head_hash: str) -> None:
        """Drop the session's entry, if it still names the head `head_hash` (now stored)."""
        self._change(
            lambda entries: [
                e for e in entries if (e.session_id, e.head_hash) != (session_id, head_hash)
            ]
        )

    def failed(self, session_id: str, head_hash: str, error: str, *, refused: bool) -> None:
        """Count a failed attempt (or a refusal) on the entry that names `head_hash`."""

        def change(entries: list[OutboxEntry]) -> list[OutboxEntry]:
            return [
                dataclasses.replace(
                    e,
                    attempts=e.attempts + 1,
                    last_error=error,
                    refused=error if refused else "",
                )
                if (e.session_id, e.head_hash) == (session_id, head_hash)
                else e
                for e in entries
            ]

        self._change(change)
