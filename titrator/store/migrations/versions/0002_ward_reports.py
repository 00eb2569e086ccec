"""Ward reports: the vitals-due facts and the indexes the reports use.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06

`vitals_due` pairs every `vitals_due` record with the first vitals set accepted after it (the
`vitals-lateness` report). Sessions stored before this revision get theirs here, from the
stored evidence (the same pairing as `titrator.store.facts`); later ships rebuild them with
the rest of the facts. Written out in full: a released migration does not follow the schema
module.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None

ID = sa.String(128)
WHEN = sa.DateTime(timezone=True)

_INDEXES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("ix_sessions_training_opened", "sessions", ("training", "opened_at")),
)
"""Reports over a period of every ward (`--since` without `--ward`) find their sessions by this
index; with `--ward`, by `ix_sessions_ward_opened` (0001). The facts' primary keys lead with
(station_id, session_id), so joins to a session's facts use them (bench/ward.py shows the
plans)."""


def _at(payload: dict[str, Any]) -> datetime | None:
    at = payload.get("at")
    wall = at.get("wall_utc") if isinstance(at, dict) else None
    if not isinstance(wall, str):
        return None
    return datetime.fromisoformat(wall.replace("Z", "+00:00")).astimezone(UTC)


def _backfill(table: sa.Table) -> None:
    """Pair the stored `vitals_due` records with the next accepted vitals, session by session."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT station_id, session_id, seq, kind, line FROM records "
            "WHERE kind IN ('vitals_due', 'vitals_accepted') "
            "ORDER BY station_id, session_id, seq"
        )
    )
    out: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    current: tuple[str, str] | None = None
    for station_id, session_id, seq, kind, line in rows:
        if (station_id, session_id) != current:
            out.extend(pending)
            pending, current = [], (station_id, session_id)
        record = json.loads(bytes(line))
        payload = record.get("payload") or {}
        when = _at(payload)
        if when is None:
            continue
        if kind == "vitals_due":
            pending.append(
                {
                    "station_id": station_id,
                    "session_id": session_id,
                    "seq": seq,
                    "due_at": when,
                    "reason": str(payload.get("reason", "")),
                    "taken_at": None,
                    "taken_seq": None,
                    "late_s": None,
                    "nurse_id": str(record.get("nurse_id", "")),
                }
            )
        else:
            for due in pending:
                due.update(
                    taken_at=when,
                    taken_seq=seq,
                    late_s=max(0, int((when - due["due_at"]).total_seconds())),
                    nurse_id=str(record.get("nurse_id", "")),
                )
            out.extend(pending)
            pending = []
    out.extend(pending)
    if out:
        bind.execute(table.insert(), out)


def upgrade() -> None:
    """Create `vitals_due` (filled from the stored evidence) and the report indexes."""
    table = op.create_table(
        "vitals_due",
        sa.Column("station_id", ID, primary_key=True),
        sa.Column("session_id", ID, primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("due_at", WHEN, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("taken_at", WHEN, nullable=True),
        sa.Column("taken_seq", sa.Integer, nullable=True),
        sa.Column("late_s", sa.Integer, nullable=True),
        sa.Column("nurse_id", ID, nullable=False),
    )
    for name, table_name, columns in _INDEXES:
        op.create_index(name, table_name, list(columns))
    _backfill(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'titrator_ship') "
            "THEN GRANT SELECT, INSERT, UPDATE, DELETE ON vitals_due TO titrator_ship; "
            "END IF; END $$"
        )


def downgrade() -> None:
    """Drop them again."""
    for name, table_name, _columns in _INDEXES:
        op.drop_index(name, table_name=table_name)
    op.drop_table("vitals_due")
