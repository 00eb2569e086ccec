"""Age: the label's age limits per product and indication are enforced, with the reason."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from titrator.domain.library import Product, semantic_problems
from titrator.domain.plan import PlanError
from titrator.files.library import protocols_dir, read_toml

from ._dose_products import plan_for, shipped

WITH_AGES = sorted(
    (path.stem, indication)
    for path in (protocols_dir() / "products").glob("*.toml")
    for indication, ind in shipped(path.stem).indications.items()
    if ind.age is not None
)


def test_the_products_with_label_ages() -> None:
    assert ("asceniv", "pi") in WITH_AGES
    assert len(WITH_AGES) >= 3


@given(pair=st.sampled_from(WITH_AGES), age=st.integers(min_value=0, max_value=120))
def test_an_age_outside_the_labels_limits_is_always_refused(
    pair: tuple[str, str], age: int
) -> None:
    product_id, indication = pair
    limit = shipped(product_id).indications[indication].age
    assert limit is not None
    inside = (limit.min_years is None or age >= limit.min_years) and (
        limit.max_years is None or age <= limit.max_years
    )
    dose = shipped(product_id).indications[indication].dose.min_g_per_kg
    if inside:
        p = plan_for(product_id, indication, dose_g_per_kg=dose, age_years=age)
        assert p.age_text is not None
        assert p.age_text.startswith(f"{age} years")
    else:
        with pytest.raises(PlanError) as caught:
            plan_for(product_id, indication, dose_g_per_kg=dose, age_years=age)
        assert caught.value.field == "age_years"
        assert "outside the label's ages" in caught.value.reason


def test_asceniv_is_for_12_years_and_over_and_says_why() -> None:
    with pytest.raises(PlanError) as caught:
        plan_for("asceniv", "pi", dose_g_per_kg="0.4", age_years=11)
    assert "11 years is outside the label's ages" in caught.value.reason
    assert "12 years and over" in caught.value.reason
    assert "12 to 17 years of age" in caught.value.reason  # the label's words
    p = plan_for("asceniv", "pi", dose_g_per_kg="0.4", age_years=12)
    assert p.age_text == "12 years (label: 12 years and over)"


def test_an_age_for_an_indication_without_label_ages_is_refused_clearly() -> None:
    assert shipped("flebogamma-10-dif").indications["itp"].age is None
    with pytest.raises(PlanError) as caught:
        plan_for("flebogamma-10-dif", "itp", dose_g_per_kg="1", age_years=40)
    assert caught.value.field == "age_years"
    assert "carries no label age limits" in caught.value.reason


def test_no_age_given_is_planned_and_says_so() -> None:
    p = plan_for("asceniv", "pi", dose_g_per_kg="0.4")
    assert p.age_text is None


def test_a_product_file_with_reversed_ages_or_a_repeated_course_is_invalid() -> None:
    data = read_toml(protocols_dir() / "products" / "privigen.toml")
    data["indications"]["pi"]["age"] = {
        "min_years": 18,
        "max_years": 2,
        "source": "site",
        "text": "x",
    }
    data["indications"]["pi"]["courses"] = [
        {"total_g_per_kg": 2, "days": [2, 2], "source": "site", "text": "x"}
    ]
    paths = [problem.path for problem in semantic_problems(Product.model_validate(data))]
    assert "indications.pi.age.min_years" in paths
    assert "indications.pi.courses[0].days" in paths
