"""Logs and store helpers shared by the ward-store tests."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.support.audit import make_key
from tests.unit.review.logbuild import LogSpec, build_log
from titrator.store import schema
from titrator.store.db import Store, open_store
from titrator.store.url import parse_store_url

NOW = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)
"""The shipping time the tests pass in."""


@dataclass(frozen=True)
class Site:
    """A workstation's data directory and the site key."""

    data_dir: Path
    key_file: Path
    key: bytes


def site(base: Path) -> Site:
    """A key (outside the data directory) and an empty data directory."""
    key_file, key = make_key(base / "keys")
    data = base / "logs"
    data.mkdir(parents=True)
    return Site(data, key_file, key)


def record_session(where: Site, session_id: str, **changes: Any) -> Path:
    """Record one scripted session (keyed) and return its log."""
    spec = dataclasses.replace(LogSpec(session_id=session_id), **changes)
    return build_log(where.data_dir, spec, key_file=where.key_file)


def connect(url: str) -> Store:
    """Open (and migrate) the store at `url`."""
    return open_store(parse_store_url(url))


def count(store: Store, table: sa.Table, session_id: str | None = None) -> int:
    """Rows of `table` (for one session, when given)."""
    query = sa.select(sa.func.count()).select_from(table)
    if session_id is not None:
        query = query.where(table.c.session_id == session_id)
    with store.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def stored_lines(store: Store, session_id: str) -> list[bytes]:
    """The stored line bytes of one session, in seq order."""
    r = schema.records
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.select(r.c.line).where(r.c.session_id == session_id).order_by(r.c.seq)
        )
        return [bytes(line) for (line,) in rows]


def race(ship: Callable[[str, Callable[[str], None]], None]) -> None:
    """Run `ship("a", stage)` and `ship("b", stage)` so that they meet at the session lock.

    A stores its rows and holds them uncommitted until B has reached the lock; then both
    finish. `ship` passes `stage` to the shipping code's stage hook. An exception in either is
    raised here.
    """
    a_wrote, b_waits = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def a_stage(stage: str) -> None:
        if stage == "stored":
            a_wrote.set()
            assert b_waits.wait(timeout=60)

    def b_stage(stage: str) -> None:
        if stage == "locking":
            b_waits.set()

    def run(name: str, stage: Callable[[str], None]) -> None:
        try:
            ship(name, stage)
        except BaseException as error:  # raised in the test's thread below
            failures.append(error)

    a = threading.Thread(target=run, args=("a", a_stage))
    a.start()
    assert a_wrote.wait(timeout=60)
    b = threading.Thread(target=run, args=("b", b_stage))
    b.start()
    a.join(timeout=120)
    b.join(timeout=120)
    if failures:
        raise failures[0]
