"""`titrator ward report`: the ward reports over the stored facts, on SQLite and PostgreSQL.

The sessions are recorded headless into two data directories (two workstations, two wards);
one is re-recorded with a pump outcome the headless runner never produces, another policy and
a later date. The done-when of issue 15: shipped into one SQLite file and into PostgreSQL, the
two stores give the same reports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from tests.integration.store.logs import NOW, Site, connect, record_session, site
from tests.support.postgres import PgServer
from tests.support.relog import relog
from titrator.cli.main import main
from titrator.store import schema
from titrator.store.db import Store, _alembic
from titrator.store.reports import REPORTS
from titrator.store.ship import ShipStatus, ship_log
from titrator.store.url import parse_store_url

ANAPHYLAXIS_NEW_LOT = (
    Path(__file__).parents[2] / "data" / "review" / "anaphylaxis.jsonl"
).read_text(encoding="utf-8")
"""The anaphylaxis script with a new lot hung at minute 35, before the stridor at 38."""
ANAPHYLAXIS_NEW_LOT = ANAPHYLAXIS_NEW_LOT.replace(
    '{"t_min": 38, "symptoms"', '{"t_min": 35, "lot": "P200999"}\n{"t_min": 38, "symptoms"', 1
)

OTHER_POLICY = "ab" * 32


@dataclass(frozen=True)
class Ward:
    """Two workstations' data directories, the logs and the wards they ship as."""

    first: Site
    second: Site
    logs: list[tuple[Path, str]]


def _pump_trouble(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Command 2 left uncertain, command 3 read back at 99.0 mL/h; another policy file."""
    if kind == "pump_outcome" and payload.get("command_id") == 2:
        return {**payload, "outcome": "uncertain", "reported_rate_ml_per_h": None}
    if kind == "pump_outcome" and payload.get("command_id") == 3:
        return {**payload, "reported_rate_ml_per_h": "99.0"}
    if kind == "session_opened":
        return {**payload, "policy_sha256": OTHER_POLICY}
    return payload


@pytest.fixture
def ward(tmp_path: Path) -> Ward:
    first = site(tmp_path / "bay-1")
    second_dir = tmp_path / "bay-2" / "logs"
    second_dir.mkdir(parents=True)
    second = Site(second_dir, first.key_file, first.key)  # one site key for the hospital
    logs = [
        (record_session(first, "a-done", station_id="bay-1"), "4 East"),
        (
            record_session(first, "a-anaph", station_id="bay-1", script=ANAPHYLAXIS_NEW_LOT),
            "4 East",
        ),
        (
            record_session(first, "a-train", station_id="bay-1", script="fever", training=True),
            "4 East",
        ),
        (record_session(second, "b-fever", station_id="bay-2", script="fever"), "5 West"),
        (
            record_session(
                second,
                "b-override",
                station_id="bay-2",
                script="override",
                nurse_id="rn-0077",
                patient_ids=("MRN-0002", "1980-02-02"),
            ),
            "5 West",
        ),
    ]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    base = record_session(Site(scratch, first.key_file, first.key), "base", station_id="bay-2")
    trouble = relog(
        base,
        second.data_dir,
        "b-pump",
        key_file=first.key_file,
        shift=timedelta(days=2),
        change=_pump_trouble,
        patient="MRN-0003",
    )
    logs.append((trouble, "5 West"))
    return Ward(first, second, logs)


def _ship(url: str, ward: Ward) -> Store:
    store = connect(url)
    for log, name in ward.logs:
        assert ship_log(store, log, key=ward.first.key, ward=name, now=NOW).status is (
            ShipStatus.SHIPPED
        )
    return store


def _report(
    capsys: pytest.CaptureFixture[str], url: str, name: str, *options: str
) -> list[dict[str, Any]]:
    code = main(["ward", "report", name, "--db", url, "--json", *options])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def _text(capsys: pytest.CaptureFixture[str], url: str, name: str) -> list[str]:
    code = main(["ward", "report", name, "--db", url])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    return out.splitlines()


def test_two_data_directories_give_the_same_reports_on_sqlite_and_postgresql(
    tmp_path: Path, ward: Ward, pg_server: PgServer, capsys: pytest.CaptureFixture[str]
) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'ward.sqlite'}"
    pg_url = pg_server.new_database()
    for url in (sqlite_url, pg_url):
        for where, name in ((ward.first, "4 East"), (ward.second, "5 West")):
            config = tmp_path / f"{where.data_dir.parent.name}-{url.split(':')[0]}.toml"
            config.write_text(
                f'data_dir = "{where.data_dir}"\nkey_file = "{where.key_file}"\n'
                f'ward = "{name}"\nward_db = "{url}"\n',
                encoding="utf-8",
            )
            code = main(["ship", "--config", str(config), "--json"])
            shipped = json.loads(capsys.readouterr().out)
            assert code == 0
            assert {r["status"] for r in shipped} == {"shipped"}
            assert len(shipped) == 3

    for name in REPORTS:
        for options in ((), ("--include-training",), ("--ward", "5 West")):
            on_sqlite = _report(capsys, sqlite_url, name, *options)
            on_postgres = _report(capsys, pg_url, name, *options)
            assert on_sqlite == on_postgres, (name, options)
            if not options:
                assert on_sqlite, name  # every report has something to say here
        assert _text(capsys, sqlite_url, name) == _text(capsys, pg_url, name)


def test_reactions_count_against_the_lot_in_force_when_they_began(
    ward: Ward, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _ship(store_url, ward).close()

    rows = {(r["product_id"], r["lot"]): r for r in _report(capsys, store_url, "reactions-by-lot")}

    assert set(rows) == {("privigen", "P100234"), ("privigen", "P200999")}
    new_lot = rows[("privigen", "P200999")]
    assert (new_lot["sessions"], new_lot["reactions"], new_lot["severe"]) == (1, 1, 1)
    old_lot = rows[("privigen", "P100234")]  # five sessions began on it, a-anaph included
    assert (old_lot["sessions"], old_lot["reactions"], old_lot["mild"]) == (5, 1, 1)
    assert old_lot["severe"] == 0


def test_time_to_stop_measures_rate_zero_and_the_confirmed_pump_stop(
    ward: Ward, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _ship(store_url, ward).close()

    rows = _report(capsys, store_url, "time-to-stop")

    # stridor at minute 38, the nurse accepts the emergency stop at 39; the pump confirms it
    assert rows == [
        {
            "station_id": "bay-1",
            "session_id": "a-anaph",
            "reaction_at": "2026-01-05T08:38:00Z",
            "product_id": "privigen",
            "lot": "P200999",
            "to_rate_zero_s": 60,
            "to_pump_stop_s": 60,
        }
    ]


def test_training_is_left_out_unless_asked_for(
    ward: Ward, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _ship(store_url, ward).close()

    plain = {r["station_id"]: r for r in _report(capsys, store_url, "integrity")}
    training = {
        r["station_id"]: r for r in _report(capsys, store_url, "integrity", "--include-training")
    }

    assert (plain["bay-1"]["sessions"], training["bay-1"]["sessions"]) == (2, 3)
    assert plain["bay-2"] == training["bay-2"]
    assert plain["bay-2"]["verified"] == 3


def test_pump_deviations_list_unconfirmed_commands_and_read_back_differences(
    ward: Ward, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _ship(store_url, ward).close()

    rows = _report(capsys, store_url, "pump-deviations")

    assert [(r["session_id"], r["command_id"], r["outcome"]) for r in rows] == [
        ("b-pump", 2, "uncertain"),
        ("b-pump", 3, "confirmed"),
    ]
    assert rows[0]["deviation"] == "not confirmed (uncertain)"
    assert rows[1]["reported_rate_ml_per_h"] == "99.0"
    assert rows[1]["deviation"].startswith("read back 99.0 mL/h, ordered ")


def test_overrides_refusals_and_vitals_lateness_by_nurse(
    ward: Ward, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _ship(store_url, ward).close()

    overrides = _report(capsys, store_url, "overrides")
    refusals = _report(capsys, store_url, "refusals")
    lateness = _report(capsys, store_url, "vitals-lateness")

    assert [(r["nurse_id"], r["reason"], r["count"]) for r in overrides] == [
        ("rn-0077", "patient_request", 1)
    ]
    assert [(r["nurse_id"], r["reason"], r["count"]) for r in refusals] == [
        ("rn-0042", "prescriber_order", 1)
    ]
    assert "never restarted" in refusals[0]["refusal"]
    assert [(r["ward"], r["nurse_id"]) for r in lateness] == [
        ("4 East", "rn-0042"),
        ("5 West", "rn-0042"),
        ("5 West", "rn-0077"),
    ]
    for row in lateness:
        assert row["due"] == row["taken"] + row["not_taken"] > 0


def test_vitals_due_facts_pair_each_due_with_the_next_set(ward: Ward, store_url: str) -> None:
    store = _ship(store_url, ward)
    v = schema.vitals_due
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.select(v.c.seq, v.c.due_at, v.c.taken_seq, v.c.taken_at, v.c.late_s)
            .where(v.c.session_id == "b-fever")
            .order_by(v.c.seq)
        ).all()
    store.close()
    assert len(rows) == 3  # the fever log has three vitals_due records
    for seq, due_at, taken_seq, taken_at, late_s in rows:
        assert taken_seq > seq
        assert late_s == (taken_at - due_at).total_seconds() >= 0


def test_versions_show_drift_per_station(
    ward: Ward, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _ship(store_url, ward).close()

    rows = _report(capsys, store_url, "versions")

    assert [(r["station_id"], r["policy_sha256"], r["drift"]) for r in rows] == [
        ("bay-1", None, False),
        ("bay-2", None, False),
        ("bay-2", OTHER_POLICY, True),
    ]
    text = _text(capsys, store_url, "versions")
    drifting = [line for line in text if line.startswith("bay-2") and line.endswith("yes")]
    assert len(drifting) == 1
    assert OTHER_POLICY[:12] in drifting[0]


def test_since_and_ward_select_sessions(
    ward: Ward, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _ship(store_url, ward).close()

    later = _report(capsys, store_url, "integrity", "--since", "2026-01-06")
    east = _report(capsys, store_url, "vitals-lateness", "--ward", "4 East")

    assert [(r["station_id"], r["sessions"]) for r in later] == [("bay-2", 1)]
    assert {r["ward"] for r in east} == {"4 East"}


def test_text_fits_80_columns_and_never_names_a_patient(
    ward: Ward, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _ship(store_url, ward)
    with store.engine.connect() as connection:
        pseudonyms = [
            p for (p,) in connection.execute(sa.select(schema.sessions.c.patient_pseudonym))
        ]
    store.close()
    assert all(pseudonyms)

    for name in REPORTS:
        text = _text(capsys, store_url, name)
        rows = json.dumps(_report(capsys, store_url, name, "--include-training"))
        assert max(len(line) for line in text) <= 80, name
        for shown in ("\n".join(text), rows):
            assert "MRN-" not in shown
            assert "1970-01-01" not in shown
            assert not any(p in shown for p in pseudonyms)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["report", "integrity", "--since", "05/01/2026"],
            "titrator ward report: error: --since: must be a date YYYY-MM-DD (got '05/01/2026')\n",
        ),
        (
            ["report", "lots"],
            "titrator ward report: error: NAME: must be one of "
            + ", ".join(REPORTS)
            + " (got 'lots')\n",
        ),
    ],
)
def test_bad_input_is_one_line(
    tmp_path: Path, argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["ward", *argv, "--db", str(tmp_path / "ward.sqlite")])
    out, err = capsys.readouterr()
    assert (code, out, err) == (2, "", expected)


def test_migration_0002_fills_vitals_due_from_stored_evidence(
    ward: Ward, store_url: str, tmp_path: Path
) -> None:
    """A store at revision 0001 holding evidence gets the same vitals_due facts a ship makes."""
    fresh = _ship(store_url, ward)
    v = schema.vitals_due
    with fresh.engine.connect() as connection:
        expected = connection.execute(sa.select(v).order_by(v.c.session_id, v.c.seq)).all()
        evidence = [dict(row._mapping) for row in connection.execute(sa.select(schema.records))]
    fresh.close()
    assert expected

    if store_url.startswith("sqlite"):
        old_url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    else:
        old_url = _new_database_like(store_url)
    old = connect_at_revision(old_url, "0001")
    with old.engine.begin() as connection:
        connection.execute(schema.records.insert(), evidence)
    old.close()

    upgraded = connect(old_url)
    with upgraded.engine.connect() as connection:
        got = connection.execute(sa.select(v).order_by(v.c.session_id, v.c.seq)).all()
    upgraded.close()
    assert got == expected


def _new_database_like(url: str) -> str:
    """Another empty database on the same PostgreSQL server as `url`."""
    import uuid

    import psycopg

    parsed = parse_store_url(url).url
    name = f"t_{uuid.uuid4().hex[:12]}"
    host = parsed.query["host"]
    with psycopg.connect(
        f"host={host} user={parsed.username} dbname=postgres", autocommit=True
    ) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return url.replace(f"/{parsed.database}?", f"/{name}?", 1)


def connect_at_revision(url: str, revision: str) -> Store:
    """A store brought only up to `revision`."""
    from titrator.store.db import open_store

    store = open_store(parse_store_url(url), migrate_schema=False)
    with store.engine.connect() as connection:
        command.upgrade(_alembic(connection), revision)
        connection.commit()
    return store
