"""The ward store as the app's background shipper sees it: one log in, one `Attempt` out.

`StoreSender` is the `titrator.shell.shipping.Sender` the CLI gives the app when the
configuration names a store (`ward_db`). It opens the store on first use and again after a
failure, loads the site key, and ships with `ship_log` (one transaction per log). Nothing it
meets raises: an unreachable store, a bad URL or an unreadable key is RETRY with its one line;
FORK and DAMAGED are REFUSED; shipped and up to date are SENT.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from titrator.audit.errors import AuditKeyError
from titrator.audit.keys import load_key
from titrator.shell.outbox import Outbox
from titrator.shell.shipping import Attempt, BackgroundShipper, News, Verdict
from titrator.store.db import Store, StoreError, open_store
from titrator.store.ship import ShipStatus, Stage, ship_log
from titrator.store.url import StoreUrlError, parse_store_url


def _utc_now() -> datetime:
    return datetime.now(UTC)


class StoreSender:
    """Ships logs to the store at `url` (see the module docstring). Used by one thread.

    Args:
        url: the store URL as configured (`ward_db`).
        key_file: the site key file (None: MACs unchecked, no pseudonym stored).
        ward: the workstation's ward.
        now: the shipping time (UTC).
        on_stage: test hook passed to `ship_log`.
    """

    def __init__(
        self,
        url: str,
        *,
        key_file: Path | None,
        ward: str | None,
        now: Callable[[], datetime] = _utc_now,
        on_stage: Stage | None = None,
    ) -> None:
        self.url = url
        self.key_file = key_file
        self.ward = ward
        self.now = now
        self.on_stage = on_stage
        self._store: Store | None = None

    def _open(self) -> Store:
        if self._store is None:
            try:
                url = parse_store_url(self.url)
            except StoreUrlError as error:
                raise StoreError(f"ward_db: {error}") from None
            self._store = open_store(url)
        return self._store

    def close(self) -> None:
        """Close the store's connections (opened again on the next attempt)."""
        if self._store is not None:
            self._store.close()
            self._store = None

    def __call__(self, log: Path) -> Attempt:
        """Ship `log`; what happened."""
        try:
            key = load_key(self.key_file) if self.key_file is not None else None
        except AuditKeyError as error:
            return Attempt(Verdict.RETRY, str(error))
        try:
            store = self._open()
            result = ship_log(
                store, log, key=key, ward=self.ward, now=self.now(), on_stage=self.on_stage
            )
        except StoreError as error:
            self.close()
            return Attempt(Verdict.RETRY, str(error))
        words = result.line().removeprefix(f"{log}: ")
        if result.ok:
            return Attempt(Verdict.SENT, words)
        if result.status in (ShipStatus.FORK, ShipStatus.DAMAGED):
            return Attempt(Verdict.REFUSED, words)
        return Attempt(Verdict.RETRY, words)


def background_shipper(
    data_dir: Path,
    url: str,
    *,
    key_file: Path | None,
    ward: str | None,
    on_news: Callable[[News], None] | None = None,
) -> BackgroundShipper:
    """The app's background shipper: the outbox of `data_dir` sent to the store at `url`."""
    sender = StoreSender(url, key_file=key_file, ward=ward)
    return BackgroundShipper(Outbox(data_dir), sender, on_news=on_news)
