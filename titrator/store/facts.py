"""The facts of one session, as rows: derived from the review model the review app uses.

`session_facts` turns a `SessionReview` (`titrator.review.model.build_review`) into one row per
fact table. Nothing is computed here that the review does not already say, except two joins
the reports need: the lot in force when each reaction began, and the patient pseudonym
(`titrator.store.pseudonym`; the identifiers themselves are never stored).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from titrator.domain import events as ev
from titrator.review.model import SessionReview
from titrator.store.pseudonym import pseudonym

Row = dict[str, Any]


def _utc(when: datetime | None) -> datetime | None:
    return when.astimezone(UTC) if when is not None else None


def _dec(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def _lot_at(lots: tuple[tuple[datetime | None, str], ...], when: datetime) -> str | None:
    """The lot in force at `when`: the last one recorded at or before it (setup lot first)."""
    current: str | None = None
    for at, lot in lots:
        if at is None or at <= when:
            current = lot
    return current


def _opened(review: SessionReview) -> ev.SessionOpened | None:
    return next((event for _, event in review.events(ev.SessionOpened)), None)


def _software_version(review: SessionReview) -> str | None:
    for entry in review.timeline:
        if entry.kind == "log_opened":
            version = entry.payload.get("software_version")
            return str(version) if version is not None else None
    return None


def _vitals_due(review: SessionReview, key: Row) -> list[Row]:
    """Each `vitals_due` record with the first vitals set accepted after it (who took it)."""
    rows: list[Row] = []
    pending: list[Row] = []
    for entry, event in review.events(ev.VitalsDue, ev.VitalsAccepted):
        if isinstance(event, ev.VitalsDue):
            pending.append(
                {
                    **key,
                    "seq": entry.seq,
                    "due_at": _utc(event.at.wall_utc),
                    "reason": event.reason,
                    "taken_at": None,
                    "taken_seq": None,
                    "late_s": None,
                    "nurse_id": entry.nurse_id,
                }
            )
        elif pending:
            taken = event.at.wall_utc
            for due in pending:
                late = int((taken - due["due_at"]).total_seconds())
                due.update(
                    taken_at=_utc(taken),
                    taken_seq=entry.seq,
                    late_s=max(0, late),
                    nurse_id=entry.nurse_id,
                )
            rows.extend(pending)
            pending = []
    return rows + pending


def session_facts(
    review: SessionReview,
    *,
    station_id: str,
    ward: str | None,
    site_key: bytes | None,
    head_seq: int,
    head_hash: str,
    shipped_at: datetime,
) -> dict[str, list[Row]]:
    """Every fact row of one session, by table name.

    Args:
        review: the session's review, built from exactly the stored records.
        station_id: the station the evidence is keyed by.
        ward: the shipping workstation's ward, if configured.
        site_key: the site key for the patient pseudonym (None: no pseudonym is stored).
        head_seq: seq of the last stored record.
        head_hash: its hash.
        shipped_at: when (UTC).

    Returns:
        `{table name: rows}` for `titrator.store.schema.FACT_TABLES` (medicines given included).
    """
    key = {"station_id": station_id, "session_id": review.session_id}
    header = review.header
    opened = _opened(review)
    patient = header.patient_id
    session: Row = {
        **key,
        "ward": ward,
        "patient_pseudonym": pseudonym(site_key, patient) if site_key and patient else None,
        "nurse_id": header.nurse_id,
        "product_id": header.product_id,
        "product_name": header.product_name,
        "indication_id": header.indication_id,
        "indication_name": header.indication_name,
        "lot": header.lot,
        "outcome": review.outcome.value,
        "outcome_detail": review.outcome_detail,
        "integrity": review.integrity.status.value,
        "records": head_seq + 1,
        "head_seq": head_seq,
        "head_hash": head_hash,
        "policy_sha256": opened.policy_sha256 or None if opened else None,
        "library_sha256": opened.library_sha256 or None if opened else None,
        "software_version": _software_version(review),
        "training": review.training,
        "opened_at": _utc(review.opened_at),
        "started_at": _utc(review.infusion_started_at),
        "closed_at": _utc(review.closed_at),
        "volume_ml": _dec(review.volume_ml),
        "shipped_at": shipped_at,
    }
    rows: dict[str, list[Row]] = {"sessions": [session]}
    rows["lots"] = [
        {**key, "ordinal": n, "at": _utc(at), "lot": lot} for n, (at, lot) in enumerate(review.lots)
    ]
    rows["rate_segments"] = [
        {
            **key,
            "seq": s.seq,
            "start_at": _utc(s.start),
            "end_at": _utc(s.end),
            "rate_ml_per_h": str(s.rate_ml_per_h),
            "step": s.step,
            "cause": s.cause,
            "nurse_id": s.nurse_id,
        }
        for s in review.rate_segments
    ]
    rows["vitals"] = [
        {
            **key,
            "seq": p.seq,
            "field": field.value,
            "at": _utc(p.at),
            "value": str(value),
            "purpose": p.purpose,
            "nurse_id": p.nurse_id,
        }
        for p in review.vitals
        for field, value in p.values.items()
    ]
    rows["reactions"] = [
        {
            **key,
            "seq": r.seq,
            "opened_at": _utc(r.opened_at),
            "severity": r.severity.value if r.severity is not None else None,
            "rule_ids": " ".join(r.rule_ids),
            "action": r.action,
            "never_restart": r.never_restart,
            "opened_by": r.opened_by,
            "lot": _lot_at(review.lots, r.opened_at),
            "cleared_at": _utc(r.cleared_at),
            "cleared_reason": r.cleared_reason,
            "cleared_by": r.cleared_by,
        }
        for r in review.reactions
    ]
    rows["overrides"] = [
        {
            **key,
            "seq": o.seq,
            "at": _utc(o.at),
            "prompt_kind": o.prompt_kind,
            "limit_name": o.limit,
            "reason": o.reason,
            "note": o.note,
            "nurse_id": o.nurse_id,
        }
        for o in review.overrides
    ]
    rows["refusals"] = [
        {
            **key,
            "seq": o.seq,
            "at": _utc(o.at),
            "reason": o.reason,
            "note": o.note,
            "refusal": o.refusal,
            "nurse_id": o.nurse_id,
        }
        for o in review.refused_overrides
    ]
    rows["pump_commands"] = [
        {
            **key,
            "command_id": c.command_id,
            "seq": c.seq,
            "kind": c.kind,
            "rate_ml_per_h": _dec(c.rate_ml_per_h),
            "issued_at": _utc(c.issued_at),
            "nurse_id": c.nurse_id,
            "outcome": c.outcome,
            "outcome_at": _utc(c.outcome_at),
            "reported_rate_ml_per_h": _dec(c.reported_rate_ml_per_h),
            "detail": c.detail,
        }
        for c in review.pump_commands
    ]
    rows["medications"] = [
        {
            **key,
            "seq": entry.seq,
            "recorded_at": _utc(event.at.wall_utc),
            "given_at": _utc(event.given_at),
            "drug": event.drug,
            "dose": str(event.dose),
            "unit": event.unit,
            "route": event.route,
            "given_by": event.given_by,
        }
        for entry, event in review.events(ev.MedicationGiven)
    ]
    rows["vitals_due"] = _vitals_due(review, key)
    return rows
