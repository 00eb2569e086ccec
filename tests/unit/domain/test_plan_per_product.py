"""The planner works out each product's caps and ladder once, and never mixes up two products
whose numbers are equal but printed differently (Decimal("8") == Decimal("8.0"))."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from titrator.domain.library import Product
from titrator.domain.plan import PlanError, build_plan
from titrator.domain.plan_model import CapKind, Plan, PlanRequest
from titrator.files.library import load_library

LIBRARY = load_library()
PRIVIGEN = LIBRARY.product("privigen")


def _plan(product: Product, weight_kg: Decimal = Decimal(70)) -> Plan:
    request = PlanRequest(
        product_id=product.id,
        indication_id="pi",
        weight_kg=weight_kg,
        dose_g_per_kg=Decimal("0.4"),
    )
    return build_plan(request, product)


def _with_label_max(product: Product, value: Decimal) -> Product:
    ind = product.indications["pi"]
    max_rate = ind.max_rate.model_copy(update={"value": value})
    changed = ind.model_copy(update={"max_rate": max_rate})
    return product.model_copy(update={"indications": {**product.indications, "pi": changed}})


def _label_max(plan: Plan) -> str:
    return next(cap.description for cap in plan.caps if cap.kind is CapKind.LABEL_MAX)


def test_an_equal_rate_printed_with_other_digits_keeps_its_own_digits() -> None:
    assert PRIVIGEN.indications["pi"].max_rate.value == Decimal("8")
    as_printed = _label_max(_plan(PRIVIGEN))
    same_value = _plan(_with_label_max(PRIVIGEN, Decimal("8.0")))  # equal, and now cached

    assert as_printed.startswith("Label maximum: 8 mg/kg/min")
    assert _label_max(same_value).startswith("Label maximum: 8.0 mg/kg/min")
    assert _label_max(_plan(PRIVIGEN)) == as_printed


def test_a_changed_rate_is_not_answered_from_the_first_products_caps() -> None:
    lower = _with_label_max(PRIVIGEN, Decimal("4"))
    assert _plan(lower).max_rate_ml_per_h < _plan(PRIVIGEN).max_rate_ml_per_h
    assert _label_max(_plan(lower)).startswith("Label maximum: 4 mg/kg/min")


def _outcome(request: PlanRequest, product: Product) -> Plan | str:
    try:
        return build_plan(request, product)
    except PlanError as error:
        return f"{error.field}: {error.reason}"


@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from(sorted(LIBRARY.products)),
    st.decimals(min_value=2, max_value=300, places=1),
    st.booleans(),
)
def test_plans_are_the_same_from_a_reloaded_copy_of_the_product(
    product_id: str, weight_kg: Decimal, first_infusion: bool
) -> None:
    shared = LIBRARY.product(product_id)
    fresh = load_library().product(product_id)  # other objects: nothing cached for them yet
    for ind_id in shared.indications:
        request = PlanRequest(
            product_id=product_id,
            indication_id=ind_id,
            weight_kg=weight_kg,
            dose_g_per_kg=shared.indications[ind_id].dose.max_g_per_kg,
            first_infusion=first_infusion,
        )
        assert _outcome(request, fresh) == _outcome(request, shared)
