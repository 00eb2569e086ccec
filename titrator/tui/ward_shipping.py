"""The app's side of background shipping: queue a closed session, show a quiet notice.

The shipping itself runs in `titrator.shell.shipping.BackgroundShipper`'s own thread; this
module only starts it at start-up (the outbox left by earlier sessions goes at once), queues
each closed session's head, and turns the thread's news (posted as `ShippingNews` messages, so
nothing waits) into one line of words on the summary screen. It never notifies, never rings and
shows nothing during an infusion: a store that cannot be reached is not the nurse's problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.message import Message

if TYPE_CHECKING:
    # Start-up (issue 17): the shipper and its outbox load only when a ward store is
    # configured (`titrator.cli.app` builds the shipper then), not with every app.
    from titrator.shell.shipping import BackgroundShipper, News

QUEUED = "Ward store: this session will be sent in the background."
"""The summary's line until the shipping thread reports."""


class ShippingNews(Message):
    """The shipping thread's news about one session."""

    def __init__(self, news: News) -> None:
        super().__init__()
        self.news = news


class WardShipping:
    """Background shipping as the app sees it (absent when no ward store is configured).

    Args:
        app: the app (the thread's news is posted to it).
        shipper: the background shipper, or None.
    """

    def __init__(self, app: App[Any], shipper: BackgroundShipper | None) -> None:
        self.app = app
        self.shipper = shipper
        self.lines: dict[str, str] = {}
        """The latest line per session, for a summary screen opened after the news."""

    @property
    def enabled(self) -> bool:
        """A ward store is configured."""
        return self.shipper is not None

    def start(self) -> None:
        """Start the thread; it ships what earlier sessions left in the outbox."""
        if self.shipper is None:
            return
        self.shipper.on_news = self._post
        self.shipper.start()

    def _post(self, news: News) -> None:
        """From the shipping thread: hand the news to the app (thread-safe, never waits)."""
        self.app.post_message(ShippingNews(news))

    def closed(self, session_id: str, log: Path, head: Any) -> str | None:
        """Queue a closed session's head; the summary's first line (None when disabled)."""
        if self.shipper is None:
            return None
        from titrator.shell.outbox import OutboxError  # loaded with the shipper

        try:
            self.shipper.add(session_id, log, int(head.seq), str(head.hash))
        except OutboxError as error:
            line = (
                f"Ward store: not queued ({error.reason}); the log is safe here, "
                "send it later with titrator ship."
            )
        else:
            line = QUEUED
        self.lines[session_id] = line
        return line

    def line_for(self, news: News) -> str:
        """Remember and return the line for `news`."""
        line = news.notice()
        self.lines[news.session_id] = line
        return line

    def stop(self) -> None:
        """Ask the thread to end (never waits)."""
        if self.shipper is not None:
            self.shipper.stop()
