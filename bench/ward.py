"""Ward store benchmark: ingest, reports and `ward verify`, each against a bare baseline.

Sessions are recorded headless once (the five review scenarios, an anaphylaxis on a lot hung
during the infusion, and a completed one re-recorded with an uncertain pump command and a
read-back that differs), then re-recorded with the real `AuditWriter` under other sessions,
stations, nurses, lots and days (`tests/support/relog.py`): every log is keyed and intact.
PostgreSQL is a throw-away server started here (`tests/support/postgres.py`) unless `--pg-url`
names one. Each pair runs in the same process, repeated `--repeat` times (min/median/max):

1. ingest, records/s: `ship_log` (verify, compare with the head, store the evidence and rebuild
   the facts) of `--ingest-logs` logs into an empty store, against a bare insert of the same
   evidence rows (prepared beforehand) into a table with the same columns and primary key, one
   transaction per log as shipping does: psycopg COPY on PostgreSQL, `executemany` on SQLite;
2. `ward verify` (`verify_store`) over that store, against a bare `hashlib.sha256` of every
   stored line's bytes in memory;
3. every report (`titrator.store.reports`) over a generated hospital: `--stations` x `--days`
   x `--sessions-per-day` sessions on PostgreSQL (`--full`: 40 x 365 x 2, about 3 million
   records). Their facts are the recorded sessions' facts (`session_facts`, the code `ship`
   uses) copied under new keys, days, lots and nurses with COPY (reports read only facts; the
   evidence of the generated sessions is not stored). Each statement's plan (EXPLAIN) is
   printed with the scans it uses: a sequential scan of a table that grows with the ward
   would show as `Seq Scan`.

Targets (issue 15): ingest >= 0.3x the bare insert, every report < 1 s at full size,
`ward verify` >= 0.5x the bare sha256.

Usage: .venv/bin/python bench/ward.py [--stations N] [--days N] [--sessions-per-day N]
       [--full] [--ingest-logs N] [--repeat N] [--pg-url URL] [--dir DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

import psycopg
import sqlalchemy as sa

from tests.support.audit import make_key
from tests.support.postgres import running_server
from tests.support.relog import relog
from tests.unit.review.logbuild import LogSpec, build_log
from tests.unit.review.logs import SCENARIOS
from titrator.audit.reader import read_for_review
from titrator.review.model import build_review
from titrator.store import schema
from titrator.store.db import Store, open_store
from titrator.store.facts import session_facts
from titrator.store.reports import REPORTS, ReportFilter, run_report
from titrator.store.ship import ShipStatus, ship_log
from titrator.store.url import parse_store_url
from titrator.store.witness import verify_store

NOW = datetime(2027, 1, 1, tzinfo=UTC)
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
FIRST_DAY = datetime(2026, 1, 5, tzinfo=UTC)
"""The recorded sessions' day (`LogSpec.start_utc`)."""

NEW_LOT_SCRIPT = (
    (Path(__file__).resolve().parents[1] / "tests" / "data" / "review" / "anaphylaxis.jsonl")
    .read_text(encoding="utf-8")
    .replace(
        '{"t_min": 38, "symptoms"', '{"t_min": 35, "lot": "P200999"}\n{"t_min": 38, "symptoms"', 1
    )
)

EVIDENCE = (
    "station_id",
    "session_id",
    "seq",
    "kind",
    "ts",
    "prev_hash",
    "hash",
    "mac",
    "line",
    "shipped_at",
)
BARE_DDL = (
    "CREATE TABLE bare_records (station_id varchar(128), session_id varchar(128), seq integer, "
    "kind varchar(128) NOT NULL, ts varchar(40) NOT NULL, prev_hash varchar(64) NOT NULL, "
    "hash varchar(64) NOT NULL, mac varchar(64), line {blob} NOT NULL, "
    "shipped_at {when} NOT NULL, PRIMARY KEY (station_id, session_id, seq))"
)


def spread(values: list[float]) -> str:
    """min / median / max."""
    return (
        f"min {min(values):10.1f}  median {statistics.median(values):10.1f}  "
        f"max {max(values):10.1f}"
    )


# ---------------------------------------------------------------- logs


def _pump_trouble(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Command 2 left uncertain, command 3 read back at 99.0 mL/h."""
    if kind == "pump_outcome" and payload.get("command_id") == 2:
        return {**payload, "outcome": "uncertain", "reported_rate_ml_per_h": None}
    if kind == "pump_outcome" and payload.get("command_id") == 3:
        return {**payload, "reported_rate_ml_per_h": "99.0"}
    return payload


def record_templates(where: Path, key_file: Path) -> list[Path]:
    """The recorded sessions every generated one copies (one with pump deviations)."""
    specs = [LogSpec(session_id=f"t-{name}", script=name) for name in SCENARIOS]
    specs.append(LogSpec(session_id="t-newlot", script=NEW_LOT_SCRIPT))
    logs = [build_log(where, spec, key_file=key_file) for spec in specs]
    logs.append(relog(logs[0], where, "t-pump", key_file=key_file, change=_pump_trouble))
    return logs


def station_name(n: int) -> str:
    return f"ws-{n:02d}"


def ward_name(station: int) -> str:
    return f"ward-{station // 10 + 1}"


def make_logs(
    templates: list[Path], folder: Path, key_file: Path, count: int, stations: int
) -> list[tuple[Path, str]]:
    """`count` logs over `stations` stations, two a day: (log, ward)."""
    logs = []
    for i in range(count):
        station = i % stations
        day = i // (2 * stations)
        log = relog(
            templates[i % len(templates)],
            folder,
            f"in-{i:06d}",
            station_id=station_name(station),
            key_file=key_file,
            shift=timedelta(days=day, hours=4 * (i % 2)),
            patient=f"MRN-{i:06d}",
            nurse_id=f"rn-{station:02d}{i % 3}",
        )
        logs.append((log, ward_name(station)))
    return logs


def evidence_rows(logs: list[tuple[Path, str]]) -> list[list[tuple[Any, ...]]]:
    """The evidence rows `ship` stores, per log, prepared for the bare insert."""
    out = []
    for log, _ward in logs:
        data = log.read_bytes()
        read = read_for_review(log)
        lines = data.splitlines()
        rows = []
        for _line, record in read.records:
            rows.append(
                (
                    record.station_id,
                    record.session_id,
                    record.seq,
                    record.kind,
                    record.ts,
                    record.prev_hash,
                    record.hash,
                    record.mac,
                    lines[record.seq],
                    NOW,
                )
            )
        out.append(rows)
    return out


# ---------------------------------------------------------------- engines


@contextmanager
def postgres(url: str | None) -> Iterator[Callable[[], str]]:
    """A function that makes an empty database and returns its store URL."""
    if url is not None:
        admin = parse_store_url(url).url

        def fresh_remote() -> str:
            name = f"bench_{uuid.uuid4().hex[:10]}"
            engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
            with engine.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            engine.dispose()
            return admin.set(database=name).render_as_string(hide_password=False)

        yield fresh_remote
        return
    with running_server() as server:
        yield server.new_database


def ship_all(store: Store, logs: list[tuple[Path, str]], key: bytes) -> float:
    start = time.perf_counter()
    for log, ward in logs:
        result = ship_log(store, log, key=key, ward=ward, now=NOW)
        assert result.status is ShipStatus.SHIPPED, result.line()
    return time.perf_counter() - start


def bare_sqlite(path: Path, rows: list[list[tuple[Any, ...]]]) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(BARE_DDL.format(blob="blob", when="timestamp"))
    insert = f"INSERT INTO bare_records VALUES ({', '.join('?' * len(EVIDENCE))})"
    prepared = [[(*row[:-1], row[-1].isoformat()) for row in log] for log in rows]
    start = time.perf_counter()
    for log in prepared:
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(insert, log)
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed


def bare_postgres(url: str, rows: list[list[tuple[Any, ...]]]) -> float:
    sa_url = parse_store_url(url).url
    conninfo = f"host={sa_url.query['host']} user={sa_url.username} dbname={sa_url.database}"
    with psycopg.connect(conninfo) as connection:
        connection.execute(BARE_DDL.format(blob="bytea", when="timestamptz"))
        connection.commit()
        start = time.perf_counter()
        for log in rows:
            with connection.cursor() as cursor:
                copy_sql = f"COPY bare_records ({', '.join(EVIDENCE)}) FROM STDIN"
                with cursor.copy(copy_sql) as copy:
                    for row in log:
                        copy.write_row(row)
            connection.commit()
        return time.perf_counter() - start


def bench_ingest(
    logs: list[tuple[Path, str]],
    key: bytes,
    rows: list[list[tuple[Any, ...]]],
    fresh_pg: Callable[[], str],
    base: Path,
    repeat: int,
) -> dict[str, str]:
    """Print ingest figures; return the last store URL per engine (for verify)."""
    records = sum(len(log) for log in rows)
    kept: dict[str, str] = {}
    print(f"\n1. ingest: {len(logs)} logs, {records} records, one transaction per log")
    for engine in ("sqlite", "postgresql"):
        ship_rate, bare_rate = [], []
        for n in range(repeat):
            if engine == "sqlite":
                url = f"sqlite:///{base / f'ship-{n}.sqlite'}"
                t_bare = bare_sqlite(base / f"bare-{n}.sqlite", rows)
            else:
                url = fresh_pg()
                t_bare = bare_postgres(fresh_pg(), rows)
            store = open_store(parse_store_url(url))
            t_ship = ship_all(store, logs, key)
            store.close()
            ship_rate.append(records / t_ship)
            bare_rate.append(records / t_bare)
            kept[engine] = url
        bare = "COPY" if engine == "postgresql" else "executemany"
        ratio = statistics.median(ship_rate) / statistics.median(bare_rate)
        print(f"  {engine:10} ship        rec/s  {spread(ship_rate)}")
        print(f"  {engine:10} bare {bare:11} {spread(bare_rate)}")
        print(f"  {engine:10} ratio ship / bare (medians): {ratio:.2f}x  (target >= 0.3x)")
    return kept


def bench_verify(kept: dict[str, str], rows: list[list[tuple[Any, ...]]], repeat: int) -> None:
    lines = [row[8] for log in rows for row in log]
    size = sum(len(line) for line in lines)
    print(f"\n2. ward verify: {len(lines)} records, {size / 1e6:.1f} MB of line bytes")
    for engine, url in kept.items():
        store = open_store(parse_store_url(url))
        verify_rate, sha_rate = [], []
        for _ in range(repeat):
            start = time.perf_counter()
            reports = verify_store(store)
            verify_rate.append(size / 1e6 / (time.perf_counter() - start))
            assert all(report.ok for report in reports)
            start = time.perf_counter()
            for line in lines:
                hashlib.sha256(line).hexdigest()
            sha_rate.append(size / 1e6 / (time.perf_counter() - start))
        store.close()
        ratio = statistics.median(verify_rate) / statistics.median(sha_rate)
        print(f"  {engine:10} ward verify  MB/s {spread(verify_rate)}")
        print(f"  {engine:10} bare sha256  MB/s {spread(sha_rate)}")
        print(f"  {engine:10} ratio verify / sha256 (medians): {ratio:.2f}x  (target >= 0.5x)")


# ---------------------------------------------------------------- hospital


def template_facts(templates: list[Path], key: bytes) -> list[dict[str, list[dict[str, Any]]]]:
    out = []
    for log in templates:
        read = read_for_review(log, key=key)
        review = build_review(log, read)
        last = read.records[-1][1]
        out.append(
            session_facts(
                review,
                station_id=last.station_id,
                ward=None,
                site_key=key,
                head_seq=last.seq,
                head_hash=last.hash,
                shipped_at=NOW,
            )
        )
    return out


def _moved(row: dict[str, Any], changes: dict[str, Any], shift: timedelta) -> dict[str, Any]:
    out = {}
    for name, value in row.items():
        if name in changes:
            out[name] = changes[name]
        elif isinstance(value, datetime):
            out[name] = value + shift
        elif name in ("nurse_id", "opened_by", "cleared_by") and value:
            out[name] = changes["__nurse"]
        elif name == "lot" and value:
            out[name] = f"{value}-{changes['__month']:02d}"
        else:
            out[name] = value
    return out


def generate_hospital(
    url: str,
    templates: list[dict[str, list[dict[str, Any]]]],
    stations: int,
    days: int,
    per_day: int,
) -> tuple[int, int]:
    """COPY the facts of stations x days x per_day sessions; returns (sessions, records)."""
    tables = {table.name: table for table in schema.FACT_TABLES}
    sa_url = parse_store_url(url).url
    conninfo = f"host={sa_url.query['host']} user={sa_url.username} dbname={sa_url.database}"
    sessions = records = 0
    drift_station, drift_from = stations - 1, max(0, days - 30)
    with psycopg.connect(conninfo) as connection, connection.cursor() as cursor:
        buffers: dict[str, list[tuple[Any, ...]]] = {name: [] for name in tables}
        for day in range(days):
            for station in range(stations):
                for k in range(per_day):
                    n = sessions
                    facts = templates[n % len(templates)]
                    when = YEAR_START + timedelta(days=day, hours=4 * k)
                    shift = when - FIRST_DAY.replace(hour=0)
                    changes: dict[str, Any] = {
                        "station_id": station_name(station),
                        "session_id": f"h-{n:07d}",
                        "__nurse": f"rn-{station:02d}{n % 3}",
                        "__month": when.month,
                    }
                    for name, rows in facts.items():
                        for row in rows:
                            moved = _moved(row, changes, shift)
                            if name == "sessions":
                                moved["ward"] = ward_name(station)
                                moved["training"] = n % 20 == 19
                                moved["patient_pseudonym"] = hashlib.sha256(
                                    f"p{n}".encode()
                                ).hexdigest()
                                if station == drift_station and day >= drift_from:
                                    moved["policy_sha256"] = "ab" * 32
                                records += int(moved["records"])
                            buffers[name].append(tuple(moved[c.name] for c in tables[name].columns))
                    sessions += 1
            if day % 30 == 29 or day == days - 1:
                for name, pending in buffers.items():
                    columns = ", ".join(c.name for c in tables[name].columns)
                    with cursor.copy(f"COPY {name} ({columns}) FROM STDIN") as copy:
                        for values in pending:
                            copy.write_row(values)
                    pending.clear()
                connection.commit()
        connection.autocommit = True
        for name in tables:
            connection.execute(f"ANALYZE {name}")
    return sessions, records


def bench_reports(url: str, repeat: int, days: int) -> None:
    store = open_store(parse_store_url(url))
    statements: list[tuple[str, Any]] = []
    capturing = False

    @sa.event.listens_for(store.engine, "before_cursor_execute")
    def _capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and capturing:
            statements.append((statement, parameters))

    last_month = YEAR_START + timedelta(days=max(0, days - 30))
    worst = 0.0
    for label, filt in (
        ("every ward, the whole period", ReportFilter()),
        (f"every ward, since {last_month:%Y-%m-%d}", ReportFilter(since=last_month)),
        (f"ward-1, since {last_month:%Y-%m-%d}", ReportFilter(since=last_month, ward="ward-1")),
    ):
        print(f"  {label}:")
        for name in REPORTS:
            capturing = True
            statements.clear()
            report = run_report(store, name, filt)
            capturing = False
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                run_report(store, name, filt)
                times.append((time.perf_counter() - start) * 1000)
            worst = max(worst, statistics.median(times))
            print(f"  {name:17} {len(report.rows):6} rows  ms {spread(times)}")
            with store.engine.connect() as connection:
                scans: set[str] = set()
                for statement, parameters in statements:
                    plan = connection.exec_driver_sql("EXPLAIN " + statement, parameters).all()
                    scans |= {
                        " ".join(line.split("(")[0].replace("->", "").split())
                        for (line,) in plan
                        if "Scan" in line
                    }
                print("      plan: " + "; ".join(sorted(scans)))
    store.close()
    print(f"  slowest report (median): {worst:.0f} ms  (target < 1000 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stations", type=int, default=20)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--sessions-per-day", type=int, default=2)
    parser.add_argument("--full", action="store_true", help="40 stations x 365 days x 2")
    parser.add_argument("--ingest-logs", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg-url", help="an existing server (default: start one)")
    parser.add_argument("--dir", type=Path, help="scratch folder (default: a temp dir)")
    args = parser.parse_args()
    if args.full:
        args.stations, args.days, args.sessions_per_day = 40, 365, 2
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp, postgres(args.pg_url) as fresh_pg:
        base = Path(tmp)
        key_file, key = make_key(base / "keys")
        scratch = base / "templates"
        scratch.mkdir()
        start = time.perf_counter()
        templates = record_templates(scratch, key_file)
        folder = base / "logs"
        folder.mkdir()
        logs = make_logs(templates, folder, key_file, args.ingest_logs, min(args.stations, 10))
        rows = evidence_rows(logs)
        print(f"logs recorded and re-recorded in {time.perf_counter() - start:.1f} s")
        kept = bench_ingest(logs, key, rows, fresh_pg, base, args.repeat)
        bench_verify(kept, rows, args.repeat)

        url = fresh_pg()
        open_store(parse_store_url(url)).close()
        start = time.perf_counter()
        sessions, records = generate_hospital(
            url,
            template_facts(templates, key),
            args.stations,
            args.days,
            args.sessions_per_day,
        )
        print(
            f"\n3. reports on PostgreSQL: {args.stations} stations x {args.days} days x "
            f"{args.sessions_per_day} = {sessions} sessions ({records} records' facts), "
            f"generated in {time.perf_counter() - start:.1f} s"
        )
        bench_reports(url, args.repeat, args.days)


if __name__ == "__main__":
    main()
