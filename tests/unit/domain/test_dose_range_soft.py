"""The label's usual dose range is a soft limit (a reason); the site's maximum stays hard."""

from __future__ import annotations

from decimal import Decimal

import pytest

from titrator.domain.plan import PlanError

from ._dose_products import plan_for

D = Decimal
REASON = "trough IgG below 5 g/L on 0.6 g/kg (immunologist's order)"


def test_a_pi_dose_of_0_8_above_the_gamunex_c_range_needs_a_reason() -> None:
    # Gamunex-C's PI range is 0.3 to 0.6 g/kg; the label says to adjust to trough levels.
    with pytest.raises(PlanError) as caught:
        plan_for("gamunex-c", "pi", dose_g_per_kg="0.8")
    assert caught.value.field == "dose_g_per_kg"
    assert "above the label's usual range of 0.3 to 0.6 g/kg" in caught.value.reason
    assert "needs a reason" in caught.value.reason


def test_with_a_reason_the_dose_is_planned_shown_and_recorded() -> None:
    p = plan_for("gamunex-c", "pi", dose_g_per_kg="0.8", outside_label_reason=REASON)
    assert p.total_dose_g == 56
    assert p.outside_label is not None
    assert "0.8 g/kg is above the label's usual range" in p.outside_label
    assert REASON in p.outside_label
    assert any(REASON in note for note in p.notes)
    assert p.request.outside_label_reason == REASON  # recorded with the request


def test_the_site_maximum_is_hard_even_with_a_reason() -> None:
    with pytest.raises(PlanError) as caught:
        plan_for(
            "gamunex-c",
            "pi",
            dose_g_per_kg="1.5",
            outside_label_reason=REASON,
            site_max_dose_g_per_kg="1",
        )
    assert caught.value.field == "dose_g_per_kg"
    assert "site's maximum for one infusion (1 g/kg)" in caught.value.reason
    assert "cannot be overridden" in caught.value.reason


def test_above_the_absolute_ceiling_is_refused_without_a_site_maximum() -> None:
    with pytest.raises(PlanError) as caught:
        plan_for("gamunex-c", "pi", dose_g_per_kg="3.5", outside_label_reason=REASON)
    assert "cannot be overridden" in caught.value.reason


def test_a_gram_dose_above_the_range_names_the_gram_field() -> None:
    with pytest.raises(PlanError) as caught:
        plan_for("gamunex-c", "pi", dose_g="56")
    assert caught.value.field == "dose_g"


def test_a_reason_for_a_dose_inside_the_range_is_refused() -> None:
    with pytest.raises(PlanError) as caught:
        plan_for("gamunex-c", "pi", dose_g_per_kg="0.4", outside_label_reason=REASON)
    assert caught.value.field == "outside_label_reason"


@pytest.mark.parametrize("reason", ["", "   ", "two\nlines", "x" * 201])
def test_a_reason_must_be_one_line_of_text(reason: str) -> None:
    with pytest.raises(PlanError) as caught:
        plan_for("gamunex-c", "pi", dose_g_per_kg="0.8", outside_label_reason=reason)
    assert caught.value.field == "outside_label_reason"


def test_below_the_range_is_planned_with_a_note_or_recorded_with_a_reason() -> None:
    p = plan_for("gamunex-c", "pi", dose_g_per_kg="0.2")
    assert p.outside_label is None
    assert any("below the usual 0.3 g/kg" in note for note in p.notes)
    q = plan_for("gamunex-c", "pi", dose_g_per_kg="0.2", outside_label_reason=REASON)
    assert q.outside_label is not None
    assert "below" in q.outside_label
