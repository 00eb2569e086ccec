"""The pre-infusion checklist: hard items, reasons for items not done, completeness."""

import pytest

from titrator.domain.checklist import (
    ITEMS,
    ChecklistIncomplete,
    ItemAnswer,
    ItemStatus,
    validate_checklist,
)


def all_confirmed() -> dict[str, ItemAnswer]:
    return {item.id: ItemAnswer(item_id=item.id, status=ItemStatus.CONFIRMED) for item in ITEMS}


def test_the_issue_items_are_all_present() -> None:
    ids = {item.id for item in ITEMS}
    assert {
        "hydration",
        "premedication",
        "iga_status",
        "renal_function",
        "emergency_kit",
        "two_identifiers",
    } <= ids


def test_a_fully_confirmed_checklist_is_accepted_in_order() -> None:
    answers = validate_checklist(all_confirmed())
    assert [a.item_id for a in answers] == [item.id for item in ITEMS]


def test_an_item_not_done_needs_a_reason() -> None:
    answers = all_confirmed()
    answers["premedication"] = ItemAnswer(
        item_id="premedication", status=ItemStatus.NOT_DONE, reason="  "
    )
    with pytest.raises(ChecklistIncomplete) as caught:
        validate_checklist(answers)
    assert caught.value.problems == {"premedication": "give the reason it was not done"}
    answers["premedication"] = ItemAnswer(
        item_id="premedication", status=ItemStatus.NOT_DONE, reason="none ordered"
    )
    assert validate_checklist(answers)


def test_identity_can_never_be_skipped() -> None:
    answers = all_confirmed()
    answers["two_identifiers"] = ItemAnswer(
        item_id="two_identifiers", status=ItemStatus.NOT_DONE, reason="busy"
    )
    with pytest.raises(ChecklistIncomplete) as caught:
        validate_checklist(answers)
    assert "two_identifiers" in caught.value.problems


def test_unanswered_and_unknown_items_are_refused() -> None:
    answers = all_confirmed()
    del answers["hydration"]
    answers["coffee"] = ItemAnswer(item_id="coffee", status=ItemStatus.CONFIRMED)
    with pytest.raises(ChecklistIncomplete) as caught:
        validate_checklist(answers)
    assert caught.value.problems == {"hydration": "not answered", "coffee": "not a checklist item"}
