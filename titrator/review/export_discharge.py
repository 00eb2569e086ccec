"""The discharge sheet: a plain-text hand-over that prints on one A4 page.

`titrator export LOG --format discharge` writes it. Everything on it comes from the log: the
patient's two identifiers, the product and lot, how the infusion ended, the reactions and every
medicine recorded as given, then the policy's `discharge` section embedded in `session_opened`
(the delayed reactions to watch for after leaving, when they appear, whom to call) with the full
citation of every source it names. A log whose policy has no discharge section says so and
points to the local leaflet: nothing is made up.

Layout: at most 78 characters a line (long addresses are broken), so it prints on A4 in a
monospaced 10-point font with ordinary margins; a training log is marked on its first line.
"""

from __future__ import annotations

import textwrap
from typing import Final

from titrator.review.care import (
    cited_sources,
    medication_text,
    medications_given,
    session_policy,
)
from titrator.review.fmt import ml, utc, utc_time
from titrator.review.marks import TRAINING_MARK
from titrator.review.model import SessionReview

WIDTH: Final = 78
"""Characters a line: fits A4 portrait in a 10-point monospaced font."""


def _wrap(text: str, indent: str = "", first: str | None = None) -> list[str]:
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_long_words=True,
        break_on_hyphens=False,
    )


def _rule(title: str) -> list[str]:
    return ["", title.upper(), "-" * len(title)]


def to_discharge(review: SessionReview) -> str:
    """The discharge sheet as plain text (UTF-8, lines of at most 78 characters)."""
    h = review.header
    lines: list[str] = []
    heading = "IVIG INFUSION: DISCHARGE SHEET"
    if review.training:
        heading = f"{TRAINING_MARK}: NOT A REAL PATIENT. {heading}"
    lines += _wrap(heading)
    lines += _wrap(f"Patient: {h.patient_id or 'unknown'} / {h.patient_id_2 or 'unknown'}")
    lines += _wrap(f"Product: {h.product_label}; lot {h.lot or 'not recorded'}")
    lines += _wrap(
        f"Infusion: {utc(review.started_at)} to {utc(review.end_at)}; "
        f"{review.outcome.value.replace('_', ' ')}; volume given {ml(review.volume_ml)}"
    )
    lines += _wrap(f"Session: {review.session_id}; log integrity: {review.integrity.status.label}")

    lines += _rule("During the infusion")
    if not review.reactions:
        lines.append("Reactions: none recorded.")
    for r in review.reactions:
        rules = ", ".join(r.rule_ids)
        lines += _wrap(
            f"Reaction at {utc_time(r.opened_at)} UTC: {r.severity_label} ({rules}).",
            "  ",
            "- ",
        )
    meds = medications_given(review)
    if not meds:
        lines.append("Medicines given: none recorded.")
    for m in meds:
        lines += _wrap(f"Medicine given: {medication_text(m)}.", "  ", "- ")

    policy = session_policy(review)
    advice = None if policy is None else policy.discharge
    lines += _rule("After you leave, watch for")
    if policy is None or advice is None:
        lines += _wrap(
            "This session's policy has no discharge advice: give the local leaflet and tell "
            "the patient whom to call."
        )
        return "\n".join(lines) + "\n"
    for w in advice.watch:
        lines += _wrap(f"{w.name}, {w.when}: {w.watch_for}.", "  ", "* ")
    lines += _rule("Whom to call")
    lines += _wrap(advice.call)
    lines += _rule("Sources")
    lines += _wrap(f"From the reaction policy '{policy.policy_id}' version {policy.version}:")
    for line in cited_sources(advice, policy):
        lines += _wrap(line, "    ", "  ")
    lines += _wrap(
        "Decision support printed from the audit log; the prescriber's and the local "
        "protocol's advice come first."
    )
    return "\n".join(lines) + "\n"
