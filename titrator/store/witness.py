"""`ward verify`: re-check every stored chain inside the store, per station.

For every stored record: the seq follows the previous one from 0, the hash written in the line
is the stored hash, the SHA-256 of the bytes the record's own envelope version hashes (v1: the
line without `hash` and `mac`; v2 and v3: without `hash`) is that hash, and the
stored and written `prev_hash` link to the previous record's hash. For every session the facts'
head is the last stored record. On PostgreSQL the record checks are one SQL query over the
stored bytes (`sha256()`, PostgreSQL 11+), so the bytes never leave the server; on SQLite the
same checks run in Python.

Both read v2 and v3 lines as bytes, never re-encoding them: `hash` sorts first, so the hashed
bytes are the line with its first 75 bytes (`{"hash":"<64 hex>",`) replaced by `{`; and the
record's own `prev_hash`, `seq` and `session_id` are found after the line's last
`"prev_hash":"` (a quote inside a JSON string is escaped, so that text can only be a key, and
after the top-level `prev_hash` only flat fields follow). v1 lines, whose hash left the MAC
out, are parsed and re-encoded.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from json.encoder import encode_basestring

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from titrator.audit.canonical import (
    GENESIS,
    canonical_json,
    hashed_body,
    parse_json_line,
    record_hash,
)
from titrator.audit.errors import AuditFormatError
from titrator.store import schema
from titrator.store.db import READ_ONLY, Store, StoreError, describe


@dataclass(frozen=True)
class ChainProblem:
    """One stored record (or session head) that does not check out."""

    station_id: str
    session_id: str
    seq: int | None
    reason: str


@dataclass
class StationReport:
    """What `verify_store` found for one station."""

    station_id: str
    sessions: int = 0
    records: int = 0
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every chain of the station is intact."""
        return not self.problems

    def lines(self) -> list[str]:
        """One line for the station, then one per problem."""
        head = f"station {self.station_id}: {self.sessions} sessions, {self.records} records"
        if self.ok:
            return [f"{head}: every chain intact"]
        out = [f"{head}: {len(self.problems)} BROKEN"]
        for problem in self.problems:
            where = f" at seq {problem.seq}" if problem.seq is not None else ""
            out.append(f"  session {problem.session_id}{where}: {problem.reason}")
        return out

    def as_json(self) -> dict[str, object]:
        """The station's result for `--json`."""
        return {
            "station_id": self.station_id,
            "sessions": self.sessions,
            "records": self.records,
            "ok": self.ok,
            "problems": [
                {"session_id": p.session_id, "seq": p.seq, "reason": p.reason}
                for p in self.problems
            ],
        }


_V1_TAIL = b',"v":1}'


@dataclass(frozen=True, slots=True)
class _Row:
    """One evidence row's columns, and the previous record's `mac` (None for the first)."""

    seq: int
    session_id: str
    ts: str
    hash: str
    prev_hash: str
    mac: str | None
    before_mac: str | None


def _check_line(line: bytes, row: _Row) -> str | None:
    """Why one stored line does not match its columns (None when it does)."""
    seq, session_id, hash_, prev_hash = row.seq, row.session_id, row.hash, row.prev_hash
    ts, mac, before_mac = row.ts, row.mac, row.before_mac
    if line.endswith(_V1_TAIL):
        return _check_v1_line(line, seq, session_id, hash_, prev_hash)
    if line[:75] != b'{"hash":"%s",' % hash_.encode("ascii"):
        return "stored hash differs from the line"
    if hashlib.sha256(b"{" + line[75:]).hexdigest() != hash_:
        return "line bytes do not match the hash (altered)"
    if mac is not None and b',"mac":"%s","mono":' % mac.encode("ascii") not in line:
        return "stored mac differs from the line"
    if b',"prev_hash":"%s",' % prev_hash.encode("ascii") not in line:
        return "stored prev_hash differs from the line"
    keyed = b',"prev_hash":"%s",%s"seq":%d,"session_id":%s,"station_id":' % (
        prev_hash.encode("ascii"),
        b"" if mac is None else b'"prev_mac":"%s",' % (before_mac or GENESIS).encode("ascii"),
        seq,
        encode_basestring(session_id).encode("utf-8"),
    )
    if keyed not in line:
        return "the line's seq, session or prev_mac differs from its key"
    ts_part = b',"ts":%s,"v":' % encode_basestring(ts).encode("utf-8")
    end = len(line) - len(ts_part) - 2
    if line[end:-2] != ts_part or line[-1:] != b"}" or not line[-2:-1].isdigit():
        return "stored ts differs from the line"
    return None


def _check_v1_line(
    line: bytes, seq: int, session_id: str, hash_: str, prev_hash: str
) -> str | None:
    """`_check_line` for a v1 record: parse it and re-encode (the line must be canonical)."""
    try:
        obj = parse_json_line(line)
    except AuditFormatError as error:
        return str(error)
    if not isinstance(obj, dict) or canonical_json(obj) != line:
        return "stored line is not a canonical record (bytes altered)"
    if obj.get("hash") != hash_:
        return "stored hash differs from the line"
    if not hmac.compare_digest(record_hash(hashed_body(obj)), hash_):
        return "line bytes do not match the hash (altered)"
    if obj.get("prev_hash") != prev_hash:
        return "stored prev_hash differs from the line"
    if obj.get("seq") != seq or obj.get("session_id") != session_id:
        return "the line's seq or session differs from its key"
    return None


def _python_checks(connection: Connection) -> list[ChainProblem]:
    r = schema.records
    problems: list[ChainProblem] = []
    query = sa.select(
        r.c.station_id, r.c.session_id, r.c.seq, r.c.ts, r.c.hash, r.c.prev_hash, r.c.mac, r.c.line
    ).order_by(r.c.station_id, r.c.session_id, r.c.seq)
    # the driver's own cursor: plain tuples, no per-row result processing (millions of rows)
    cursor = connection.connection.cursor()
    try:
        cursor.execute(str(query.compile(connection)))
        problems += _walk(cursor)  # type: ignore[arg-type]  # DB-API rows are plain tuples
    finally:
        cursor.close()
    return problems


def _walk(
    rows: Iterable[tuple[str, str, int, str, str, str, str | None, bytes]],
) -> list[ChainProblem]:
    problems: list[ChainProblem] = []
    previous: tuple[str, str, int, str, str | None] | None = None
    for station, session, seq, ts, hash_, prev_hash, mac, line in rows:
        same = previous is not None and previous[:2] == (station, session)
        expected_seq = previous[2] + 1 if same and previous else 0
        expected_prev = previous[3] if same and previous else GENESIS
        before_mac = previous[4] if same and previous else None
        reason: str | None
        if seq != expected_seq:
            reason = f"missing record: seq {seq} where {expected_seq} was expected"
        else:
            row = _Row(seq, session, ts, hash_, prev_hash, mac, before_mac)
            reason = _check_line(bytes(line), row)
        if reason is None and prev_hash != expected_prev:
            reason = "prev_hash does not link to the previous record"
        if reason is not None:
            problems.append(ChainProblem(station, session, seq, reason))
        previous = (station, session, seq, hash_, mac)
    return problems


_PG_CHECKS = """
WITH r AS (
  SELECT station_id, session_id, seq, ts, hash, prev_hash, mac, line,
         lag(hash) OVER w AS before_hash, lag(seq) OVER w AS before_seq,
         lag(mac) OVER w AS before_mac,
         '\\x7b'::bytea || substring(line FROM 76) AS no_hash
  FROM records
  WINDOW w AS (PARTITION BY station_id COLLATE "C", session_id COLLATE "C" ORDER BY seq)
), s AS (
  SELECT *, CASE
      WHEN mac IS NULL THEN no_hash
      WHEN substring(line FROM octet_length(line) - 6) <> convert_to(',"v":1}', 'UTF8')
        THEN no_hash
      WHEN position(convert_to('"mac":"' || mac || '",', 'UTF8') IN no_hash) = 0 THEN NULL
      ELSE overlay(no_hash PLACING ''::bytea
                   FROM position(convert_to('"mac":"' || mac || '",', 'UTF8') IN no_hash)
                   FOR 73)
    END AS sealed,
    convert_to(',"prev_hash":"' || prev_hash || '",'
               || CASE WHEN mac IS NULL THEN ''
                       ELSE '"prev_mac":"' || coalesce(before_mac, repeat('0', 64)) || '",' END
               || '"seq":' || seq || ',"session_id":' || to_json(session_id)::text
               || ',"station_id":', 'UTF8') AS keyed_part
  FROM r
), d AS (
  SELECT *, encode(sha256(sealed), 'hex') AS digest FROM s
), c AS (
  -- each expression is written once per path: the subqueries are inlined, so an expression
  -- named twice would be computed twice (sha256 above all)
  SELECT station_id, session_id, seq, CASE
    WHEN seq <> coalesce(before_seq + 1, 0)
      THEN 'missing record: seq ' || seq || ' where ' || coalesce(before_seq + 1, 0)
           || ' was expected'
    WHEN substring(line FROM 1 FOR 75) <> convert_to('{"hash":"' || hash || '",', 'UTF8')
      THEN 'stored hash differs from the line'
    WHEN coalesce(digest, '') <> hash
      THEN CASE WHEN sealed IS NULL THEN 'stored mac differs from the line'
                ELSE 'line bytes do not match the hash (altered)' END
    WHEN mac IS NOT NULL
         AND position(convert_to(',"mac":"' || mac || '","mono":', 'UTF8') IN line) = 0
      THEN 'stored mac differs from the line'
    WHEN position(convert_to(',"prev_hash":"' || prev_hash || '",', 'UTF8') IN line) = 0
      THEN 'stored prev_hash differs from the line'
    WHEN position(keyed_part IN line) = 0
      THEN 'the line''s seq, session or prev_mac differs from its key'
    WHEN substring(line FROM octet_length(line) - octet_length(ts) - 14)
         <> convert_to(',"ts":' || to_json(ts)::text || ',"v":', 'UTF8')
            || substring(line FROM octet_length(line) - 1)
      OR substring(line FROM octet_length(line) - 1) NOT IN ('\\x317d', '\\x327d', '\\x337d')
      THEN 'stored ts differs from the line'
    WHEN prev_hash <> coalesce(before_hash, repeat('0', 64))
      THEN 'prev_hash does not link to the previous record'
  END AS problem
  FROM d
)
SELECT station_id, session_id, seq, problem FROM c WHERE problem IS NOT NULL
ORDER BY station_id, session_id, seq
"""


def _head_checks(connection: Connection) -> list[ChainProblem]:
    """Sessions whose facts' head is not the last stored record."""
    r, s = schema.records, schema.sessions
    last = (
        sa.select(r.c.station_id, r.c.session_id, sa.func.max(r.c.seq).label("seq"))
        .group_by(r.c.station_id, r.c.session_id)
        .subquery()
    )
    head = (
        sa.select(r.c.hash)
        .where(
            r.c.station_id == s.c.station_id,
            r.c.session_id == s.c.session_id,
            r.c.seq == s.c.head_seq,
        )
        .scalar_subquery()
    )
    query = sa.select(
        s.c.station_id, s.c.session_id, s.c.head_seq, s.c.head_hash, last.c.seq, head
    ).outerjoin(
        last, sa.and_(last.c.station_id == s.c.station_id, last.c.session_id == s.c.session_id)
    )
    problems = []
    for station, session, head_seq, head_hash, last_seq, stored_hash in connection.execute(query):
        if last_seq != head_seq or stored_hash != head_hash:
            problems.append(
                ChainProblem(
                    station, session, head_seq, "the session's head is not the last stored record"
                )
            )
    return problems


def verify_store(store: Store) -> list[StationReport]:
    """Re-check every stored chain; one report per station, sorted by station.

    Raises:
        StoreError: the store cannot be read.
    """
    r = schema.records
    try:
        with store.engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            counts = connection.execute(
                sa.select(
                    r.c.station_id,
                    sa.func.count(sa.distinct(r.c.session_id)),
                    sa.func.count(),
                ).group_by(r.c.station_id)
            ).all()
            if store.is_postgres:
                # the window's sort by (station, session, seq) stays in memory
                connection.exec_driver_sql("SET LOCAL work_mem = '64MB'")
                problems = [ChainProblem(*row) for row in connection.exec_driver_sql(_PG_CHECKS)]
            else:
                problems = _python_checks(connection)
            problems += _head_checks(connection)
            connection.rollback()
    except sa.exc.SQLAlchemyError as error:
        raise StoreError(f"ward store {store.url.shown}: {describe(error, store.url)}") from None
    reports = {
        station: StationReport(station, sessions, records) for station, sessions, records in counts
    }
    by_station: dict[str, list[ChainProblem]] = defaultdict(list)
    for problem in problems:
        by_station[problem.station_id].append(problem)
    for station, found in by_station.items():
        reports.setdefault(station, StationReport(station)).problems.extend(found)
    return [reports[name] for name in sorted(reports)]
