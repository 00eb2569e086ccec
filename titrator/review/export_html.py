"""HTML export: one self-contained printable report (inline CSS and SVG, no network resources).

Sections: a TRAINING banner for a demo or training log (and TRAINING in the title), the integrity
result with the head hash (first, and impossible to miss when the log is damaged), the session
facts, the chart, reactions, overrides (every `override_recorded`, then every override choice the
engine refused, marked REFUSED), pump commands with outcomes, the full timeline (lines not
vouched for by the chain are marked; raw pump wire bytes are left to the CSV) and any unreadable
lines.
Every text from the log is escaped; nothing is fetched, executed or linked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from html import escape

from titrator.domain.units import plain
from titrator.review.care import cited_sources, medications_given, session_policy
from titrator.review.fmt import duration, given_remaining, ml, ml_per_h, utc, utc_time
from titrator.review.integrity import IntegrityStatus
from titrator.review.marks import TRAINING_MARK
from titrator.review.model import SessionReview
from titrator.review.svg import chart_svg

_CSS = """
body { font-family: system-ui, sans-serif; font-size: 11pt; margin: 1.5em; color: #111; }
h1 { font-size: 16pt; margin: 0 0 .3em 0; }
h2 { font-size: 13pt; border-bottom: 1px solid #999; margin-top: 1.4em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #bbb; padding: 2px 5px; text-align: left; vertical-align: top; }
th { background: #eee; }
td.num { text-align: right; white-space: nowrap; }
.banner { border: 3px solid; padding: .6em; font-weight: bold; }
.verified { border-color: #009E73; }
.unfinished { border-color: #E69F00; }
.damaged { border-color: #D55E00; background: #fde9dd; }
.training { border-color: #0072B2; background: #e3f0fa; }
.hash { font-family: monospace; word-break: break-all; }
tr.unvouched td { background: #fde9dd; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 1em; }
dt { font-weight: bold; }
@media print { body { margin: 0; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
"""


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    numeric: frozenset[int] = frozenset(),
) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{escape(c)}</td>' if i in numeric else f"<td>{escape(c)}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    if not body:
        return "<p>None recorded.</p>"
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _num(value: Decimal | None) -> str:
    return "—" if value is None else plain(value)


def _facts(review: SessionReview) -> str:
    h = review.header
    lots = ", ".join(lot for _, lot in review.lots) or "—"
    facts = [
        ("Session", review.session_id),
        ("Patient identifiers", " / ".join(i for i in (h.patient_id, h.patient_id_2) if i) or "—"),
        ("Product — indication", h.product_label),
        ("Lot(s)", lots),
        ("Nurse (setup)", h.nurse_id or "—"),
        ("Station", review.station_id or "—"),
        ("Weight, dose", f"{_num(h.weight_kg)} kg, {_num(h.dose_g_per_kg)} g/kg"),
        ("Planned volume", ml(h.total_volume_ml)),
        ("Plan maximum rate", ml_per_h(h.max_rate_ml_per_h)),
        ("Outcome", f"{review.outcome.value} ({review.outcome_detail})"),
        ("Session opened", utc(review.opened_at)),
        ("Infusion started", utc(review.infusion_started_at)),
        ("Session closed", utc(review.closed_at)),
        ("Volume given", given_remaining(review.volume_ml, h.total_volume_ml)),
        ("Time to final rate", duration(review.time_to_final_rate)),
        ("Chair time", duration(review.chair_time)),
    ]
    if h.off_label:
        facts.insert(3, ("Off-label", h.off_label))
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
    return f"<dl>{items}</dl>"


def _integrity(review: SessionReview) -> str:
    integrity = review.integrity
    status = integrity.status
    return (
        f'<div class="banner {status.value}" role="alert">'
        f"Audit log integrity: {escape(status.label.upper())}<br>{escape(integrity.banner())}"
        f'<br>Head hash: <span class="hash">{escape(integrity.head_hash or "none")}</span></div>'
    )


def _training(review: SessionReview) -> str:
    if not review.training:
        return ""
    return (
        f'<div class="banner training" role="note">{TRAINING_MARK}: a demo or training '
        "session, not a real patient (left out of folder figures unless asked). Marked by: "
        f"{escape('; '.join(review.training_marks))}</div>"
    )


def _overrides(review: SessionReview) -> str:
    rows = [
        (o.at, (utc_time(o.at), o.limit, o.prompt_kind, o.reason, o.note, o.nurse_id, "recorded"))
        for o in review.overrides
    ] + [
        (
            r.at,
            (
                utc_time(r.at),
                "—",
                "—",
                r.reason or "—",
                r.note,
                r.nurse_id,
                "REFUSED: " + r.refusal,
            ),
        )
        for r in review.refused_overrides
    ]
    rows.sort(key=lambda row: row[0])
    return _table(
        ("Time (UTC)", "What was overridden", "Prompt", "Reason", "Note", "Nurse", "Outcome"),
        (row for _, row in rows),
    )


def _timeline(review: SessionReview) -> str:
    rows = []
    for e in review.timeline:
        mark = "" if e.vouched else "✗ "
        cls = "" if e.vouched else ' class="unvouched"'
        rows.append(
            f"<tr{cls}><td>{e.line}</td><td>{e.seq}</td><td>{escape(utc_time(e.at))}</td>"
            f"<td>{escape(e.category.value)}</td><td>{escape(e.nurse_id)}</td>"
            f"<td>{escape(mark + e.summary)}</td></tr>"
        )
    head = "".join(f"<th>{h}</th>" for h in ("Line", "Seq", "Time (UTC)", "Kind", "Nurse", "What"))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _medicines(review: SessionReview) -> str:
    """Every `medication_given` record: drug, dose, route, when given, by whom, when recorded."""
    return _table(
        ("Given (UTC)", "Drug", "Dose", "Route", "Given by", "Recorded (UTC)"),
        (
            (
                utc_time(m.given_at),
                m.drug,
                f"{plain(m.dose)} {m.unit}",
                m.route,
                m.given_by,
                utc_time(m.at.wall_utc),
            )
            for m in medications_given(review)
        ),
    )


def _discharge(review: SessionReview) -> str:
    """The policy's hand-over: delayed reactions to watch for, whom to call, the sources."""
    policy = session_policy(review)
    advice = None if policy is None else policy.discharge
    if policy is None or advice is None:
        return "<p>No discharge advice in this session's policy: give the local leaflet.</p>"
    rows = _table(
        ("Watch for", "When", "Signs", "Sources"),
        ((w.name, w.when, w.watch_for, ", ".join(w.sources)) for w in advice.watch),
    )
    sources = "".join(f"<li>{escape(line)}</li>" for line in cited_sources(advice, policy))
    return (
        f"{rows}<p><strong>Whom to call:</strong> {escape(advice.call)}</p>"
        f"<p>Sources (policy file):</p><ul>{sources}</ul>"
    )


def to_html(review: SessionReview) -> str:
    """The printable report as one HTML document."""
    h = review.header
    title = f"IVIG infusion review — {h.patient_id or review.session_id} — {utc(review.started_at)}"
    if review.training:
        title = f"{TRAINING_MARK} — {title}"
    reactions = _table(
        ("Opened (UTC)", "Severity", "Rules", "Recommendation shown", "Recorded by", "Cleared"),
        (
            (
                utc_time(r.opened_at),
                r.severity_label + (", never restart" if r.never_restart else ""),
                ", ".join(r.rule_ids),
                " | ".join(r.reasons),
                r.opened_by,
                f"{utc_time(r.cleared_at)} by {r.cleared_by}: {r.cleared_reason}"
                + (f" — {r.cleared_note}" if r.cleared_note else "")
                if r.cleared_at
                else "not cleared",
            )
            for r in review.reactions
        ),
    )
    overrides = _overrides(review)
    commands = _table(
        ("#", "Issued (UTC)", "Command", "Setpoint", "Outcome", "Pump reported", "Detail"),
        (
            (
                str(c.command_id),
                utc_time(c.issued_at),
                c.kind,
                ml_per_h(c.rate_ml_per_h) if c.rate_ml_per_h is not None else "—",
                c.outcome or "no outcome recorded",
                ml_per_h(c.reported_rate_ml_per_h),
                c.detail,
            )
            for c in review.pump_commands
        ),
        numeric=frozenset({0, 3, 5}),
    )
    unreadable = ""
    if review.integrity.unreadable:
        unreadable = "<h2>Unreadable lines</h2>" + _table(
            ("Line", "Why", "Text"),
            ((str(p.line), p.reason, p.text[:300]) for p in review.integrity.unreadable),
        )
    damaged = review.integrity.status is IntegrityStatus.DAMAGED
    warning = (
        "<p><strong>This log is damaged: records marked ✗ are not vouched for by the hash "
        "chain.</strong></p>"
        if damaged
        else ""
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f"{_training(review)}{_integrity(review)}{warning}"
        f"<h2>Session</h2>{_facts(review)}"
        f"<h2>Rate and vital signs</h2>{chart_svg(review)}"
        f"<h2>Reactions</h2>{reactions}"
        f"<h2>Medicines given</h2>{_medicines(review)}"
        f"<h2>After the patient leaves</h2>{_discharge(review)}"
        f"<h2>Overrides</h2>{overrides}"
        f"<h2>Pump commands</h2>{commands}"
        f"<h2>Timeline</h2>{_timeline(review)}"
        f"{unreadable}"
        "<p>Times are UTC. Recommendations are decision support; the nurse decided.</p>"
        "</body></html>\n"
    )
