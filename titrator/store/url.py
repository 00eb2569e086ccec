"""Store URLs: `sqlite:///path`, a plain path (SQLite) or `postgresql://...`.

A URL given by a person is checked here and turned into the SQLAlchemy URL the engine needs
(`postgresql+psycopg://` for PostgreSQL, psycopg 3). `StoreUrl.shown` is the URL with any
password masked: it is what every message prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

_SCHEMES = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}


class StoreUrlError(ValueError):
    """A store URL that cannot be used; the message never contains a password."""


@dataclass(frozen=True)
class StoreUrl:
    """A checked store URL.

    Attributes:
        url: the SQLAlchemy URL (driver included).
        shown: the URL for messages, password masked.
    """

    url: URL

    @property
    def shown(self) -> str:
        """The URL with any password masked (`***`)."""
        return self.url.render_as_string(hide_password=True)

    @property
    def is_sqlite(self) -> bool:
        """True for a SQLite store."""
        return self.url.get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file, or None for PostgreSQL."""
        return Path(self.url.database) if self.is_sqlite and self.url.database else None


def _masked(text: str) -> str:
    """`text` with the password of a `scheme://user:password@host` form replaced by `***`."""
    scheme, sep, rest = text.partition("://")
    if not sep or "@" not in rest:
        return text
    userinfo, at, host = rest.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    return f"{scheme}{sep}{user}{':***' if colon else ''}{at}{host}"


def parse_store_url(text: str) -> StoreUrl:
    """Check a store URL as typed.

    Args:
        text: `sqlite:///path`, a plain file path, or `postgresql://user@host/db`.

    Returns:
        The checked URL.

    Raises:
        StoreUrlError: empty, an unknown scheme, a SQLite URL without a file, or a
            PostgreSQL URL without a database; the message shows the text password-masked.
    """
    shown = _masked(text)
    if not text.strip():
        raise StoreUrlError("the store URL is empty")
    if "://" not in text:
        return StoreUrl(URL.create("sqlite+pysqlite", database=str(Path(text).expanduser())))
    try:
        url = make_url(text)
    except ArgumentError:
        raise StoreUrlError(f"not a database URL (got {shown!r})") from None
    backend = url.get_backend_name()
    if backend not in _SCHEMES:
        raise StoreUrlError(
            f"unsupported scheme {backend!r}: use sqlite:///PATH, a file path or "
            f"postgresql://... (got {shown!r})"
        )
    url = url.set(drivername=_SCHEMES[backend])
    if not url.database or url.database == ":memory:":
        what = "file" if backend == "sqlite" else "database"
        raise StoreUrlError(f"the URL names no {what} (got {shown!r})")
    return StoreUrl(url)
