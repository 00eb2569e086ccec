"""The ward store from empty: evidence (append-only) and facts.

Revision ID: 0001
Revises:
Create Date: 2026-12-05

Written out in full rather than imported from `titrator.store.schema`: a migration is frozen
when it is released, the schema module moves on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None

ID = sa.String(128)
HEX = sa.String(64)
WHEN = sa.DateTime(timezone=True)
DEC = sa.String(32)


def _key() -> list[sa.Column[str]]:
    return [
        sa.Column("station_id", ID, primary_key=True),
        sa.Column("session_id", ID, primary_key=True),
    ]


def _seq() -> sa.Column[int]:
    return sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False)


_SQLITE_GUARD = """
CREATE TRIGGER records_append_only_{op} BEFORE {OP} ON records
BEGIN SELECT RAISE(ABORT, 'records are append-only: {OP} refused'); END
"""

_PG_GUARD = """
CREATE FUNCTION titrator_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'records are append-only: % refused', TG_OP;
END $$;
CREATE TRIGGER records_append_only BEFORE UPDATE OR DELETE ON records
  FOR EACH ROW EXECUTE FUNCTION titrator_records_append_only();
CREATE TRIGGER records_append_only_truncate BEFORE TRUNCATE ON records
  FOR EACH STATEMENT EXECUTE FUNCTION titrator_records_append_only();
"""


def upgrade() -> None:
    """Create every table, index and the append-only triggers."""
    op.create_table(
        "records",
        *_key(),
        _seq(),
        sa.Column("kind", ID, nullable=False),
        sa.Column("ts", sa.String(40), nullable=False),
        sa.Column("prev_hash", HEX, nullable=False),
        sa.Column("hash", HEX, nullable=False),
        sa.Column("mac", HEX, nullable=True),
        sa.Column("line", sa.LargeBinary, nullable=False),
        sa.Column("shipped_at", WHEN, nullable=False),
    )
    op.create_table(
        "sessions",
        *_key(),
        sa.Column("ward", ID, nullable=True),
        sa.Column("patient_pseudonym", HEX, nullable=True),
        sa.Column("nurse_id", ID, nullable=True),
        sa.Column("product_id", ID, nullable=True),
        sa.Column("product_name", sa.Text, nullable=True),
        sa.Column("indication_id", ID, nullable=True),
        sa.Column("indication_name", sa.Text, nullable=True),
        sa.Column("lot", ID, nullable=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("outcome_detail", sa.Text, nullable=False),
        sa.Column("integrity", sa.String(16), nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("head_seq", sa.Integer, nullable=False),
        sa.Column("head_hash", HEX, nullable=False),
        sa.Column("policy_sha256", HEX, nullable=True),
        sa.Column("library_sha256", HEX, nullable=True),
        sa.Column("software_version", sa.String(64), nullable=True),
        sa.Column("training", sa.Boolean, nullable=False),
        sa.Column("opened_at", WHEN, nullable=True),
        sa.Column("started_at", WHEN, nullable=True),
        sa.Column("closed_at", WHEN, nullable=True),
        sa.Column("volume_ml", DEC, nullable=True),
        sa.Column("shipped_at", WHEN, nullable=False),
    )
    op.create_index("ix_sessions_ward_opened", "sessions", ["ward", "opened_at"])
    op.create_index("ix_sessions_product_lot", "sessions", ["product_id", "lot"])
    op.create_table(
        "lots",
        *_key(),
        sa.Column("ordinal", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", WHEN, nullable=True),
        sa.Column("lot", ID, nullable=False),
    )
    op.create_table(
        "rate_segments",
        *_key(),
        _seq(),
        sa.Column("start_at", WHEN, nullable=False),
        sa.Column("end_at", WHEN, nullable=True),
        sa.Column("rate_ml_per_h", DEC, nullable=False),
        sa.Column("step", sa.Integer, nullable=True),
        sa.Column("cause", sa.Text, nullable=False),
        sa.Column("nurse_id", ID, nullable=False),
    )
    op.create_table(
        "vitals",
        *_key(),
        _seq(),
        sa.Column("field", sa.String(32), primary_key=True),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("value", DEC, nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("nurse_id", ID, nullable=False),
    )
    op.create_table(
        "reactions",
        *_key(),
        _seq(),
        sa.Column("opened_at", WHEN, nullable=False),
        sa.Column("severity", sa.String(16), nullable=True),
        sa.Column("rule_ids", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("never_restart", sa.Boolean, nullable=False),
        sa.Column("opened_by", ID, nullable=False),
        sa.Column("lot", ID, nullable=True),
        sa.Column("cleared_at", WHEN, nullable=True),
        sa.Column("cleared_reason", sa.Text, nullable=True),
        sa.Column("cleared_by", ID, nullable=True),
    )
    op.create_table(
        "overrides",
        *_key(),
        _seq(),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("prompt_kind", sa.String(64), nullable=False),
        sa.Column("limit_name", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("nurse_id", ID, nullable=False),
    )
    op.create_table(
        "refusals",
        *_key(),
        _seq(),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("refusal", sa.Text, nullable=False),
        sa.Column("nurse_id", ID, nullable=False),
    )
    op.create_table(
        "pump_commands",
        *_key(),
        sa.Column("command_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("rate_ml_per_h", DEC, nullable=True),
        sa.Column("issued_at", WHEN, nullable=False),
        sa.Column("nurse_id", ID, nullable=False),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("outcome_at", WHEN, nullable=True),
        sa.Column("reported_rate_ml_per_h", DEC, nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_table(
        "medications",
        *_key(),
        _seq(),
        sa.Column("recorded_at", WHEN, nullable=False),
        sa.Column("given_at", WHEN, nullable=False),
        sa.Column("drug", sa.String(120), nullable=False),
        sa.Column("dose", DEC, nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("route", sa.String(16), nullable=False),
        sa.Column("given_by", sa.String(80), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_GUARD)
    else:
        for name in ("update", "delete"):
            op.execute(_SQLITE_GUARD.format(op=name, OP=name.upper()))


def downgrade() -> None:
    """Not supported: the evidence is never dropped by a migration."""
    raise NotImplementedError("the ward store is never downgraded (it holds evidence)")
