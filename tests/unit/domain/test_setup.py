"""Setup validation: fields checked as typed; first-infusion and at-risk derived with reasons."""

from datetime import date
from decimal import Decimal

import pytest

from titrator.domain.setup import (
    InfusionSetup,
    RiskFactor,
    SetupInvalid,
    first_infusion_reasons,
    validate_setup,
)
from titrator.domain.site import SiteLimits
from titrator.files.library import load_library

PRODUCTS = load_library().products
TODAY = date(2026, 11, 20)
SITE = SiteLimits(site_at_risk_cap_mg_per_kg_min=Decimal(2))
GOOD = {
    "nurse_id": "RN-042",
    "patient_id_1": "MRN 123456",
    "patient_id_2": "1970-01-31",
    "weight_kg": "70",
    "height_cm": "",
    "sex": "",
    "product_id": "privigen",
    "indication_id": "pi",
    "dose_g_per_kg": "0.4",
    "lot": "P100234",
    "last_infusion": "2026-10-30",
    "last_product_id": "privigen",
    "weight_basis": "actual",
}


def setup(**changes: str) -> InfusionSetup:
    return validate_setup({**GOOD, **changes}, (), PRODUCTS, TODAY, SITE)


def test_a_regular_infusion_is_not_a_first_infusion() -> None:
    result = validate_setup(GOOD, (), PRODUCTS, TODAY, SITE)
    assert result.plan_request.first_infusion is False
    assert result.first_infusion_reasons == ()
    assert result.plan_request.weight_kg == 70
    assert result.raw["weight_kg"] == "70"


@pytest.mark.parametrize(
    ("last_infusion", "last_product", "expected"),
    [
        ("", "never", ["treatment-naive (no previous infusion)"]),
        ("2026-10-30", "gamunex-c", ["switching product (last: gamunex-c)"]),
        ("2026-09-24", "privigen", ["more than 8 weeks since the last infusion (8 weeks)"]),
        ("2026-09-25", "privigen", []),  # exactly 8 weeks: not more than 8 weeks
    ],
)
def test_first_infusion_is_derived_from_the_history(
    last_infusion: str, last_product: str, expected: list[str]
) -> None:
    result = validate_setup(
        {**GOOD, "last_infusion": last_infusion, "last_product_id": last_product},
        (),
        PRODUCTS,
        TODAY,
        SITE,
    )
    assert list(result.first_infusion_reasons) == expected
    assert result.plan_request.first_infusion is bool(expected)


def test_both_switch_and_gap_are_reported() -> None:
    reasons = first_infusion_reasons(TODAY, date(2026, 1, 1), "octagam-10", "privigen")
    assert len(reasons) == 2


def test_risk_factors_make_the_patient_at_risk() -> None:
    result = validate_setup(
        GOOD, (RiskFactor.DIABETES, RiskFactor.AGE_OVER_65), PRODUCTS, TODAY, SITE
    )
    assert result.plan_request.at_risk is True
    assert RiskFactor.DIABETES.label == "diabetes mellitus"


@pytest.mark.parametrize(
    ("field", "raw", "reason"),
    [
        ("weight_kg", "700", "must be 2 to 300 kg"),
        ("weight_kg", "70,5", "comma"),
        ("weight_kg", "", "a number is required"),
        ("dose_g_per_kg", "0..4", "more than one decimal point"),
        ("nurse_id", "", "required"),
        ("patient_id_2", "MRN 123456", "must differ from the first"),
        ("lot", "P1;DROP", "letters, digits"),
        ("product_id", "nosuch", "choose a product"),
        ("indication_id", "mmn", "choose an indication"),
        ("last_infusion", "30/10/2026", "YYYY-MM-DD"),
        ("last_infusion", "2026-02-30", "no such date"),
        ("last_infusion", "2026-12-01", "in the future"),
        ("height_cm", "18O", "not a plain decimal"),
    ],
)
def test_each_bad_field_is_named_with_its_reason_and_raw_text(
    field: str, raw: str, reason: str
) -> None:
    with pytest.raises(SetupInvalid) as caught:
        setup(**{field: raw})
    problems = [p for p in caught.value.problems if p.field == field]
    assert problems, caught.value.problems
    assert reason in problems[0].reason
    assert problems[0].raw == raw


def test_adjusted_weight_needs_height_and_sex() -> None:
    with pytest.raises(SetupInvalid) as caught:
        setup(weight_basis="adjusted")
    assert {p.field for p in caught.value.problems} == {"height_cm", "sex"}


def test_history_needs_both_date_and_product() -> None:
    with pytest.raises(SetupInvalid) as caught:
        setup(last_infusion="")
    assert caught.value.problems[0].field == "last_infusion"
    with pytest.raises(SetupInvalid) as caught:
        setup(last_product_id="never")
    assert caught.value.problems[0].field == "last_product_id"


def test_a_blank_history_is_not_taken_as_never_treated() -> None:
    with pytest.raises(SetupInvalid) as caught:
        setup(last_infusion="", last_product_id="")
    assert [p.field for p in caught.value.problems] == ["last_product_id"]
    assert "never" in caught.value.problems[0].reason
