"""Shipping one session log to the ward store: verify, check it extends the head, store.

`ship_log` reads the log once (a snapshot: a log still being written cannot change under it),
verifies the snapshot, and then, in ONE transaction: takes the session's lock, compares the
stored records with the log's first records byte for byte, appends the new records and
rebuilds the session's facts from the whole log. The outcome is one of:

- `shipped`: N new records stored;
- `up_to_date`: the store already holds every record of the log;
- `fork`: the log does not extend what is stored (a record differs at seq K, or the log ends
  before the stored head): nothing is stored; the store is the outside witness;
- `damaged`: the log fails verification: nothing of it is stored;
- `error`: the log cannot be read.

A store that fails mid-way (down, killed) leaves nothing of the transaction behind.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from titrator.audit.reader import ReviewRead, read_for_review
from titrator.audit.verify import Outcome
from titrator.review.model import build_review
from titrator.store import schema
from titrator.store.db import Store, StoreError, describe
from titrator.store.facts import session_facts

Stage = Callable[[str], None]
"""Called with `"locking"` before the session's lock is taken and `"stored"` once the rows are
written but not yet committed (tests use it to race or kill a shipper at a known point)."""


class ShipStatus(enum.StrEnum):
    """What shipping one log did."""

    SHIPPED = "shipped"
    UP_TO_DATE = "up_to_date"
    FORK = "fork"
    DAMAGED = "damaged"
    ERROR = "error"


@dataclass(frozen=True)
class ShipResult:
    """The outcome for one log.

    Attributes:
        file: the log.
        status: what happened.
        session_id: the session, when the log says.
        records: records stored by this ship (0 unless shipped).
        reason: why, for fork, damaged and error.
        fork_seq: the first seq where the log and the store disagree.
    """

    file: Path
    status: ShipStatus
    session_id: str | None = None
    records: int = 0
    reason: str = ""
    fork_seq: int | None = None

    @property
    def ok(self) -> bool:
        """True when shipped or up to date."""
        return self.status in (ShipStatus.SHIPPED, ShipStatus.UP_TO_DATE)

    def line(self) -> str:
        """One line for people: `FILE: shipped N records`, `up to date`, `FORK at seq K`, ..."""
        what = {
            ShipStatus.SHIPPED: f"shipped {self.records} records",
            ShipStatus.UP_TO_DATE: "up to date",
            ShipStatus.FORK: f"FORK at seq {self.fork_seq}: {self.reason}",
            ShipStatus.DAMAGED: f"DAMAGED: {self.reason}",
            ShipStatus.ERROR: f"ERROR: {self.reason}",
        }[self.status]
        return f"{self.file}: {what}"

    def as_json(self) -> dict[str, object]:
        """`file`, `session_id`, `status`, `records` (and `reason`, empty unless one)."""
        return {
            "file": str(self.file),
            "session_id": self.session_id,
            "status": self.status.value,
            "records": self.records,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class _Snapshot:
    path: Path
    read: ReviewRead
    bodies: list[bytes]
    station_id: str
    session_id: str


def _snapshot(path: Path, key: bytes | None) -> _Snapshot | ShipResult:
    """Read and verify the log once; the verified records' exact bytes, or why not."""
    try:
        data = path.read_bytes()
    except OSError as error:
        return ShipResult(path, ShipStatus.ERROR, reason=f"cannot read: {error.strerror or error}")
    read = read_for_review(path, key=key, data=data)  # the bytes read once, not the file again
    result = read.verification
    if result.outcome is Outcome.DAMAGED:
        where = f"line {result.line}" if result.line is not None else "log"
        where += f" (seq {result.seq})" if result.seq is not None else ""
        return ShipResult(
            path, ShipStatus.DAMAGED, result.session_id, reason=f"{where}: {result.reason}"
        )
    if result.outcome is Outcome.ERROR:
        return ShipResult(path, ShipStatus.ERROR, result.session_id, reason=result.reason)
    if result.records == 0 or result.session_id is None:
        return ShipResult(path, ShipStatus.ERROR, reason="the log holds no complete record")
    bodies = [raw[:-1] for raw in data.splitlines(keepends=True)[: result.records]]
    station = read.records[0][1].station_id
    return _Snapshot(path, read, bodies, station, result.session_id)


def _compare(stored: list[bytes], bodies: list[bytes]) -> tuple[int, str] | None:
    """The first seq where the log does not extend the stored records, and why; None if it does."""
    for seq, line in enumerate(stored):
        if seq >= len(bodies):
            return (
                seq,
                f"the log ends at seq {len(bodies) - 1}, "
                f"the store holds up to seq {len(stored) - 1}",
            )
        if line != bodies[seq]:
            return seq, "the record differs from the one stored (log rewritten after shipping)"
    return None


def _lock(connection: Connection, store: Store, snap: _Snapshot) -> None:
    if store.is_postgres:  # SQLite: BEGIN IMMEDIATE already holds the one write lock
        connection.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"{snap.station_id}\x1f{snap.session_id}"},
        )


def _store(
    connection: Connection,
    snap: _Snapshot,
    start: int,
    *,
    key: bytes | None,
    ward: str | None,
    now: datetime,
) -> None:
    rows = []
    for _, record in snap.read.records[start : len(snap.bodies)]:
        rows.append(
            {
                "station_id": snap.station_id,
                "session_id": snap.session_id,
                "seq": record.seq,
                "kind": record.kind,
                "ts": record.ts,
                "prev_hash": record.prev_hash,
                "hash": record.hash,
                "mac": record.mac,
                "line": snap.bodies[record.seq],
                "shipped_at": now,
            }
        )
    connection.execute(schema.records.insert(), rows)
    last = snap.read.records[len(snap.bodies) - 1][1]
    review = build_review(snap.path, snap.read)
    facts = session_facts(
        review,
        station_id=snap.station_id,
        ward=ward,
        site_key=key,
        head_seq=last.seq,
        head_hash=last.hash,
        shipped_at=now,
    )
    for table in schema.FACT_TABLES:
        connection.execute(
            table.delete().where(
                table.c.station_id == snap.station_id, table.c.session_id == snap.session_id
            )
        )
    for table in reversed(schema.FACT_TABLES):
        if facts[table.name]:
            connection.execute(table.insert(), facts[table.name])


def _ship(
    store: Store,
    snap: _Snapshot,
    *,
    key: bytes | None,
    ward: str | None,
    now: datetime,
    on_stage: Stage | None,
) -> ShipResult:
    stage = on_stage or (lambda _name: None)
    records = schema.records
    stage("locking")  # SQLite takes its lock as the transaction begins
    with store.engine.begin() as connection:
        _lock(connection, store, snap)
        stored = [
            bytes(line)
            for (line,) in connection.execute(
                sa.select(records.c.line)
                .where(
                    records.c.station_id == snap.station_id,
                    records.c.session_id == snap.session_id,
                )
                .order_by(records.c.seq)
            )
        ]
        fork = _compare(stored, snap.bodies)
        if fork is not None:
            return ShipResult(
                snap.path, ShipStatus.FORK, snap.session_id, reason=fork[1], fork_seq=fork[0]
            )
        if len(stored) == len(snap.bodies):
            return ShipResult(snap.path, ShipStatus.UP_TO_DATE, snap.session_id)
        _store(connection, snap, len(stored), key=key, ward=ward, now=now)
        stage("stored")
    return ShipResult(
        snap.path, ShipStatus.SHIPPED, snap.session_id, records=len(snap.bodies) - len(stored)
    )


def ship_log(
    store: Store,
    path: Path,
    *,
    key: bytes | None,
    ward: str | None,
    now: datetime,
    on_stage: Stage | None = None,
) -> ShipResult:
    """Ship one log (see the module docstring).

    Args:
        store: the open store.
        path: the `.jsonl` log.
        key: the site key: MACs are checked with it and patient pseudonyms made with it
            (None: MACs unchecked, no pseudonym stored).
        ward: the shipping workstation's ward, recorded with the session's facts.
        now: the shipping time (UTC), recorded with every new row.
        on_stage: test hook (see `Stage`).

    Returns:
        What happened to this log.

    Raises:
        StoreError: the store failed (unreachable, dropped, refused); nothing was stored.
    """
    snap = _snapshot(path, key)
    if isinstance(snap, ShipResult):
        return snap
    try:
        try:
            return _ship(store, snap, key=key, ward=ward, now=now, on_stage=on_stage)
        except sa.exc.IntegrityError:
            # Another shipper stored the same records between our read and our insert (a
            # store without the session lock): our transaction is gone, look again.
            return _ship(store, snap, key=key, ward=ward, now=now, on_stage=on_stage)
    except sa.exc.SQLAlchemyError as error:
        raise StoreError(f"ward store {store.url.shown}: {describe(error, store.url)}") from None
