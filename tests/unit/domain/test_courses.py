"""Courses: a total dose split evenly over N days, only where the label's regimen allows it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from titrator.domain.doses import GRAM_STEP, course_day_doses
from titrator.domain.plan import PlanError

from ._dose_products import plan_for

D = Decimal


@given(
    total=st.decimals(min_value=D("0.001"), max_value=D(900), places=3),
    days=st.integers(min_value=1, max_value=10),
)
def test_day_doses_of_a_course_sum_to_the_course_dose(total: Decimal, days: int) -> None:
    doses = course_day_doses(total, days)
    assert len(doses) == days
    assert sum(doses, D(0)) == total
    even = total / days
    assert all(abs(dose - even) <= GRAM_STEP for dose in doses)


@given(
    weight=st.decimals(min_value=D(2), max_value=D(300), places=1),
    days=st.sampled_from([2, 3, 4, 5]),
)
def test_every_day_of_a_course_plan_adds_up_to_the_course(weight: Decimal, days: int) -> None:
    plans = [
        plan_for(
            "privigen",
            "cidp",
            weight=str(weight),
            course={"total_g_per_kg": "2", "days": days, "day": day},
        )
        for day in range(1, days + 1)
    ]
    total = plans[0].course.total_g if plans[0].course else None
    assert total == (2 * weight).quantize(GRAM_STEP)
    assert sum((p.total_dose_g for p in plans), D(0)) == total
    for p in plans:
        assert p.course is not None
        assert p.course.given_before_g == sum(
            (q.total_dose_g for q in plans[: p.course.day - 1]), D(0)
        )


def test_day_two_of_a_five_day_cidp_loading_course() -> None:
    p = plan_for("privigen", "cidp", course={"total_g_per_kg": "2", "days": 5, "day": 2})
    assert p.course is not None
    assert (p.course.day, p.course.days) == (2, 5)
    assert p.course.total_g == 140
    assert p.course.day_dose_g == 28
    assert p.course.given_before_g == 28
    assert p.total_dose_g == 28
    assert p.total_volume_ml == 280
    assert p.dose_per_kg == D("0.4")


@pytest.mark.parametrize(
    ("indication", "total", "days", "words"),
    [
        ("cidp", "2", 6, "allows 2 g/kg over 2 to 5 days; 1 g/kg over 1 or 2 days"),
        ("itp", "2", 1, "allows 2 g/kg over 2 days"),
        ("cidp", "1.5", 3, "not a course"),
        ("pi", "0.8", 2, "prints no course"),
    ],
)
def test_a_split_the_label_does_not_allow_is_refused(
    indication: str, total: str, days: int, words: str
) -> None:
    with pytest.raises(PlanError) as caught:
        plan_for("privigen", indication, course={"total_g_per_kg": total, "days": days})
    assert caught.value.field == "course_days"
    assert words in caught.value.reason


def test_a_day_beyond_the_course_is_refused() -> None:
    with pytest.raises(PlanError) as caught:
        plan_for("privigen", "cidp", course={"total_g_per_kg": "2", "days": 5, "day": 6})
    assert caught.value.field == "course_day"


def test_a_course_and_a_dose_together_are_refused() -> None:
    with pytest.raises(PlanError) as caught:
        plan_for(
            "privigen",
            "cidp",
            dose_g_per_kg="0.4",
            course={"total_g_per_kg": "2", "days": 5},
        )
    assert caught.value.field == "course"
