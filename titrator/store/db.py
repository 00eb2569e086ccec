"""Opening a ward store: the engine, the migrations, the shipping role, one-line errors.

`open_store` creates the engine for a checked URL and brings the schema to the newest
migration (from an empty database, on SQLite and PostgreSQL alike). SQLite writers take the
database lock when their transaction begins (`BEGIN IMMEDIATE`), so two shippers never
interleave; PostgreSQL shippers take a per-session advisory lock (`titrator.store.ship`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from titrator.store.url import StoreUrl

MIGRATIONS = Path(__file__).with_name("migrations")
"""The Alembic script directory (inside the package: no alembic.ini at run time)."""

SHIP_ROLE = "titrator_ship"
"""PostgreSQL role for shipping workstations: SELECT and INSERT on the evidence, no more."""

READ_ONLY = "titrator_read_only"
"""Execution option of a connection that only reads: on SQLite it does not take the write lock
(a shipper holding it does not block readers)."""

SQLITE_BUSY_TIMEOUT_S = 30.0
"""How long a SQLite shipper waits for another shipper's transaction to end."""


class StoreError(Exception):
    """The store cannot be reached or used; the message is one line and holds no password."""


@dataclass(frozen=True)
class Store:
    """An open ward store.

    Attributes:
        engine: the SQLAlchemy engine.
        url: the checked URL (use `url.shown` in messages).
    """

    engine: Engine
    url: StoreUrl

    @property
    def is_postgres(self) -> bool:
        """True for PostgreSQL."""
        return self.engine.dialect.name == "postgresql"

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def describe(error: BaseException, url: StoreUrl) -> str:
    """One line for a database error: its first line, any password masked."""
    cause = getattr(error, "orig", None) or error
    text = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    password = url.url.password
    if password:
        text = text.replace(str(password), "***")
    return text


def _sqlite_engine(url: StoreUrl) -> Engine:
    # A pooled connection stays open between transactions: closing the last connection to a
    # WAL database checkpoints it (about 9 ms a log in `bench/ward.py`); `Store.close` ends it.
    # But an open connection keeps reading and writing a file that was removed or replaced
    # under it (records shipped into an unlinked file are lost), so each checkout first
    # checks that the path is still the file the connection opened, and reconnects if not.
    engine = sa.create_engine(url.url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    path = url.url.database

    def _file_id() -> tuple[int, int] | None:
        if not path or path == ":memory:":
            return (0, 0)
        try:
            info = os.stat(path)
        except OSError:
            return None
        return (info.st_dev, info.st_ino)

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi: Any, record: Any) -> None:
        dbapi.isolation_level = None  # SQLAlchemy's `begin` below decides when a transaction starts
        dbapi.execute("PRAGMA journal_mode=WAL")
        record.info["file_id"] = _file_id()

    @sa.event.listens_for(engine, "checkout")
    def _checkout(_dbapi: Any, record: Any, _proxy: Any) -> None:
        if record.info.get("file_id") != _file_id():
            raise sa.exc.DisconnectionError("the store file was removed or replaced")

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        reading = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

    return engine


def _alembic(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(store: Store) -> None:
    """Bring the schema to the newest migration (nothing to do when it is there already)."""
    with store.engine.connect().execution_options(**{READ_ONLY: True}) as connection:
        head = ScriptDirectory.from_config(_alembic(connection)).get_current_head()
        current = MigrationContext.configure(connection).get_current_revision()
        connection.rollback()
    if current == head:
        return
    with store.engine.connect() as connection:
        command.upgrade(_alembic(connection), "head")
        connection.commit()


def open_store(url: StoreUrl, *, migrate_schema: bool = True) -> Store:
    """Open a store and bring its schema up to date.

    Args:
        url: the checked URL.
        migrate_schema: run the migrations (False only for a role that may not run them).

    Returns:
        The open store.

    Raises:
        StoreError: the database cannot be reached, created or migrated.
    """
    try:
        if url.is_sqlite:
            path = url.sqlite_path
            if path is not None and not path.parent.is_dir():
                raise StoreError(
                    f"cannot open {url.shown}: the folder {path.parent} does not exist"
                )
            engine = _sqlite_engine(url)
        else:
            engine = sa.create_engine(url.url, pool_pre_ping=True)
        store = Store(engine, url)
        if migrate_schema:
            migrate(store)
        else:
            with engine.connect():
                pass
        return store
    except sa.exc.SQLAlchemyError as error:
        raise StoreError(f"cannot open {url.shown}: {describe(error, url)}") from None


def grant_ship_role(store: Store) -> None:
    """On PostgreSQL, create the `titrator_ship` role (no login) and its grants.

    The evidence table gets SELECT and INSERT only; the facts tables, which every ship
    rebuilds, also UPDATE and DELETE. Give a workstation's login this role
    (`GRANT titrator_ship TO ward3`). Nothing to do on SQLite (a file's permissions guard it).

    Raises:
        StoreError: the role cannot be created (the current user lacks CREATEROLE).
    """
    if not store.is_postgres:
        return
    from titrator.store.schema import FACT_TABLES

    facts = ", ".join(table.name for table in FACT_TABLES)
    try:
        with store.engine.begin() as connection:
            connection.exec_driver_sql(
                "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
                f"'{SHIP_ROLE}') THEN CREATE ROLE {SHIP_ROLE} NOLOGIN; END IF; END $$"
            )
            connection.exec_driver_sql(f"REVOKE ALL ON records FROM {SHIP_ROLE}")
            connection.exec_driver_sql(f"GRANT SELECT, INSERT ON records TO {SHIP_ROLE}")
            connection.exec_driver_sql(
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON {facts} TO {SHIP_ROLE}"
            )
            connection.exec_driver_sql(f"GRANT SELECT ON alembic_version TO {SHIP_ROLE}")
    except sa.exc.SQLAlchemyError as error:
        raise StoreError(
            f"cannot create the {SHIP_ROLE} role in {store.url.shown}: {describe(error, store.url)}"
        ) from None
