"""`titrator ship`: verified logs into the ward store (one body for SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.integration.store.logs import connect, count, record_session, site, stored_lines
from tests.support.audit import StepClock, edit_payload, rechain
from titrator.audit.keys import key_id
from titrator.audit.writer import AuditWriter
from titrator.cli.main import main
from titrator.domain import events as ev
from titrator.domain.clock import Instant
from titrator.review.model import load_review
from titrator.store import schema
from titrator.store.pseudonym import pseudonym
from titrator.store.ship import ship_log


def ship(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main(["ship", *(str(a) for a in argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_ship_stores_exact_bytes_and_the_review_facts(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    here = site(tmp_path)
    log = record_session(here, "s-ship-1", script="fever")
    lines = log.read_bytes().splitlines()

    code, out, err = ship(capsys, log, "--db", store_url, "--key-file", here.key_file)

    assert (code, err) == (0, "")
    assert out == f"{log}: shipped {len(lines)} records\n"
    store = connect(store_url)
    assert stored_lines(store, "s-ship-1") == lines
    review = load_review(log, here.key)
    with store.engine.connect() as connection:
        row = connection.execute(sa.select(schema.sessions)).one()._mapping
    assert row["station_id"] == "bay-3"
    assert row["product_id"] == review.header.product_id
    assert row["lot"] == "P100234"
    assert row["outcome"] == review.outcome.value
    assert row["integrity"] == "verified"
    assert row["head_hash"] == json.loads(lines[-1])["hash"]
    assert row["records"] == len(lines)
    assert row["training"] is False
    assert row["patient_pseudonym"] == pseudonym(here.key, "MRN-0001")
    assert count(store, schema.rate_segments) == len(review.rate_segments)
    assert count(store, schema.reactions) == len(review.reactions) > 0
    assert count(store, schema.vitals) == sum(len(p.values) for p in review.vitals)
    assert count(store, schema.pump_commands) == len(review.pump_commands)
    with store.engine.connect() as connection:
        for table in schema.FACT_TABLES:
            for values in connection.execute(sa.select(table)):
                assert "MRN-0001" not in repr(tuple(values))
                assert "1970-01-01" not in repr(tuple(values))


def test_reshipping_is_idempotent_and_an_extension_ships_only_the_new_records(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    here = site(tmp_path)
    log = record_session(here, "s-ship-2")
    lines = log.read_bytes().splitlines(keepends=True)
    early = tmp_path / "early" / log.name
    early.parent.mkdir()
    early.write_bytes(b"".join(lines[:5]))  # the same log, as it was mid-infusion

    assert ship(capsys, early, "--db", store_url, "--key-file", here.key_file)[:2] == (
        0,
        f"{early}: shipped 5 records\n",
    )
    unfinished = connect(store_url)
    with unfinished.engine.connect() as connection:
        assert connection.execute(sa.select(schema.sessions.c.integrity)).scalar_one() == (
            "unfinished"
        )
    code, out, _ = ship(capsys, log, "--db", store_url, "--key-file", here.key_file)
    assert (code, out) == (0, f"{log}: shipped {len(lines) - 5} records\n")
    code, out, _ = ship(capsys, log, early, "--db", store_url, "--key-file", here.key_file)
    assert code == 1  # the early copy now ends before the stored head
    assert out.splitlines()[0] == f"{log}: up to date"
    assert out.splitlines()[1].startswith(f"{early}: FORK at seq 5: the log ends at seq 4")
    store = connect(store_url)
    assert count(store, schema.records) == len(lines)
    assert count(store, schema.sessions) == 1


def test_json_lists_every_log_with_its_status(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    here = site(tmp_path)
    good = record_session(here, "s-json-1")
    bad = record_session(here, "s-json-2")
    bad_lines = bad.read_bytes().splitlines(keepends=True)
    bad_lines[3] = edit_payload(bad_lines[3], note="edited")
    bad.write_bytes(b"".join(bad_lines))

    code, out, _ = ship(
        capsys, here.data_dir, "--db", store_url, "--key-file", here.key_file, "--json"
    )

    rows = json.loads(out)
    assert code == 1
    assert [(r["file"], r["session_id"], r["status"]) for r in rows] == [
        (str(good), "s-json-1", "shipped"),
        (str(bad), "s-json-2", "damaged"),
    ]
    assert rows[0]["records"] == len(good.read_bytes().splitlines())
    assert rows[1]["records"] == 0
    assert "line 4" in rows[1]["reason"]


def test_a_damaged_log_is_refused_with_the_reason_and_nothing_stored(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    here = site(tmp_path)
    log = record_session(here, "s-damaged")
    lines = log.read_bytes().splitlines(keepends=True)
    lines[6] = edit_payload(lines[6], note="changed afterwards")
    log.write_bytes(b"".join(lines))

    code, out, err = ship(capsys, log, "--db", store_url, "--key-file", here.key_file)

    assert (code, err) == (1, "")
    assert out.startswith(f"{log}: DAMAGED: line 7 (seq 6): ")
    assert "record altered" in out
    store = connect(store_url)
    assert count(store, schema.records) == count(store, schema.sessions) == 0


def test_a_log_rechained_with_the_key_after_shipping_is_a_fork(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    here = site(tmp_path)
    log = record_session(here, "s-forged")
    original = log.read_bytes()
    assert ship(capsys, log, "--db", store_url, "--key-file", here.key_file)[0] == 0
    lines = original.splitlines(keepends=True)
    lines[8] = edit_payload(lines[8], note="rewritten on the workstation")
    log.write_bytes(b"".join(rechain(lines, key=here.key, key_id=key_id(here.key))))
    assert main(["audit", "verify", str(log), "--key-file", str(here.key_file)]) == 0
    capsys.readouterr()

    code, out, _ = ship(capsys, log, "--db", store_url, "--key-file", here.key_file)

    assert code == 1
    assert out.startswith(f"{log}: FORK at seq 8: the record differs from the one stored")
    assert stored_lines(connect(store_url), "s-forged") == original.splitlines()


def test_the_store_defaults_to_the_config_then_the_data_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    here = site(tmp_path)
    record_session(here, "s-default")
    monkeypatch.setenv("TITRATOR_DATA_DIR", str(here.data_dir))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    monkeypatch.delenv("TITRATOR_CONFIG", raising=False)

    assert ship(capsys, "--key-file", here.key_file)[0] == 0
    assert count(connect(str(here.data_dir / "ward.sqlite")), schema.records) > 0

    config = tmp_path / "site.toml"
    elsewhere = tmp_path / "ward-elsewhere.sqlite"
    config.write_text(f'ward = "4 East"\nward_db = "sqlite:///{elsewhere}"\n', encoding="utf-8")
    assert ship(capsys, "--config", config, "--key-file", here.key_file)[0] == 0
    with connect(str(elsewhere)).engine.connect() as connection:
        assert connection.execute(sa.select(schema.sessions.c.ward)).scalar_one() == "4 East"


@pytest.mark.parametrize(
    ("url", "code", "message"),
    [
        ("mysql://nurse:s3cret-pw@db/ward", 2, "--db: unsupported scheme 'mysql'"),
        ("postgresql://nurse:s3cret-pw@/", 2, "--db: the URL names no database"),
        (
            "postgresql://nurse:s3cret-pw@/ward?host=/nonexistent-socket-dir",
            1,
            "cannot open postgresql+psycopg://nurse:***@/ward",
        ),
    ],
)
def test_a_bad_or_unreachable_url_is_one_line_without_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, code: int, message: str
) -> None:
    here = site(tmp_path)
    log = record_session(here, "s-url")

    result, out, err = ship(capsys, log, "--db", url, "--key-file", here.key_file)

    assert (result, out) == (code, "")
    assert err.count("\n") == 1
    assert err.startswith("titrator ship: error: ")
    assert message in err
    assert "s3cret-pw" not in err
    assert "Traceback" not in err


def test_medicines_given_are_facts(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    here = site(tmp_path)
    record_session(here, "s-meds", script="anaphylaxis", until_min=30)
    writer = AuditWriter.resume(
        "s-meds",
        station_id="bay-3",
        nurse_id="rn-0042",
        data_dir=here.data_dir,
        key_file=here.key_file,
        clock=StepClock(datetime(2026, 1, 5, 8, 40, tzinfo=UTC)),
        sync_each_record=False,
    )
    given = datetime(2026, 1, 5, 8, 38, tzinfo=UTC)
    writer.append(
        ev.MedicationGiven(
            at=Instant(wall_utc=given, mono_ms=10_000_000),
            drug="adrenaline",
            dose=Decimal("0.5"),
            unit="mg",
            route="IM",
            given_at=given,
            given_by="RN Okafor",
        )
    )
    writer.release()

    code, _, _ = ship(capsys, writer.path, "--db", store_url, "--key-file", here.key_file)

    assert code == 0
    with connect(store_url).engine.connect() as connection:
        rows = [
            tuple(r)
            for r in connection.execute(
                sa.select(
                    schema.medications.c.drug,
                    schema.medications.c.dose,
                    schema.medications.c.unit,
                    schema.medications.c.route,
                    schema.medications.c.given_by,
                )
            )
        ]
    assert rows == [("adrenaline", "0.5", "mg", "IM", "RN Okafor")]


NOW_SHIP = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def test_a_sqlite_store_replaced_under_an_open_store_gets_the_next_session(
    tmp_path: Path,
) -> None:
    """An open store keeps its SQLite connection between shipments (a WAL checkpoint on every
    close cost about 9 ms a log); it must never keep shipping into a file that was moved away
    or replaced at its path, where the records would be lost to the ward."""
    here = site(tmp_path)
    path = tmp_path / "ward.sqlite"
    store = connect(f"sqlite:///{path}")
    first = record_session(here, "s-first")
    assert ship_log(store, first, key=here.key, ward=None, now=NOW_SHIP).records > 0
    path.rename(tmp_path / "ward-old.sqlite")  # an administrator moves the file away...
    for extra in ("ward.sqlite-wal", "ward.sqlite-shm"):
        (tmp_path / extra).unlink(missing_ok=True)
    replacement = connect(f"sqlite:///{path}")  # ...and a new, empty store takes its place
    replacement.close()

    second = record_session(here, "s-second")
    assert ship_log(store, second, key=here.key, ward=None, now=NOW_SHIP).records > 0
    store.close()

    now_at_path = connect(f"sqlite:///{path}")
    assert count(now_at_path, schema.records, "s-second") > 0
    assert count(now_at_path, schema.records, "s-first") == 0
    now_at_path.close()
