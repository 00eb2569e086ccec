"""Store URLs as typed: SQLite paths, PostgreSQL through psycopg 3, passwords never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from titrator.store.pseudonym import pseudonym
from titrator.store.url import StoreUrlError, parse_store_url


def test_a_plain_path_and_a_sqlite_url_are_the_same_sqlite_store(tmp_path: Path) -> None:
    plain = parse_store_url(str(tmp_path / "ward.sqlite"))
    url = parse_store_url(f"sqlite:///{tmp_path / 'ward.sqlite'}")
    assert plain.is_sqlite
    assert url.is_sqlite
    assert plain.sqlite_path == url.sqlite_path == tmp_path / "ward.sqlite"


def test_postgresql_goes_through_psycopg_3_and_shows_no_password() -> None:
    url = parse_store_url("postgresql://ship:topsecret@db.example/ward")
    assert url.url.drivername == "postgresql+psycopg"
    assert not url.is_sqlite
    assert url.shown == "postgresql+psycopg://ship:***@db.example/ward"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the store URL is empty"),
        ("oracle://ship:topsecret@db/ward", "unsupported scheme 'oracle'"),
        ("postgresql://ship:topsecret@db", "the URL names no database"),
        ("sqlite://", "the URL names no file"),
        ("sqlite:///:memory:", "the URL names no file"),
    ],
)
def test_unusable_urls_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(StoreUrlError, match=message) as caught:
        parse_store_url(text)
    assert "topsecret" not in str(caught.value)


def test_the_pseudonym_is_keyed_and_stable() -> None:
    key, other = b"k" * 32, b"o" * 32
    assert pseudonym(key, "MRN-0001") == pseudonym(key, "MRN-0001")
    assert pseudonym(key, "MRN-0001") != pseudonym(key, "MRN-0002")
    assert pseudonym(key, "MRN-0001") != pseudonym(other, "MRN-0001")
    assert "MRN" not in pseudonym(key, "MRN-0001")
    assert len(pseudonym(key, "MRN-0001")) == 64
