"""The plan: golden ramps, caps, first infusions, weights, refusals, and properties."""

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from titrator.domain.library import Product
from titrator.domain.plan import PlanError, build_plan, ideal_body_weight_kg
from titrator.domain.plan_model import CapKind, Plan, PlanRequest, Sex, WeightBasis
from titrator.files.library import load_library

D = Decimal
LIBRARY = load_library()


def plan(
    product_id: str, indication: str, weight: str = "70", dose: str = "0.4", **extra: Any
) -> Plan:
    request = PlanRequest.model_validate(
        {
            "product_id": product_id,
            "indication_id": indication,
            "weight_kg": D(weight),
            "dose_g_per_kg": D(dose),
            **extra,
        }
    )
    return build_plan(request, LIBRARY.product(product_id))


def rates(p: Plan) -> list[Decimal]:
    return [s.rate_ml_per_h for s in p.steps]


def test_privigen_pi_70_kg_golden_plan() -> None:
    p = plan("privigen", "pi")
    assert rates(p) == [21, 42, 84, 168, 252]
    assert [s.start_min for s in p.steps] == [0, 30, 60, 90, 120]
    assert p.total_volume_ml == 280
    assert p.total_dose_g == 28
    assert sum(s.volume_ml for s in p.steps) == 280
    assert p.steps[-1].volume_ml == D("122.5")
    assert p.max_rate_ml_per_h == 336
    assert p.binding_cap.kind is CapKind.LABEL_MAX


def test_octagam_10_itp_label_ladder_doubles_every_30_minutes() -> None:
    p = plan("octagam-10", "itp", dose="1")
    assert rates(p) == [42, 84, 168, 336, 504]
    assert [s.rate_mg_per_kg_min for s in p.steps] == [1, 2, 4, 8, 12]
    assert [s.min_dwell_min for s in p.steps] == [30] * 5
    assert p.ladder_source == "label"


def test_bivigam_adds_0_8_mg_per_kg_min_every_20_minutes_after_10() -> None:
    p = plan("bivigam", "pi", dose="0.8", weight="100")
    assert [s.rate_mg_per_kg_min for s in p.steps] == [
        D(x) for x in ("0.5", "1.3", "2.1", "2.9", "3.7", "4.5", "5.3", "6")
    ]
    assert [s.min_dwell_min for s in p.steps] == [10] + [20] * 7
    assert [s.start_min for s in p.steps][:3] == [0, 10, 30]


def test_gammagard_starts_at_0_5_ml_per_kg_h_and_caps_at_8_mg_per_kg_min() -> None:
    p = plan("gammagard-liquid", "pi", dose="0.6", weight="100")
    assert p.steps[0].rate_ml_per_h == 50  # 0.5 mL/kg/h x 100 kg
    assert p.max_rate_ml_per_h == 480  # 8 mg/kg/min, not 5 mL/kg/h (500 mL/h)
    assert max(rates(p)) <= 480


def test_a_5_percent_product_runs_twice_the_volume_rate() -> None:
    assert plan("octagam-5", "pi").steps[0].rate_ml_per_h == 42
    assert plan("privigen", "pi").steps[0].rate_ml_per_h == 21


def test_at_risk_uses_the_label_cap_where_printed_conservative_unit() -> None:
    p = plan("octagam-10", "itp", dose="1", at_risk=True)
    assert p.binding_cap.kind is CapKind.LABEL_AT_RISK
    assert p.max_rate_ml_per_h == 126  # 3.0 mg/kg/min (0.03 mL/kg/min) at 70 kg
    assert rates(p) == [42, 84, 126]
    assert p.steps[-1].capped_by is CapKind.LABEL_AT_RISK


def test_at_risk_uses_the_site_cap_where_the_label_prints_none() -> None:
    p = plan("privigen", "pi", at_risk=True, site_at_risk_cap_mg_per_kg_min=D(2))
    assert p.binding_cap.kind is CapKind.SITE_AT_RISK
    assert rates(p) == [21, 42, 84]


def test_at_risk_without_any_numeric_cap_is_refused() -> None:
    with pytest.raises(PlanError) as caught:
        plan("privigen", "pi", at_risk=True)
    assert caught.value.field == "at_risk"


def test_a_cap_below_the_initial_rate_is_refused_not_silently_lowered() -> None:
    with pytest.raises(PlanError) as caught:
        plan("gamunex-c", "cidp", at_risk=True, site_at_risk_cap_mg_per_kg_min=D(1))
    assert caught.value.field == "site_at_risk"


def test_first_infusion_steps_are_longer_and_the_maximum_lower() -> None:
    later = plan("panzyga", "pi", dose="0.6")
    first = plan("panzyga", "pi", dose="0.6", first_infusion=True)
    assert later.max_rate_ml_per_h == 588  # 14 mg/kg/min
    assert first.max_rate_ml_per_h == 84  # site first-infusion maximum, 2 mg/kg/min
    assert first.binding_cap.kind is CapKind.FIRST_INFUSION
    asceniv_later = plan("asceniv", "pi")
    asceniv_first = plan("asceniv", "pi", first_infusion=True)
    assert [s.min_dwell_min for s in asceniv_later.steps] == [15] * len(asceniv_later.steps)
    assert [s.min_dwell_min for s in asceniv_first.steps] == [30] * len(asceniv_first.steps)
    assert asceniv_first.estimated_duration_min > asceniv_later.estimated_duration_min


def test_site_and_pump_maxima_cap_the_plan() -> None:
    p = plan("privigen", "pi", dose="0.8", site_max_rate_ml_per_h=D(240))
    assert p.max_rate_ml_per_h == 240
    assert rates(p)[-1] == 240
    q = plan("privigen", "pi", dose="0.8", pump_max_rate_ml_per_h=D(100))
    assert rates(q) == [21, 42, 84, 100]


def test_a_small_dose_finishes_before_the_top_of_the_ladder() -> None:
    p = plan("privigen", "pi", weight="2", dose="0.2")
    assert sum(s.volume_ml for s in p.steps) == p.total_volume_ml == 4
    assert len(p.steps) < 6


def test_adjusted_body_weight() -> None:
    ibw = ideal_body_weight_kg(D(180), Sex.MALE)
    assert ibw.quantize(D("0.1")) == D("75.0")
    p = plan(
        "privigen",
        "pi",
        weight="120",
        weight_basis=WeightBasis.ADJUSTED,
        height_cm=D(180),
        sex=Sex.MALE,
    )
    assert p.dosing_weight_kg == D("93.0")  # 74.99 + 0.4 x (120 - 74.99), to 0.1 kg
    lean = plan(
        "privigen",
        "pi",
        weight="60",
        weight_basis=WeightBasis.ADJUSTED,
        height_cm=D(180),
        sex=Sex.MALE,
    )
    assert lean.dosing_weight_kg == 60


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"weight_basis": WeightBasis.ADJUSTED, "sex": Sex.MALE}, "height_cm"),
        ({"weight_basis": WeightBasis.ADJUSTED, "height_cm": D(180)}, "sex"),
        ({"weight_basis": WeightBasis.ADJUSTED, "height_cm": D(140), "sex": Sex.MALE}, "height_cm"),
        ({"weight_basis": WeightBasis.ADJUSTED, "height_cm": D(300), "sex": Sex.MALE}, "height_cm"),
    ],
)
def test_adjusted_weight_needs_a_usable_height_and_sex(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(PlanError) as caught:
        plan("privigen", "pi", **extra)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("weight", "dose", "field"),
    [
        ("1.9", "0.4", "weight_kg"),
        ("0", "0.4", "weight_kg"),
        ("300.1", "0.4", "weight_kg"),
        ("700", "0.4", "weight_kg"),
        ("70", "0", "dose_g_per_kg"),
        ("70", "0.81", "dose_g_per_kg"),
    ],
)
def test_out_of_range_weight_and_dose_are_refused(weight: str, dose: str, field: str) -> None:
    with pytest.raises(PlanError) as caught:
        plan("privigen", "pi", weight=weight, dose=dose)
    assert caught.value.field == field


@pytest.mark.parametrize("weight", ["2", "300"])
def test_weight_limits_are_inclusive(weight: str) -> None:
    assert plan("privigen", "pi", weight=weight).steps


def test_an_unknown_indication_is_refused() -> None:
    with pytest.raises(PlanError) as caught:
        plan("privigen", "mmn")
    assert caught.value.field == "indication_id"
    assert "pi, itp, cidp" in caught.value.reason


def test_a_dose_below_the_usual_range_is_planned_with_a_note() -> None:
    p = plan("privigen", "pi", dose="0.1")
    assert any("below the usual" in note for note in p.notes)


# --- properties -------------------------------------------------------------------------------

PAIRS = [(pid, ind) for pid, p in sorted(LIBRARY.products.items()) for ind in p.indications]


@st.composite
def requests(draw: st.DrawFn) -> tuple[PlanRequest, Product]:
    product_id, indication = draw(st.sampled_from(PAIRS))
    product = LIBRARY.product(product_id)
    max_dose = product.indications[indication].dose.max_g_per_kg
    dose = draw(st.decimals(min_value=D("0.01"), max_value=max_dose, places=2))
    request = PlanRequest(
        product_id=product_id,
        indication_id=indication,
        weight_kg=draw(st.decimals(min_value=D(2), max_value=D(300), places=1)),
        dose_g_per_kg=dose,
        first_infusion=draw(st.booleans()),
        at_risk=draw(st.booleans()),
        site_at_risk_cap_mg_per_kg_min=draw(
            st.decimals(min_value=D("0.5"), max_value=D(8), places=1)
        ),
        site_max_rate_ml_per_h=draw(
            st.none() | st.decimals(min_value=D(50), max_value=D(600), places=0)
        ),
        pump_resolution_ml_per_h=draw(st.sampled_from([D("0.1"), D("0.01"), D(1)])),
    )
    return request, product


def _outcome(request: PlanRequest, product: Product) -> Plan | str:
    try:
        return build_plan(request, product)
    except PlanError as error:
        return str(error)


@given(requests())
def test_plan_invariants(case: tuple[PlanRequest, Product]) -> None:
    request, product = case
    p = _outcome(request, product)
    if isinstance(p, str):
        # The only refusals for in-range inputs: a cap below the initial rate, or an initial
        # rate that rounds down to nothing on a coarse pump.
        assert p.split(":")[0] in {"site_at_risk", "site_max", "pump_resolution_ml_per_h"}
        return
    conc = product.concentration
    ind = product.indications[request.indication_id]
    first_start = ind.first_infusion.initial_rate if request.first_infusion else None
    start = first_start or ind.initial_rate
    initial = start.weight_rate().ml_per_h(p.dosing_weight_kg, conc)
    # The first step is the label's initial rate (rounded down to the pump resolution); a first
    # infusion starts at its own initial rate where the label prints one.
    assert p.steps[0].rate_ml_per_h <= initial
    assert initial - p.steps[0].rate_ml_per_h < request.pump_resolution_ml_per_h
    # No step exceeds the lowest applicable cap.
    lowest = min(Fraction(c.rate_ml_per_h) for c in p.caps)
    assert all(Fraction(s.rate_ml_per_h) <= lowest for s in p.steps)
    assert p.max_rate_ml_per_h <= lowest
    # Rates never decrease (they strictly increase: equal rungs collapse into one step).
    assert all(
        a.rate_ml_per_h < b.rate_ml_per_h for a, b in zip(p.steps, p.steps[1:], strict=False)
    )
    # Step volumes sum to the dose volume exactly; times are contiguous.
    assert sum(s.volume_ml for s in p.steps) == p.total_volume_ml
    assert all(s.volume_ml > 0 and s.duration_min > 0 for s in p.steps)
    for a, b in zip(p.steps, p.steps[1:], strict=False):
        assert b.start_min == a.start_min + a.duration_min
    assert p.estimated_duration_min == sum(s.duration_min for s in p.steps)


@given(requests())
def test_planning_is_deterministic(case: tuple[PlanRequest, Product]) -> None:
    request, product = case
    assert _outcome(request, product) == _outcome(request, product)
