"""Shipping closed sessions to the ward store in the background, never in the bedside's path.

`BackgroundShipper` keeps the outbox (`titrator.shell.outbox`) moving: the app calls `add` when
a session closes and `start` at start-up; a daemon thread then sends every due entry through the
injected `Sender` (the store's, wired by the CLI: this layer knows no database). A failed attempt
is retried after an exponential, capped delay (`Backoff`); a refusal (FORK, DAMAGED) is kept in
the outbox and not retried. Nothing here ever waits on the UI or the pump worker, and they never
wait on it: `stop` only asks the thread to end. Every outcome is told to `on_news`, from the
shipping thread (the app posts it to itself as a message).

`run_once` is the whole of one round and takes the time from the injected `monotonic`, so tests
drive the retries without sleeping.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from titrator.shell.outbox import Outbox, OutboxEntry, OutboxError


class Verdict(enum.StrEnum):
    """How one attempt to ship a log ended."""

    SENT = "sent"
    """The store holds the head (shipped now, or already up to date)."""
    RETRY = "retry"
    """Not now (store unreachable, key unreadable...): tried again later."""
    REFUSED = "refused"
    """The store refuses the log (FORK, DAMAGED): kept in the outbox, not retried."""


@dataclass(frozen=True)
class Attempt:
    """One attempt's outcome: the verdict and its words (`shipped 42 records`, the error)."""

    verdict: Verdict
    detail: str


Sender = Callable[[Path], Attempt]
"""Ships one log to the store (the whole log: every record the store does not hold yet)."""


@dataclass(frozen=True)
class Backoff:
    """Delay before retrying after `failures` failed attempts: first_s x factor^(n-1), capped.

    30 s, 1 min, 2 min, ... 30 min at most: a workstation whose store is down for a day tries
    about 50 times, and a store coming back is used within 30 minutes.
    """

    first_s: float = 30.0
    factor: float = 2.0
    cap_s: float = 1800.0

    def delay_s(self, failures: int) -> float:
        """Seconds to wait after the `failures`-th failure in a row (1 or more)."""
        if failures < 1:
            return 0.0
        return min(self.cap_s, self.first_s * self.factor ** min(failures - 1, 64))


@dataclass(frozen=True)
class News:
    """What shipping one session did, for the summary screen.

    Attributes:
        session_id: the session (empty for a failure of the outbox itself).
        attempt: the outcome.
        waiting: sessions still in the outbox (refused ones included).
        retry_in_s: seconds to the next attempt of this session (RETRY only).
    """

    session_id: str
    attempt: Attempt
    waiting: int
    retry_in_s: float | None = None

    def notice(self) -> str:
        """One quiet line in words (never only a colour)."""
        detail = self.attempt.detail
        if self.attempt.verdict is Verdict.SENT:
            return f"Ward store: this session is stored ({detail})."
        if self.attempt.verdict is Verdict.REFUSED:
            return (
                f"Ward store: refused this session ({detail}). It stays on this workstation; "
                "tell the ward administrator."
            )
        when = f" in {_duration(self.retry_in_s)}" if self.retry_in_s is not None else ""
        return (
            f"Ward store: not reachable now ({detail}). The session is kept in the outbox "
            f"and sent later{when}; nothing to do at the bedside."
        )


def _duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole} s" if whole < 120 else f"{round(whole / 60)} min"


class BackgroundShipper:
    """Sends the outbox's sessions to the ward store from a background thread.

    Args:
        outbox: the data directory's outbox.
        send: ships one log (`Sender`).
        monotonic: seconds on a monotonic clock (tests move it).
        backoff: the retry delays.
        on_news: told every outcome, from the shipping thread.
    """

    def __init__(
        self,
        outbox: Outbox,
        send: Sender,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        backoff: Backoff | None = None,
        on_news: Callable[[News], None] | None = None,
    ) -> None:
        self.outbox = outbox
        self.send = send
        self.monotonic = monotonic
        self.backoff = backoff or Backoff()
        self.on_news = on_news
        self._due: dict[tuple[str, str], float] = {}
        """Next attempt (monotonic s) per (session, head hash) that failed in this process."""
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, session_id: str, log: Path, head_seq: int, head_hash: str) -> None:
        """Queue a closed session's head and wake the thread (a small atomic file write).

        Raises:
            OutboxError: the outbox cannot be written (the log itself is unaffected).
        """
        self.outbox.add(session_id, log, head_seq, head_hash)
        self._wake.set()

    def _tell(self, news: News) -> None:
        if self.on_news is not None:
            self.on_news(news)

    def _attempt(self, entry: OutboxEntry) -> Attempt:
        key = (entry.session_id, entry.head_hash)
        try:
            attempt = self.send(entry.path)
        except Exception as error:  # surfaced as news: the thread must outlive a sender's bug
            attempt = Attempt(Verdict.RETRY, f"unexpected error: {type(error).__name__}")
        if attempt.verdict is Verdict.SENT:
            self.outbox.remove(entry.session_id, entry.head_hash)
            self._due.pop(key, None)
        else:
            refused = attempt.verdict is Verdict.REFUSED
            self.outbox.failed(entry.session_id, entry.head_hash, attempt.detail, refused=refused)
            if not refused:
                delay = self.backoff.delay_s(entry.attempts + 1)
                self._due[key] = self.monotonic() + delay
        return attempt

    def run_once(self) -> list[News]:
        """One round: try every entry that is due (not refused, its delay over); the news.

        An outbox that cannot be read or written is one RETRY news with an empty session id.
        """
        told: list[News] = []
        try:
            entries = self.outbox.entries()
            for entry in entries:
                if self._stopping.is_set():
                    break
                key = (entry.session_id, entry.head_hash)
                if entry.refused or self._due.get(key, 0.0) > self.monotonic():
                    continue
                attempt = self._attempt(entry)
                due = self._due.get(key)
                waiting = len(self.outbox.entries())
                retry = None if due is None else max(0.0, due - self.monotonic())
                told.append(News(entry.session_id, attempt, waiting, retry))
                self._tell(told[-1])
        except OutboxError as error:
            told.append(News("", Attempt(Verdict.RETRY, error.reason), 0))
            self._tell(told[-1])
        return told

    def next_wait_s(self) -> float | None:
        """Seconds until the next entry falls due in this process (None: nothing scheduled)."""
        if not self._due:
            return None
        return max(0.0, min(self._due.values()) - self.monotonic())

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            self.run_once()
            self._wake.wait(self.next_wait_s())

    def start(self) -> None:
        """Start the thread: it ships what the outbox holds at once (start-up), then waits."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="ward-shipping", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end after the log in hand; never waits for it.

        A process that exits (or is killed) mid-ship leaves nothing partial in the store: each
        log goes in one transaction, and its entry stays in the outbox until the store holds it.
        """
        self._stopping.set()
        self._wake.set()

    def join(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for the thread to end (tests); True when it has."""
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()
