"""The review app: open one log or folders of logs, check integrity, see what happened.

Thin: the logs are read by `titrator.review.model` in a thread worker (or handed in already
read, as the tests do); the screens only display. Read-only: nothing here writes to a log.

The session list keeps each log's `SessionListing` (a row's values and the summary's figures),
not its full review: the list's memory does not grow with the logs' length. Opening a session
reads its log again, in a worker, and shows what the log says now.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType

from titrator.review.listing import SessionListing, load_listings
from titrator.review.model import SessionReview, load_review
from titrator.review.summary import LoadProblem
from titrator.review.ui.list_screen import SessionListScreen
from titrator.review.ward import WardSource


class ReviewApp(App[int]):
    """Session list → session view; folder summary. Exit code 0."""

    CSS_PATH = "review.tcss"
    TITLE = "titrator review"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "quit", "Quit", show=False)]

    def __init__(
        self,
        logs: Sequence[Path] = (),
        *,
        key: bytes | None = None,
        reviews: list[SessionReview] | None = None,
        include_training: bool = False,
        ward: WardSource | None = None,
    ) -> None:
        """Review `logs` (read in a worker), or `reviews` already read (tests, embedding).

        Args:
            logs: the log files.
            key: the site HMAC key, to check MACs.
            reviews: reviews read beforehand; `logs` is then ignored.
            include_training: count demo and training logs in the folder summary (they are
                always listed, marked TRAINING).
            ward: a ward store (`titrator review --db URL`): its sessions and reports are
                shown instead of logs.
        """
        super().__init__()
        self.logs = list(logs)
        self.key = key
        self.preloaded = {review.path: review for review in reviews or ()}
        """Reviews handed in (`reviews`): opened as they are, not read again."""
        self.listed = (
            [SessionListing.of_review(review) for review in reviews]
            if reviews is not None
            else None
        )
        self.list_screen = SessionListScreen(
            include_training=include_training, open_session=self.open_session
        )
        self.ward = ward
        self.include_training = include_training

    def on_mount(self) -> None:
        """Show the list, then fill it."""
        if self.ward is not None:
            from titrator.review.ui.ward_screen import WardSessionsScreen

            self.push_screen(WardSessionsScreen(self.ward, self.include_training))
            return
        self.push_screen(self.list_screen)
        if self.listed is not None:
            self.list_screen.show(self.listed)
        else:
            self.load_logs()

    @work(thread=True, exclusive=True, group="load")
    def load_logs(self) -> None:
        """Read every log off the UI thread, keeping each one's listing, not its review."""
        reviews, problems = load_listings(self.logs, key=self.key)
        self.call_from_thread(self._loaded, reviews, problems)

    def open_session(self, path: Path) -> None:
        """Show one log's session screen: a review handed in, else the log read again."""
        review = self.preloaded.get(path)
        if review is not None:
            self._show_session(review)
        else:
            self.notify(f"Reading {path.name}…", timeout=2, markup=False)
            self._read_session(path)

    @work(thread=True, exclusive=True, group="open")
    def _read_session(self, path: Path) -> None:
        try:
            review = load_review(path, key=self.key)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self.call_from_thread(
                self.notify,
                f"{path.name}: cannot read: {reason}",
                severity="error",
                timeout=30,
                markup=False,
            )
            return
        self.call_from_thread(self._show_session, review)

    def _show_session(self, review: SessionReview) -> None:
        from titrator.review.ui.session_screen import SessionScreen

        self.push_screen(SessionScreen(review))

    def _loaded(self, reviews: list[SessionListing], problems: list[LoadProblem]) -> None:
        note = ""
        if problems:
            note = f"{len(problems)} file(s) could not be read: " + "; ".join(
                f"{p.path.name}: {p.reason}" for p in problems
            )
            self.notify(note, severity="error", timeout=30, markup=False)
        if not reviews and not problems:
            note = "no .jsonl logs found"
        self.list_screen.show(reviews, note)
