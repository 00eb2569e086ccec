"""The store as outside witness: append-only evidence, `ward verify`, the shipping role."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tests.integration.store.logs import NOW, connect, record_session, site
from tests.support.postgres import PgServer
from titrator.cli.main import main
from titrator.store import schema
from titrator.store.db import Store
from titrator.store.ship import ShipStatus, ship_log


def _ship_two_stations(tmp_path: Path, store: Store) -> None:
    here = site(tmp_path)
    for session, station in (("s-w-1", "bay-1"), ("s-w-2", "bay-2"), ("s-w-3", "bay-2")):
        log = record_session(here, session, station_id=station)
        result = ship_log(store, log, key=here.key, ward="4 East", now=NOW)
        assert result.status is ShipStatus.SHIPPED


def _guards_off(connection: sa.Connection, store: Store) -> None:
    """Switch off the append-only triggers, as only the database owner could."""
    if store.is_postgres:
        connection.exec_driver_sql("ALTER TABLE records DISABLE TRIGGER USER")
    else:
        connection.exec_driver_sql("DROP TRIGGER records_append_only_update")


def _tamper(store: Store, session_id: str, seq: int) -> None:
    """Alter one stored line the way only the database owner could (guards switched off)."""
    r = schema.records
    with store.engine.begin() as connection:
        _guards_off(connection, store)
        line = connection.execute(
            sa.select(r.c.line).where(r.c.session_id == session_id, r.c.seq == seq)
        ).scalar_one()
        forged = bytes(line).replace(b'"rn-0042"', b'"rn-9999"')
        assert forged != bytes(line)
        connection.execute(
            r.update().where(r.c.session_id == session_id, r.c.seq == seq).values(line=forged)
        )


def test_ward_verify_reports_every_station_intact(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = connect(store_url)
    _ship_two_stations(tmp_path, store)

    code = main(["ward", "verify", "--db", store_url])
    out, err = capsys.readouterr()

    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["station bay-1", "station bay-2"]
    assert lines[1].startswith("station bay-2: 2 sessions, ")
    assert all(line.endswith("every chain intact") for line in lines)


def test_ward_verify_finds_a_line_altered_inside_the_store(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = connect(store_url)
    _ship_two_stations(tmp_path, store)
    _tamper(store, "s-w-3", 4)

    code = main(["ward", "verify", "--db", store_url, "--json"])
    reports = json.loads(capsys.readouterr().out)

    assert code == 1
    assert [(r["station_id"], r["ok"]) for r in reports] == [("bay-1", True), ("bay-2", False)]
    assert reports[1]["problems"] == [
        {
            "session_id": "s-w-3",
            "seq": 4,
            "reason": "line bytes do not match the hash (altered)",
        }
    ]
    assert main(["ward", "verify", "--db", store_url]) == 1
    assert "  session s-w-3 at seq 4: line bytes do not match the hash (altered)" in (
        capsys.readouterr().out.splitlines()
    )


def test_ward_verify_finds_a_line_replaced_whole_with_its_columns_made_to_agree(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A forged record 4 with its own hash recomputed, and record 5's prev_hash column moved to
    it: every column agrees, but record 5's own bytes still name the old record 4."""
    store = connect(store_url)
    _ship_two_stations(tmp_path, store)
    r = schema.records
    with store.engine.begin() as connection:
        _guards_off(connection, store)
        where = (r.c.session_id == "s-w-3") & (r.c.seq == 4)
        line = bytes(connection.execute(sa.select(r.c.line).where(where)).scalar_one())
        body = b"{" + line[75:].replace(b'"rn-0042"', b'"rn-9999"')
        forged_hash = hashlib.sha256(body).hexdigest()
        forged = b'{"hash":"%s",' % forged_hash.encode() + body[1:]
        connection.execute(r.update().where(where).values(line=forged, hash=forged_hash))
        connection.execute(
            r.update()
            .where((r.c.session_id == "s-w-3") & (r.c.seq == 5))
            .values(prev_hash=forged_hash)
        )

    assert main(["ward", "verify", "--db", store_url, "--json"]) == 1
    reports = json.loads(capsys.readouterr().out)
    assert reports[1]["problems"] == [
        {"session_id": "s-w-3", "seq": 5, "reason": "stored prev_hash differs from the line"}
    ]


@pytest.mark.parametrize(
    ("column", "value", "found"),
    [
        ("ts", "2020-01-01T00:00:00.000000+00:00", [(2, "stored ts differs from the line")]),
        (
            "mac",
            "ab" * 32,
            [
                (2, "stored mac differs from the line"),
                (3, "the line's seq, session or prev_mac differs from its key"),
            ],
        ),
    ],
)
def test_ward_verify_finds_a_column_changed_beside_its_line(
    tmp_path: Path,
    store_url: str,
    capsys: pytest.CaptureFixture[str],
    column: str,
    value: str,
    found: list[tuple[int, str]],
) -> None:
    store = connect(store_url)
    _ship_two_stations(tmp_path, store)
    r = schema.records
    with store.engine.begin() as connection:
        _guards_off(connection, store)
        connection.execute(
            r.update().where((r.c.session_id == "s-w-1") & (r.c.seq == 2)).values({column: value})
        )

    assert main(["ward", "verify", "--db", store_url, "--json"]) == 1
    reports = json.loads(capsys.readouterr().out)
    assert reports[0]["problems"] == [
        {"session_id": "s-w-1", "seq": seq, "reason": reason} for seq, reason in found
    ]


@pytest.mark.parametrize("statement", ["UPDATE records SET kind = 'x'", "DELETE FROM records"])
def test_the_evidence_refuses_update_and_delete(
    tmp_path: Path, store_url: str, statement: str
) -> None:
    store = connect(store_url)
    _ship_two_stations(tmp_path, store)

    with (
        pytest.raises(sa.exc.DatabaseError, match="append-only"),
        store.engine.begin() as connection,
    ):
        connection.exec_driver_sql(statement)


def test_the_migrated_schema_is_the_schema_module(store_url: str) -> None:
    store = connect(store_url)
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), schema.metadata)
    assert differences == []


def test_the_shipping_role_may_insert_and_read_the_evidence_but_never_change_it(
    tmp_path: Path, pg_server: PgServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = pg_server.new_database()
    assert main(["ward", "init", "--db", url]) == 0
    assert "titrator_ship role" in capsys.readouterr().out
    here = site(tmp_path)
    log = record_session(here, "s-role")
    store = connect(url)

    def as_ship_role(dbapi: Any, _record: Any) -> None:
        dbapi.execute("SET ROLE titrator_ship")
        dbapi.commit()

    sa.event.listen(store.engine, "connect", as_ship_role)
    store.engine.dispose()  # every connection from here on is the shipping role's
    assert ship_log(store, log, key=here.key, ward=None, now=NOW).status is ShipStatus.SHIPPED
    for statement in ("UPDATE records SET kind = 'x'", "DELETE FROM records"):
        with (
            pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
            store.engine.begin() as connection,
        ):
            connection.exec_driver_sql(statement)
    with store.engine.begin() as connection:  # facts are rebuilt by every ship: allowed
        connection.exec_driver_sql("DELETE FROM vitals WHERE session_id = 's-role'")
