"""Shipping when things go wrong: the store drops, the shipper is killed, two ship at once."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.store.logs import NOW, connect, count, race, record_session, site
from tests.support.forkkill import fork_and_kill
from tests.support.postgres import PgServer
from titrator.cli import ship as ship_cli
from titrator.cli.main import main
from titrator.store import schema
from titrator.store.db import StoreError, open_store
from titrator.store.ship import ShipStatus, ship_log
from titrator.store.url import parse_store_url


def test_the_store_dropping_mid_ship_is_one_line_and_leaves_nothing(
    tmp_path: Path,
    pg_server: PgServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = pg_server.new_database()
    here = site(tmp_path)
    log = record_session(here, "s-drop")

    def drop_the_store(stage: str) -> None:
        if stage == "stored":  # rows written, not yet committed: the server kills us
            with pg_server.admin(url) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )

    monkeypatch.setattr(ship_cli, "ship_log", functools.partial(ship_log, on_stage=drop_the_store))
    code = main(["ship", str(log), "--db", url, "--key-file", str(here.key_file)])
    out, err = capsys.readouterr()

    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    assert err.startswith("titrator ship: error: ward store postgresql+psycopg://postgres@/")
    store = connect(url)
    assert count(store, schema.records) == count(store, schema.sessions) == 0
    monkeypatch.undo()
    assert main(["ship", str(log), "--db", url, "--key-file", str(here.key_file)]) == 0
    assert count(store, schema.records) == len(log.read_bytes().splitlines())


def test_an_unreachable_sqlite_store_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    here = site(tmp_path)
    log = record_session(here, "s-nowhere")
    missing = tmp_path / "no-such-folder" / "ward.sqlite"

    code = main(["ship", str(log), "--db", str(missing), "--key-file", str(here.key_file)])
    out, err = capsys.readouterr()

    assert (code, out) == (1, "")
    assert err == (
        f"titrator ship: error: cannot open sqlite+pysqlite:///{missing}: "
        f"the folder {missing.parent} does not exist\n"
    )


def test_a_shipper_killed_mid_transaction_leaves_no_partial_session(
    tmp_path: Path, store_url: str
) -> None:
    here = site(tmp_path)
    log = record_session(here, "s-killed", script="fever")
    connect(store_url).close()  # migrate before forking: the child only ships

    def child(report: int) -> None:
        store = connect(store_url)

        def hang_after_writing(stage: str) -> None:
            if stage == "stored":
                os.write(report, b"S")
                while True:  # killed here, inside the open transaction
                    pass

        ship_log(store, log, key=here.key, ward=None, now=NOW, on_stage=hang_after_writing)

    killed = fork_and_kill(child, lambda fd: os.read(fd, 1), jitter_loops=0)

    assert killed.killed
    assert killed.before == b"S"
    store = connect(store_url)
    for table in (schema.records, *schema.FACT_TABLES):
        assert count(store, table) == 0, table.name
    result = ship_log(store, log, key=here.key, ward=None, now=NOW)
    assert (result.status, result.records) == (
        ShipStatus.SHIPPED,
        len(log.read_bytes().splitlines()),
    )


def test_two_shippers_of_one_session_one_stores_the_other_is_up_to_date(
    tmp_path: Path, store_url: str
) -> None:
    here = site(tmp_path)
    log = record_session(here, "s-race")
    connect(store_url).close()
    results: dict[str, ShipStatus] = {}

    def shipper(name: str, stage: Callable[[str], None]) -> None:
        store = connect(store_url)
        results[name] = ship_log(
            store, log, key=here.key, ward=None, now=NOW, on_stage=stage
        ).status
        store.close()

    race(shipper)
    assert results == {"a": ShipStatus.SHIPPED, "b": ShipStatus.UP_TO_DATE}
    store = connect(store_url)
    assert count(store, schema.records) == len(log.read_bytes().splitlines())
    assert count(store, schema.sessions) == 1


def test_store_errors_name_no_password(pg_server: PgServer) -> None:
    url = parse_store_url("postgresql://ship:pa55word@/nodb?host=" + str(pg_server.socket_dir))
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert "pa55word" not in str(caught.value)
    assert "***" in str(caught.value)
