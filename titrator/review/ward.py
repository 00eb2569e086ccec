"""What the review app needs from a ward store, without knowing any database.

`titrator review --db URL` opens the store and hands the app a `WardSource`
(`titrator.store.browse.StoreSource`); the screens (`titrator.review.ui.ward_screen`) only
display what it returns. Nothing here carries a patient identifier: sessions are named by
station and session id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from titrator.review.model import InfusionOutcome

OUTCOMES = tuple(outcome.value for outcome in InfusionOutcome)
"""The outcomes the session list filters on."""


class WardSourceError(Exception):
    """The store cannot be read; the message is one line and holds no password."""


@dataclass(frozen=True)
class WardQuery:
    """Which stored sessions to list (every field optional; text matches exactly).

    Attributes:
        ward: the ward.
        product: the product id.
        lot: a lot given during the session (any of its lots).
        since: opened at or after (UTC).
        outcome: the session's outcome.
        include_training: list training and demo sessions too.
    """

    ward: str | None = None
    product: str | None = None
    lot: str | None = None
    since: datetime | None = None
    outcome: str | None = None
    include_training: bool = False


@dataclass(frozen=True)
class WardSession:
    """One stored session as the list shows it (no patient identifier)."""

    station_id: str
    session_id: str
    ward: str
    opened_at: str
    product: str
    lots: str
    outcome: str
    integrity: str
    reactions: int
    training: bool


@dataclass(frozen=True)
class WardTable:
    """A ward report laid out as a table: title, column headings, rows of text, notes."""

    name: str
    title: str
    headings: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...] = ()


class WardSource(Protocol):
    """A ward store, as the review app reads it."""

    @property
    def shown(self) -> str:
        """The store's URL for the screen (no password)."""
        ...

    def sessions(self, query: WardQuery, limit: int) -> tuple[list[WardSession], int]:
        """Up to `limit` sessions, newest first, and how many match in all.

        Raises:
            WardSourceError: the store cannot be read.
        """
        ...

    def report_names(self) -> Sequence[str]:
        """The reports, in menu order."""
        ...

    def report(self, name: str, query: WardQuery) -> WardTable:
        """Run one report over the sessions of `query` (its ward, since and training).

        Raises:
            WardSourceError: the store cannot be read.
        """
        ...
