"""The pre-infusion checklist: each item confirmed, or marked not done with a reason.

Items and their sources come from the project's reaction and checklist research (order and
consent, two identifiers, hydration, premedication, IgA status, renal function, emergency
readiness). Identity is a hard item: it cannot be skipped. Any other item may be marked not done,
but only with a reason, which is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, Field


class ItemStatus(StrEnum):
    """How the nurse answered one item."""

    CONFIRMED = "confirmed"
    NOT_DONE = "not_done"


class ChecklistItem(BaseModel):
    """One pre-infusion check."""

    model_config = ConfigDict(frozen=True)

    id: str
    label: str
    """Short text for the screen."""
    detail: str
    """What to check, in one or two sentences."""
    hard: bool = False
    """A hard item must be confirmed; it cannot be marked not done."""


ITEMS: Final = (
    ChecklistItem(
        id="order",
        label="Order matches product, dose and rate",
        detail="Indication documented; product, dose, rate and duration prescribed; reaction "
        "instructions in place; consent recorded.",
    ),
    ChecklistItem(
        id="two_identifiers",
        label="Two patient identifiers checked",
        detail="Two identifiers checked against the order and the product label.",
        hard=True,
    ),
    ChecklistItem(
        id="hydration",
        label="Hydration adequate",
        detail="Ensure adequate hydration before the infusion; patients with renal insufficiency "
        "must not be volume-depleted.",
    ),
    ChecklistItem(
        id="premedication",
        label="Premedication given as ordered",
        detail="Premedication given per the order (drug, dose, time), or none ordered.",
    ),
    ChecklistItem(
        id="iga_status",
        label="IgA status known",
        detail="IgA deficiency with anti-IgA antibodies raises the risk of severe "
        "hypersensitivity; check the record.",
    ),
    ChecklistItem(
        id="renal_function",
        label="Renal function checked",
        detail="BUN and serum creatinine before therapy; note renal risk factors.",
    ),
    ChecklistItem(
        id="emergency_kit",
        label="Emergency kit at hand",
        detail="Epinephrine, antihistamine, hydrocortisone, bronchodilator and resuscitation "
        "equipment present.",
    ),
    ChecklistItem(
        id="iv_access",
        label="IV access and separate line",
        detail="Patent access; a separate line, no other drugs mixed; product at room temperature.",
    ),
)
"""The checklist, in the order shown."""

ITEMS_BY_ID: Final = {item.id: item for item in ITEMS}


class ItemAnswer(BaseModel):
    """The nurse's answer to one item."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: str
    status: ItemStatus
    reason: str = Field(default="", max_length=200)
    """Why it was not done (required when not done)."""


class ChecklistIncomplete(ValueError):
    """The checklist cannot be accepted; `problems` maps item id to the reason."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = dict(problems)


def validate_checklist(answers: Mapping[str, ItemAnswer]) -> tuple[ItemAnswer, ...]:
    """Check that every item is answered acceptably; return the answers in checklist order.

    Raises:
        ChecklistIncomplete: for unanswered items, hard items not confirmed, and items marked
            not done without a reason.
    """
    problems: dict[str, str] = {}
    for item in ITEMS:
        answer = answers.get(item.id)
        if answer is None:
            problems[item.id] = "not answered"
        elif answer.status is ItemStatus.NOT_DONE and item.hard:
            problems[item.id] = "must be confirmed before any infusion"
        elif answer.status is ItemStatus.NOT_DONE and not answer.reason.strip():
            problems[item.id] = "give the reason it was not done"
    unknown = set(answers) - set(ITEMS_BY_ID)
    for item_id in sorted(unknown):
        problems[item_id] = "not a checklist item"
    if problems:
        raise ChecklistIncomplete(problems)
    return tuple(answers[item.id] for item in ITEMS)


def all_confirmed() -> tuple[ItemAnswer, ...]:
    """Every item confirmed: what a headless run (simulate, training scripts) records."""
    return tuple(ItemAnswer(item_id=item.id, status=ItemStatus.CONFIRMED) for item in ITEMS)
