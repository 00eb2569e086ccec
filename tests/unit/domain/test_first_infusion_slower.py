"""First infusions are slower, for every shipped product and indication (issue 14, item 1).

A first infusion (treatment-naive, product switch, more than 8 weeks since the last) is never
faster than the usual plan at any minute, and takes longer, unless the product file says the
label itself requires the same ramp. Also: the two relabelled sources and Asceniv's first
infusion, which must not reach the label maximum.
"""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from titrator.domain.library import FirstInfusionRule, Product, Provenance, semantic_problems
from titrator.domain.plan import build_plan
from titrator.domain.plan_model import Plan, PlanRequest
from titrator.files.library import load_library

D = Decimal
LIBRARY = load_library()
PAIRS = [(pid, ind) for pid, p in sorted(LIBRARY.products.items()) for ind in p.indications]


def _plan(product_id: str, indication: str, weight: Decimal, dose: Decimal, first: bool) -> Plan:
    request = PlanRequest(
        product_id=product_id,
        indication_id=indication,
        weight_kg=weight,
        dose_g_per_kg=dose,
        first_infusion=first,
    )
    return build_plan(request, LIBRARY.product(product_id))


def _rate_at(plan: Plan, minute: Decimal) -> Decimal:
    """The planned pump rate at `minute` (steps are half-open: [start, start + duration))."""
    for step in plan.steps:
        if step.start_min <= minute < step.start_min + step.duration_min:
            return step.rate_ml_per_h
    raise AssertionError(f"minute {minute} is outside the plan")


def _assert_never_faster(first: Plan, usual: Plan) -> None:
    end = min(first.estimated_duration_min, usual.estimated_duration_min)
    # Rates are constant between step starts, so comparing at every start of either plan
    # compares them at every minute.
    starts = {s.start_min for s in first.steps} | {s.start_min for s in usual.steps}
    for minute in sorted(t for t in starts if t < end):
        assert _rate_at(first, minute) <= _rate_at(usual, minute), (
            f"first infusion faster at minute {minute}: "
            f"{_rate_at(first, minute)} > {_rate_at(usual, minute)} mL/h"
        )


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, str, Decimal, Decimal]:
    product_id, indication = draw(st.sampled_from(PAIRS))
    dose = LIBRARY.product(product_id).indications[indication].dose
    return (
        product_id,
        indication,
        draw(st.decimals(min_value=D(2), max_value=D(300), places=1)),
        draw(st.decimals(min_value=dose.min_g_per_kg, max_value=dose.max_g_per_kg, places=2)),
    )


@settings(max_examples=300)
@given(cases())
def test_a_first_infusion_is_never_faster_and_is_longer(
    case: tuple[str, str, Decimal, Decimal],
) -> None:
    product_id, indication, weight, dose = case
    usual = _plan(product_id, indication, weight, dose, first=False)
    first = _plan(product_id, indication, weight, dose, first=True)
    _assert_never_faster(first, usual)
    rule = LIBRARY.product(product_id).indications[indication].first_infusion
    if rule.label_requires_same_ramp:
        assert first.estimated_duration_min == usual.estimated_duration_min
    else:
        assert first.estimated_duration_min > usual.estimated_duration_min


@pytest.mark.parametrize(("product_id", "indication"), PAIRS)
def test_every_first_infusion_rule_cites_its_source(product_id: str, indication: str) -> None:
    product = LIBRARY.product(product_id)
    rule = product.indications[indication].first_infusion
    assert rule.note
    if rule.source is Provenance.SITE:
        # A site rule names the published source it follows, listed with url and date.
        assert any(f"(source: {s.title})" in rule.note for s in product.sources), rule.note
    at_70 = _plan(product_id, indication, D(70), _usual_dose(product, indication), first=False)
    first_70 = _plan(product_id, indication, D(70), _usual_dose(product, indication), first=True)
    assert first_70.estimated_duration_min > at_70.estimated_duration_min


def _usual_dose(product: Product, indication: str) -> Decimal:
    dose = product.indications[indication].dose
    return max(dose.min_g_per_kg, min(D("0.4"), dose.max_g_per_kg))


def test_a_rule_that_slows_nothing_is_refused() -> None:
    privigen = LIBRARY.product("privigen")
    pi = privigen.indications["pi"]
    idle = FirstInfusionRule(source=Provenance.SITE, note="Only observation.", observation_min=60)
    broken = privigen.model_copy(
        update={"indications": {"pi": pi.model_copy(update={"first_infusion": idle})}}
    )
    problems = semantic_problems(broken)
    assert any(
        p.path == "indications.pi.first_infusion" and "slower" in p.message for p in problems
    ), problems


def test_the_same_ramp_is_allowed_only_where_the_label_requires_it() -> None:
    privigen = LIBRARY.product("privigen")
    pi = privigen.indications["pi"]
    site_same = FirstInfusionRule(
        source=Provenance.SITE, note="Same ramp.", label_requires_same_ramp=True
    )
    broken = privigen.model_copy(
        update={"indications": {"pi": pi.model_copy(update={"first_infusion": site_same})}}
    )
    assert any(
        p.path == "indications.pi.first_infusion.label_requires_same_ramp"
        for p in semantic_problems(broken)
    )
    label_same = site_same.model_copy(update={"source": Provenance.LABEL})
    fine = privigen.model_copy(
        update={"indications": {"pi": pi.model_copy(update={"first_infusion": label_same})}}
    )
    assert semantic_problems(fine) == []


def test_gammagard_pi_ladder_is_a_site_ladder_from_the_calculator() -> None:
    ladder = LIBRARY.product("gammagard-liquid").indications["pi"].ladder
    assert ladder.source is Provenance.SITE
    assert "calculator" in ladder.note


@pytest.mark.parametrize("indication", ["pi", "itp", "cidp"])
def test_gamunex_c_initial_duration_comes_from_the_rate_chart(indication: str) -> None:
    ind = LIBRARY.product("gamunex-c").indications[indication]
    assert ind.initial_duration_min == 30
    assert ind.initial_duration_source is Provenance.SITE
    assert any("rate chart" in note for note in ind.notes)


@given(st.decimals(min_value=D(10), max_value=D(300), places=1), st.sampled_from(["0.3", "0.8"]))
def test_asceniv_first_infusion_never_reaches_the_label_maximum(weight: Decimal, dose: str) -> None:
    first = _plan("asceniv", "pi", weight, D(dose), first=True)
    usual = _plan("asceniv", "pi", weight, D(dose), first=False)
    label_max = next(c for c in first.caps if c.kind.value == "label_max").rate_ml_per_h
    assert max(s.rate_ml_per_h for s in first.steps) < label_max
    assert first.estimated_duration_min > usual.estimated_duration_min
