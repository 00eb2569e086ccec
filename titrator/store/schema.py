"""The ward store's tables (SQLAlchemy Core), as the migrations build them.

Evidence: `records`, append-only. Facts: `sessions` and its children, rebuilt whole from the
evidence each time a session is shipped. Decimals are stored as their exact text (never a
binary float); times are UTC. `tests/unit/store/test_schema.py` checks that a store migrated
from empty matches these definitions.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

ID = sa.String(128)
HEX = sa.String(64)
WHEN = sa.DateTime(timezone=True)
DECIMAL_TEXT = sa.String(32)

records = sa.Table(
    "records",
    metadata,
    sa.Column("station_id", ID, primary_key=True),
    sa.Column("session_id", ID, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", ID, nullable=False),
    sa.Column("ts", sa.String(40), nullable=False),
    sa.Column("prev_hash", HEX, nullable=False),
    sa.Column("hash", HEX, nullable=False),
    sa.Column("mac", HEX, nullable=True),
    sa.Column("line", sa.LargeBinary, nullable=False),
    sa.Column("shipped_at", WHEN, nullable=False),
)
"""Evidence: one row per audit record; `line` is the record's exact bytes without the newline."""


def _key() -> list[sa.Column[str]]:
    return [
        sa.Column("station_id", ID, primary_key=True),
        sa.Column("session_id", ID, primary_key=True),
    ]


sessions = sa.Table(
    "sessions",
    metadata,
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
    sa.Column("volume_ml", DECIMAL_TEXT, nullable=True),
    sa.Column("shipped_at", WHEN, nullable=False),
    sa.Index("ix_sessions_ward_opened", "ward", "opened_at"),
    sa.Index("ix_sessions_product_lot", "product_id", "lot"),
    sa.Index("ix_sessions_training_opened", "training", "opened_at"),
)
"""Facts: one row per session (patients only as `patient_pseudonym`)."""

lots = sa.Table(
    "lots",
    metadata,
    *_key(),
    sa.Column("ordinal", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", WHEN, nullable=True),
    sa.Column("lot", ID, nullable=False),
)
"""Facts: every lot recorded, the setup lot first."""

rate_segments = sa.Table(
    "rate_segments",
    metadata,
    *_key(),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("start_at", WHEN, nullable=False),
    sa.Column("end_at", WHEN, nullable=True),
    sa.Column("rate_ml_per_h", DECIMAL_TEXT, nullable=False),
    sa.Column("step", sa.Integer, nullable=True),
    sa.Column("cause", sa.Text, nullable=False),
    sa.Column("nurse_id", ID, nullable=False),
)
"""Facts: the rate the pump should run at, piece by piece."""

vitals = sa.Table(
    "vitals",
    metadata,
    *_key(),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("field", sa.String(32), primary_key=True),
    sa.Column("at", WHEN, nullable=False),
    sa.Column("value", DECIMAL_TEXT, nullable=False),
    sa.Column("purpose", sa.String(64), nullable=False),
    sa.Column("nurse_id", ID, nullable=False),
)
"""Facts: one row per vital sign of every accepted vitals set."""

reactions = sa.Table(
    "reactions",
    metadata,
    *_key(),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
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
"""Facts: reaction episodes, with the lot in force when each began."""

overrides = sa.Table(
    "overrides",
    metadata,
    *_key(),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", WHEN, nullable=False),
    sa.Column("prompt_kind", sa.String(64), nullable=False),
    sa.Column("limit_name", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("nurse_id", ID, nullable=False),
)
"""Facts: every recorded override."""

refusals = sa.Table(
    "refusals",
    metadata,
    *_key(),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", WHEN, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("refusal", sa.Text, nullable=False),
    sa.Column("nurse_id", ID, nullable=False),
)
"""Facts: override attempts the engine refused."""

pump_commands = sa.Table(
    "pump_commands",
    metadata,
    *_key(),
    sa.Column("command_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("rate_ml_per_h", DECIMAL_TEXT, nullable=True),
    sa.Column("issued_at", WHEN, nullable=False),
    sa.Column("nurse_id", ID, nullable=False),
    sa.Column("outcome", sa.String(32), nullable=True),
    sa.Column("outcome_at", WHEN, nullable=True),
    sa.Column("reported_rate_ml_per_h", DECIMAL_TEXT, nullable=True),
    sa.Column("detail", sa.Text, nullable=False),
)
"""Facts: every pump command with its outcome."""

vitals_due = sa.Table(
    "vitals_due",
    metadata,
    *_key(),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("due_at", WHEN, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("taken_at", WHEN, nullable=True),
    sa.Column("taken_seq", sa.Integer, nullable=True),
    sa.Column("late_s", sa.Integer, nullable=True),
    sa.Column("nurse_id", ID, nullable=False),
)
"""Facts: every `vitals_due` record, with the first vitals set accepted after it (taken_at,
late_s: whole seconds from due to taken; None while none was taken) and who took it (else who
was signed in when it fell due). Added by migration 0002."""

medications = sa.Table(
    "medications",
    metadata,
    *_key(),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("recorded_at", WHEN, nullable=False),
    sa.Column("given_at", WHEN, nullable=False),
    sa.Column("drug", sa.String(120), nullable=False),
    sa.Column("dose", DECIMAL_TEXT, nullable=False),
    sa.Column("unit", sa.String(16), nullable=False),
    sa.Column("route", sa.String(16), nullable=False),
    sa.Column("given_by", sa.String(80), nullable=False),
)
"""Facts: every medicine recorded as given (`medication_given`)."""

FACT_TABLES = (
    lots,
    rate_segments,
    vitals,
    reactions,
    overrides,
    refusals,
    pump_commands,
    medications,
    vitals_due,
    sessions,
)
"""The facts tables, children before `sessions` (the order a rebuild deletes them in)."""
