"""The ward store as the review app reads it (`titrator.review.ward.WardSource`).

`StoreSource` lists stored sessions with filters (ward, product, lot, opened since, outcome,
training) in SQL over the facts, and runs the ward reports (`titrator.store.reports`) laid out
as tables. Patients never appear: no query here selects `patient_pseudonym`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

import sqlalchemy as sa

from titrator.review.ward import WardQuery, WardSession, WardSourceError, WardTable
from titrator.store import schema
from titrator.store.db import READ_ONLY, Store, StoreError, describe
from titrator.store.reports import REPORTS, ReportFilter, cell_text, run_report


def _where(query: WardQuery) -> list[sa.ColumnElement[bool]]:
    s, lots = schema.sessions, schema.lots
    where: list[sa.ColumnElement[bool]] = []
    if not query.include_training:
        where.append(s.c.training == sa.false())
    if query.ward:
        where.append(s.c.ward == query.ward)
    if query.product:
        where.append(s.c.product_id == query.product)
    if query.since is not None:
        where.append(s.c.opened_at >= query.since)
    if query.outcome:
        where.append(s.c.outcome == query.outcome)
    if query.lot:
        where.append(
            sa.exists().where(
                lots.c.station_id == s.c.station_id,
                lots.c.session_id == s.c.session_id,
                lots.c.lot == query.lot,
            )
        )
    return where


class StoreSource:
    """An open store, read for the review app."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def shown(self) -> str:
        """The URL, password masked."""
        return self.store.url.shown

    def sessions(self, query: WardQuery, limit: int) -> tuple[list[WardSession], int]:
        """Up to `limit` sessions of `query`, newest first, and how many match in all.

        Raises:
            WardSourceError: the store cannot be read.
        """
        s, r, lots = schema.sessions, schema.reactions, schema.lots
        where = _where(query)
        reactions = (
            sa.select(sa.func.count())
            .where(r.c.station_id == s.c.station_id, r.c.session_id == s.c.session_id)
            .scalar_subquery()
        )
        try:
            with self.store.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
                total = int(
                    conn.execute(
                        sa.select(sa.func.count()).select_from(s).where(*where)
                    ).scalar_one()
                )
                rows = conn.execute(
                    sa.select(
                        s.c.station_id,
                        s.c.session_id,
                        s.c.ward,
                        s.c.opened_at,
                        s.c.product_id,
                        s.c.outcome,
                        s.c.integrity,
                        s.c.training,
                        reactions,
                    )
                    .where(*where)
                    .order_by(s.c.opened_at.desc(), s.c.station_id, s.c.session_id)
                    .limit(limit)
                ).all()
                keys = [(row[0], row[1]) for row in rows]
                given: dict[tuple[str, str], list[str]] = {key: [] for key in keys}
                if keys:
                    for station, session, lot in conn.execute(
                        sa.select(lots.c.station_id, lots.c.session_id, lots.c.lot)
                        .where(sa.tuple_(lots.c.station_id, lots.c.session_id).in_(keys))
                        .order_by(lots.c.station_id, lots.c.session_id, lots.c.ordinal)
                    ):
                        given[(station, session)].append(lot)
                conn.rollback()
        except sa.exc.SQLAlchemyError as error:
            raise WardSourceError(
                f"cannot read {self.store.url.shown}: {describe(error, self.store.url)}"
            ) from None
        out = []
        for station, session, ward, opened, product, outcome, integrity, training, n in rows:
            at = opened.replace(tzinfo=UTC) if opened and opened.tzinfo is None else opened
            out.append(
                WardSession(
                    station_id=station,
                    session_id=session,
                    ward=ward or "-",
                    opened_at=at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if at else "-",
                    product=product or "-",
                    lots=", ".join(dict.fromkeys(given[(station, session)])) or "-",
                    outcome=outcome,
                    integrity=integrity,
                    reactions=int(n),
                    training=bool(training),
                )
            )
        return out, total

    def report_names(self) -> Sequence[str]:
        """Every ward report, in menu order."""
        return tuple(REPORTS)

    def report(self, name: str, query: WardQuery) -> WardTable:
        """One report over the sessions of `query` (ward, since, training), as a table.

        Raises:
            WardSourceError: the store cannot be read.
        """
        filt = ReportFilter(query.since, query.ward, query.include_training)
        try:
            report = run_report(self.store, name, filt)
        except StoreError as error:
            raise WardSourceError(str(error)) from None
        rows = tuple(
            tuple(cell_text(row.get(column.key), column.key) for column in report.columns)
            for row in report.rows
        )
        return WardTable(
            name,
            report.title,
            tuple(column.heading for column in report.columns),
            rows,
            report.notes,
        )
