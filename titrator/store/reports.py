"""Ward reports: SQL (SQLAlchemy Core) over the facts layer, the same on SQLite and PostgreSQL.

Every report selects sessions first (`ReportFilter`: opened on or after a date, one ward,
training sessions left out unless asked for) and then reads the facts tables of those sessions.
Patients never appear: no report selects `patient_pseudonym` or anything that carries an
identifier; sessions are named by station and session id only.

Reports (`REPORTS`):

- `reactions-by-lot`: reactions per product and lot, the lot being the one in force when each
  reaction began, next to the number of sessions that gave that lot;
- `time-to-stop`: each severe reaction, with the seconds from its start to the rate 0 and to
  the pump's confirmed stop (a stop or pause the pump confirmed, or a confirmed rate of 0);
- `overrides`: overrides by nurse, reason and limit;
- `refusals`: overrides the engine refused (hard-limit attempts), by nurse, reason and refusal;
- `pump-deviations`: every pump command not confirmed, and every read-back that differs from
  the rate ordered;
- `vitals-lateness`: vitals sets due and taken per ward and nurse (lateness from due to taken);
- `integrity`: sessions per station by integrity result;
- `versions`: the policy, library and software in use per station; a station whose
  combination is not the one most sessions of the selection used is marked `drift`.

Times are UTC. Differences of times are worked out after the query (the two engines have no
common interval arithmetic); grouping, joining and counting run in the database.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from titrator.store import schema
from titrator.store.db import READ_ONLY, Store, StoreError, describe

Row = dict[str, Any]

WIDTH = 80
"""Text reports fit this many columns (long cells wrap)."""

SHA_SHOWN = 12
"""Hex digits of a sha256 shown in the text report (the JSON has all 64)."""


@dataclass(frozen=True)
class ReportFilter:
    """Which sessions a report reads.

    Attributes:
        since: sessions opened at or after this instant (UTC), or every session.
        ward: only this ward, or every ward.
        include_training: include training and demo sessions (left out by default).
    """

    since: datetime | None = None
    ward: str | None = None
    include_training: bool = False


@dataclass(frozen=True)
class Column:
    """One column of a report: the row key, its heading, and whether numbers align right."""

    key: str
    heading: str
    right: bool = False


@dataclass(frozen=True)
class Report:
    """A report's rows (JSON-ready values) and how to show them."""

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: list[Row]
    notes: tuple[str, ...] = field(default=())

    def as_json(self) -> list[Row]:
        """The rows, one object each (every key of every column)."""
        return self.rows

    def lines(self, width: int = WIDTH) -> list[str]:
        """The report as text, at most `width` columns (the widest column wraps)."""
        out = [self.title]
        if not self.rows:
            return [*out, "  (no rows)", *self.notes]
        table = [[cell_text(row.get(c.key), c.key) for c in self.columns] for row in self.rows]
        heads = [c.heading for c in self.columns]
        widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(heads)]
        room = width - 2 * (len(widths) - 1)
        floors = [max(len(h), 8) for h in heads]
        while sum(widths) > room:
            shrinkable = [i for i, w in enumerate(widths) if w > floors[i]]
            if not shrinkable:
                break  # every column at its heading's width: the terminal scrolls
            wide = max(shrinkable, key=lambda i: widths[i])
            widths[wide] = max(floors[wide], widths[wide] - (sum(widths) - room))
        out.append(_join(heads, widths, self.columns))
        out.append(_join(["-" * w for w in widths], widths, self.columns))
        for cells in table:
            wrapped = [textwrap.wrap(c, w) or [""] for c, w in zip(cells, widths, strict=True)]
            for n in range(max(len(w) for w in wrapped)):
                parts = [w[n] if n < len(w) else "" for w in wrapped]
                out.append(_join(parts, widths, self.columns))
        return [*out, *self.notes]


def _join(cells: Sequence[str], widths: Sequence[int], columns: Sequence[Column]) -> str:
    parts = [
        c.rjust(w) if col.right else c.ljust(w)
        for c, w, col in zip(cells, widths, columns, strict=True)
    ]
    return "  ".join(parts).rstrip()


def cell_text(value: object, key: str) -> str:
    """A cell as the text report shows it: `-` for none, yes/no, sha256 shortened."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and key.endswith("sha256"):
        return value[:SHA_SHOWN]
    return str(value)


def _utc(value: object) -> datetime | None:
    """A datetime from either engine as UTC (SQLite hands back naive UTC)."""
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _when(value: object) -> str | None:
    at = _utc(value)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ") if at is not None else None


def _seconds(start: object, end: object) -> int | None:
    a, b = _utc(start), _utc(end)
    return round((b - a).total_seconds()) if a is not None and b is not None else None


S = schema.sessions


def _selected(filt: ReportFilter) -> list[sa.ColumnElement[bool]]:
    """The conditions on `sessions` for the filter."""
    where: list[sa.ColumnElement[bool]] = []
    if not filt.include_training:
        where.append(S.c.training == sa.false())
    if filt.since is not None:
        where.append(S.c.opened_at >= filt.since)
    if filt.ward is not None:
        where.append(S.c.ward == filt.ward)
    return where


def _joined(table: sa.Table) -> sa.Join:
    return table.join(
        S, sa.and_(table.c.station_id == S.c.station_id, table.c.session_id == S.c.session_id)
    )


def _number(text: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return sa.cast(text, sa.Numeric(12, 3))


def reactions_by_lot(connection: Connection, filt: ReportFilter) -> Report:
    """Reactions per product and lot in force, next to the sessions that gave the lot."""
    r, lots = schema.reactions, schema.lots
    given = (
        sa.select(S.c.product_id, lots.c.lot, lots.c.station_id, lots.c.session_id)
        .select_from(_joined(lots))
        .where(*_selected(filt))
        .distinct()
        .subquery()
    )
    sessions = connection.execute(
        sa.select(given.c.product_id, given.c.lot, sa.func.count()).group_by(
            given.c.product_id, given.c.lot
        )
    ).all()

    def severity(name: str | None) -> sa.ColumnElement[int]:
        test = r.c.severity.is_(None) if name is None else r.c.severity == name
        return sa.func.sum(sa.case((test, 1), else_=0))

    counted = connection.execute(
        sa.select(
            S.c.product_id,
            r.c.lot,
            sa.func.count(),
            severity("mild"),
            severity("moderate"),
            severity("severe"),
            severity(None),
        )
        .select_from(_joined(r))
        .where(*_selected(filt))
        .group_by(S.c.product_id, r.c.lot)
    ).all()
    rows: dict[tuple[str | None, str | None], Row] = {}
    for product, lot, n in sessions:
        rows[(product, lot)] = _lot_row(product, lot, int(n))
    for product, lot, n, mild, moderate, severe, ungraded in counted:
        row = rows.setdefault((product, lot), _lot_row(product, lot, 0))
        row.update(
            reactions=int(n),
            mild=int(mild),
            moderate=int(moderate),
            severe=int(severe),
            ungraded=int(ungraded),
        )
    ordered = sorted(rows.values(), key=lambda row: (row["product_id"] or "", row["lot"] or ""))
    return Report(
        "reactions-by-lot",
        "Reactions per product and lot (the lot in force when each reaction began)",
        (
            Column("product_id", "product"),
            Column("lot", "lot"),
            Column("sessions", "sessions", right=True),
            Column("reactions", "reactions", right=True),
            Column("mild", "mild", right=True),
            Column("moderate", "moderate", right=True),
            Column("severe", "severe", right=True),
            Column("ungraded", "ungraded", right=True),
        ),
        ordered,
    )


def _lot_row(product: str | None, lot: str | None, sessions: int) -> Row:
    return {
        "product_id": product,
        "lot": lot,
        "sessions": sessions,
        "reactions": 0,
        "mild": 0,
        "moderate": 0,
        "severe": 0,
        "ungraded": 0,
    }


def time_to_stop(connection: Connection, filt: ReportFilter) -> Report:
    """Each severe reaction: seconds to the rate 0 and to the pump's confirmed stop."""
    r, seg, pc = schema.reactions, schema.rate_segments, schema.pump_commands

    def same(table: sa.Table) -> sa.ColumnElement[bool]:
        return sa.and_(table.c.station_id == r.c.station_id, table.c.session_id == r.c.session_id)

    rate_zero = (
        sa.select(sa.func.min(seg.c.start_at))
        .where(same(seg), seg.c.start_at >= r.c.opened_at, _number(seg.c.rate_ml_per_h) == 0)
        .scalar_subquery()
    )
    stopping = sa.or_(
        pc.c.kind.in_(("stop", "pause")),
        sa.and_(pc.c.kind == "set_rate", _number(pc.c.rate_ml_per_h) == 0),
    )
    confirmed = (
        sa.select(sa.func.min(pc.c.outcome_at))
        .where(same(pc), pc.c.issued_at >= r.c.opened_at, pc.c.outcome == "confirmed", stopping)
        .scalar_subquery()
    )
    result = connection.execute(
        sa.select(
            r.c.station_id,
            r.c.session_id,
            r.c.opened_at,
            S.c.product_id,
            r.c.lot,
            rate_zero,
            confirmed,
        )
        .select_from(_joined(r))
        .where(r.c.severity == "severe", *_selected(filt))
        .order_by(r.c.opened_at, r.c.station_id, r.c.session_id)
    ).all()
    rows = [
        {
            "station_id": station,
            "session_id": session,
            "reaction_at": _when(opened),
            "product_id": product,
            "lot": lot,
            "to_rate_zero_s": _seconds(opened, zero),
            "to_pump_stop_s": _seconds(opened, stop),
        }
        for station, session, opened, product, lot, zero, stop in result
    ]
    return Report(
        "time-to-stop",
        "Severe reactions: seconds to rate 0 and to the pump's confirmed stop",
        (
            Column("station_id", "station"),
            Column("session_id", "session"),
            Column("reaction_at", "reaction began (UTC)"),
            Column("lot", "lot"),
            Column("to_rate_zero_s", "to rate 0 s", right=True),
            Column("to_pump_stop_s", "to pump stop s", right=True),
        ),
        rows,
        _stop_notes(rows),
    )


def _stop_notes(rows: list[Row]) -> tuple[str, ...]:
    if not rows:
        return ()
    notes = [f"{len(rows)} severe reactions"]
    for key, what in (("to_rate_zero_s", "rate 0"), ("to_pump_stop_s", "confirmed pump stop")):
        values = sorted(row[key] for row in rows if row[key] is not None)
        missing = len(rows) - len(values)
        if values:
            median = values[len(values) // 2]
            notes.append(f"{what}: median {median} s, longest {values[-1]} s, none {missing}")
        else:
            notes.append(f"{what}: none recorded ({missing})")
    return tuple(notes)


def _counted(
    connection: Connection,
    table: sa.Table,
    filt: ReportFilter,
    keys: Sequence[tuple[str, sa.ColumnElement[Any]]],
) -> list[Row]:
    columns = [column for _, column in keys]
    result = connection.execute(
        sa.select(*columns, sa.func.count())
        .select_from(_joined(table))
        .where(*_selected(filt))
        .group_by(*columns)
        .order_by(*columns)
    ).all()
    return [
        {**{name: value for (name, _), value in zip(keys, row[:-1], strict=True)}, "count": row[-1]}
        for row in result
    ]


def overrides(connection: Connection, filt: ReportFilter) -> Report:
    """Overrides by nurse, reason and limit."""
    o = schema.overrides
    rows = _counted(
        connection,
        o,
        filt,
        (("nurse_id", o.c.nurse_id), ("reason", o.c.reason), ("limit", o.c.limit_name)),
    )
    return Report(
        "overrides",
        "Overrides by nurse, reason and limit",
        (
            Column("nurse_id", "nurse"),
            Column("reason", "reason"),
            Column("count", "overrides", right=True),
            Column("limit", "limit overridden"),
        ),
        rows,
    )


def refusals(connection: Connection, filt: ReportFilter) -> Report:
    """Overrides the engine refused (hard-limit attempts) by nurse, reason and refusal."""
    f = schema.refusals
    rows = _counted(
        connection,
        f,
        filt,
        (("nurse_id", f.c.nurse_id), ("reason", f.c.reason), ("refusal", f.c.refusal)),
    )
    return Report(
        "refusals",
        "Hard-limit attempts: overrides the engine refused",
        (
            Column("nurse_id", "nurse"),
            Column("reason", "reason"),
            Column("count", "attempts", right=True),
            Column("refusal", "refused because"),
        ),
        rows,
    )


def pump_deviations(connection: Connection, filt: ReportFilter) -> Report:
    """Every pump command not confirmed, and every read-back that differs from the order."""
    pc = schema.pump_commands
    unconfirmed = sa.or_(pc.c.outcome.is_(None), pc.c.outcome != "confirmed")
    differs = sa.and_(
        pc.c.rate_ml_per_h.is_not(None),
        pc.c.reported_rate_ml_per_h.is_not(None),
        _number(pc.c.rate_ml_per_h) != _number(pc.c.reported_rate_ml_per_h),
    )
    result = connection.execute(
        sa.select(
            pc.c.station_id,
            pc.c.session_id,
            pc.c.command_id,
            pc.c.kind,
            pc.c.issued_at,
            pc.c.nurse_id,
            pc.c.outcome,
            pc.c.rate_ml_per_h,
            pc.c.reported_rate_ml_per_h,
        )
        .select_from(_joined(pc))
        .where(sa.or_(unconfirmed, differs), *_selected(filt))
        .order_by(pc.c.issued_at, pc.c.station_id, pc.c.session_id, pc.c.command_id)
    ).all()
    rows: list[Row] = []
    for station, session, command, kind, issued, nurse, outcome, ordered, read in result:
        if outcome != "confirmed":
            what = f"not confirmed ({outcome or 'no outcome recorded'})"
        else:
            what = f"read back {read} mL/h, ordered {ordered} mL/h"
        rows.append(
            {
                "station_id": station,
                "session_id": session,
                "command_id": command,
                "kind": kind,
                "issued_at": _when(issued),
                "nurse_id": nurse,
                "outcome": outcome,
                "rate_ml_per_h": ordered,
                "reported_rate_ml_per_h": read,
                "deviation": what,
            }
        )
    return Report(
        "pump-deviations",
        "Pump commands not confirmed, and read-backs that differ from the order",
        (
            Column("station_id", "station"),
            Column("session_id", "session"),
            Column("kind", "command"),
            Column("issued_at", "issued (UTC)"),
            Column("deviation", "deviation"),
        ),
        rows,
    )


def vitals_lateness(connection: Connection, filt: ReportFilter) -> Report:
    """Vitals due and taken per ward and nurse, with the lateness from due to taken."""
    v = schema.vitals_due
    taken = v.c.taken_at.is_not(None)
    result = connection.execute(
        sa.select(
            S.c.ward,
            v.c.nurse_id,
            sa.func.count(),
            sa.func.sum(sa.case((taken, 1), else_=0)),
            sa.func.sum(v.c.late_s),
            sa.func.max(v.c.late_s),
        )
        .select_from(_joined(v))
        .where(*_selected(filt))
        .group_by(S.c.ward, v.c.nurse_id)
        .order_by(S.c.ward, v.c.nurse_id)
    ).all()
    rows: list[Row] = []
    for ward, nurse, due, done, total, longest in result:
        done = int(done or 0)
        mean = Decimal(int(total or 0)) / 60 / done if done else None
        rows.append(
            {
                "ward": ward,
                "nurse_id": nurse,
                "due": int(due),
                "taken": done,
                "not_taken": int(due) - done,
                "mean_late_min": str(mean.quantize(Decimal("0.1"))) if mean is not None else None,
                "max_late_min": str((Decimal(int(longest)) / 60).quantize(Decimal("0.1")))
                if longest is not None
                else None,
            }
        )
    return Report(
        "vitals-lateness",
        "Vital signs: due to taken, per ward and nurse (minutes)",
        (
            Column("ward", "ward"),
            Column("nurse_id", "nurse"),
            Column("due", "due", right=True),
            Column("taken", "taken", right=True),
            Column("not_taken", "not taken", right=True),
            Column("mean_late_min", "mean late", right=True),
            Column("max_late_min", "max late", right=True),
        ),
        rows,
        ("not taken: no vitals set accepted after it fell due (session ended first)",),
    )


INTEGRITY_RESULTS = ("verified", "chain-only", "unfinished", "damaged")
"""The integrity results of a stored session (`titrator.review.integrity.IntegrityStatus`)."""


def integrity(connection: Connection, filt: ReportFilter) -> Report:
    """Sessions per station by integrity result."""
    result = connection.execute(
        sa.select(S.c.station_id, S.c.integrity, sa.func.count())
        .where(*_selected(filt))
        .group_by(S.c.station_id, S.c.integrity)
        .order_by(S.c.station_id, S.c.integrity)
    ).all()
    rows: dict[str, Row] = {}
    for station, status, n in result:
        row = rows.setdefault(
            station,
            {
                "station_id": station,
                "sessions": 0,
                **{k.replace("-", "_"): 0 for k in INTEGRITY_RESULTS},
            },
        )
        row["sessions"] += int(n)
        row[str(status).replace("-", "_")] = row.get(str(status).replace("-", "_"), 0) + int(n)
    return Report(
        "integrity",
        "Integrity per station (sessions)",
        (
            Column("station_id", "station"),
            Column("sessions", "sessions", right=True),
            Column("verified", "verified", right=True),
            Column("chain_only", "chain only", right=True),
            Column("unfinished", "unfinished", right=True),
            Column("damaged", "damaged", right=True),
        ),
        list(rows.values()),
    )


def versions(connection: Connection, filt: ReportFilter) -> Report:
    """Policy, library and software in use per station; drift marked."""
    result = connection.execute(
        sa.select(
            S.c.station_id,
            S.c.policy_sha256,
            S.c.library_sha256,
            S.c.software_version,
            sa.func.count(),
            sa.func.min(S.c.opened_at),
            sa.func.max(S.c.opened_at),
        )
        .where(*_selected(filt))
        .group_by(S.c.station_id, S.c.policy_sha256, S.c.library_sha256, S.c.software_version)
        .order_by(S.c.station_id, sa.func.max(S.c.opened_at))
    ).all()
    usage: Counter[tuple[object, object, object]] = Counter()
    for _station, policy, library, software, n, _first, _last in result:
        usage[(policy, library, software)] += int(n)
    common = usage.most_common(1)[0][0] if usage else None
    rows = [
        {
            "station_id": station,
            "policy_sha256": policy,
            "library_sha256": library,
            "software_version": software,
            "sessions": int(n),
            "first_at": _when(first),
            "last_at": _when(last),
            "drift": (policy, library, software) != common,
        }
        for station, policy, library, software, n, first, last in result
    ]
    return Report(
        "versions",
        "Policy and library in use per station (sha256, first 12 digits)",
        (
            Column("station_id", "station"),
            Column("policy_sha256", "policy"),
            Column("library_sha256", "library"),
            Column("software_version", "software"),
            Column("sessions", "sessions", right=True),
            Column("last_at", "last used (UTC)"),
            Column("drift", "drift"),
        ),
        rows,
        ("drift yes: not the combination most sessions used",) if len(usage) > 1 else (),
    )


ReportFunction = Callable[[Connection, ReportFilter], Report]

REPORTS: dict[str, ReportFunction] = {
    "reactions-by-lot": reactions_by_lot,
    "time-to-stop": time_to_stop,
    "overrides": overrides,
    "refusals": refusals,
    "pump-deviations": pump_deviations,
    "vitals-lateness": vitals_lateness,
    "integrity": integrity,
    "versions": versions,
}
"""Every report by name, in the order the help lists them."""


def run_report(store: Store, name: str, filt: ReportFilter) -> Report:
    """Run one report (a read-only transaction).

    Args:
        store: the open store.
        name: a key of `REPORTS`.
        filt: which sessions.

    Returns:
        The report.

    Raises:
        KeyError: no such report.
        StoreError: the store cannot be read.
    """
    function = REPORTS[name]
    try:
        with store.engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            report = function(connection, filt)
            connection.rollback()
            return report
    except sa.exc.SQLAlchemyError as error:
        raise StoreError(f"cannot read {store.url.shown}: {describe(error, store.url)}") from None
