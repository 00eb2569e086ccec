"""What a review shows of the care around the infusion: medicines given and the discharge advice.

Both come from the log itself: each `medication_given` record, and the policy embedded in
`session_opened` (its `discharge` section: the delayed reactions to watch for and whom to call,
each with its sources). A log without them shows that nothing was recorded, never a default.
"""

from __future__ import annotations

from titrator.domain import events as ev
from titrator.domain.policy import Discharge, Policy
from titrator.domain.units import plain
from titrator.review.fmt import utc_time
from titrator.review.model import SessionReview


def medications_given(review: SessionReview) -> tuple[ev.MedicationGiven, ...]:
    """Every medicine recorded as given, in log order."""
    return tuple(event for _, event in review.events(ev.MedicationGiven))


def medication_text(e: ev.MedicationGiven) -> str:
    """'adrenaline 0.5 mg IM at 10:25 UTC by RN Okafor'."""
    return (
        f"{e.drug} {plain(e.dose)} {e.unit} {e.route} at {utc_time(e.given_at)} UTC by {e.given_by}"
    )


def session_policy(review: SessionReview) -> Policy | None:
    """The policy the session ran under (None when `session_opened` is missing or unreadable)."""
    for _, opened in review.events(ev.SessionOpened):
        return opened.policy
    return None


def discharge_advice(review: SessionReview) -> Discharge | None:
    """The policy's discharge hand-over for this session, if its policy has one."""
    policy = session_policy(review)
    return None if policy is None else policy.discharge


def discharge_lines(discharge: Discharge) -> list[str]:
    """The hand-over as plain lines: each reaction, when, what to watch for, its sources."""
    lines: list[str] = []
    for item in discharge.watch:
        lines.append(f"{item.name} ({item.when}): {item.watch_for}. [{', '.join(item.sources)}]")
    lines.append(f"Whom to call: {discharge.call}")
    return lines


def cited_sources(discharge: Discharge, policy: Policy) -> list[str]:
    """'TAG: citation' for every source the hand-over cites, in first-cited order."""
    tags: list[str] = []
    for tag in (*(t for w in discharge.watch for t in w.sources), *discharge.sources):
        if tag not in tags:
            tags.append(tag)
    return [f"{tag}: {policy.sources.get(tag, 'not in the policy file')}" for tag in tags]
