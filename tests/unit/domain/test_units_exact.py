"""The planner's rate cross-check in integer arithmetic gives the answers the Fraction one gave.

The oracle below is the cross-check as it was written with `fractions.Fraction` before it moved
to plain integers (issue 17); both must return the same rate or both refuse, for every input.
"""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from titrator.domain.units import (
    Concentration,
    CrossCheckError,
    RateUnit,
    WeightRate,
    floor_to_resolution,
    pump_rate_ml_per_h,
)

D = Decimal


def fraction_oracle(
    rate: WeightRate, weight_kg: Decimal, conc: Concentration, resolution_ml_per_h: Decimal
) -> Decimal:
    """The pre-issue-17 cross-check, kept verbatim as the oracle."""
    decimal_path = floor_to_resolution(rate.ml_per_h(weight_kg, conc), resolution_ml_per_h)
    exact = rate.exact_ml_per_kg_h(conc) * Fraction(weight_kg)
    res = Fraction(resolution_ml_per_h)
    exact_floor = Fraction(int(exact // res)) * res
    if Fraction(decimal_path) != exact_floor:
        raise CrossCheckError("disagree")
    return decimal_path


def outcome(
    fn: object, rate: WeightRate, weight: Decimal, conc: Concentration, res: Decimal
) -> Decimal | str:
    assert callable(fn)
    try:
        result = fn(rate, weight, conc, res)
    except CrossCheckError:
        return "refused"
    assert isinstance(result, Decimal)
    return result


@given(
    value=st.decimals(min_value=D("0.0001"), max_value=D(50), places=4),
    weight=st.decimals(min_value=D("0.5"), max_value=D(300), places=2),
    unit=st.sampled_from(list(RateUnit)),
    conc_mg_per_ml=st.sampled_from([D(50), D(100), D(200), D("16.5"), D(165), D(3)]),
    resolution=st.sampled_from([D("0.1"), D("0.01"), D(1), D("0.5"), D("0.001")]),
)
def test_integer_cross_check_matches_the_fraction_oracle(
    value: Decimal, weight: Decimal, unit: RateUnit, conc_mg_per_ml: Decimal, resolution: Decimal
) -> None:
    rate = WeightRate(value, unit)
    conc = Concentration(conc_mg_per_ml)
    new = outcome(pump_rate_ml_per_h, rate, weight, conc, resolution)
    old = outcome(fraction_oracle, rate, weight, conc, resolution)
    assert new == old
    if isinstance(new, Decimal) and isinstance(old, Decimal):
        assert str(new) == str(old)


@given(
    value=st.decimals(min_value=D("0.0001"), max_value=D(50), places=4),
    unit=st.sampled_from(list(RateUnit)),
    conc_mg_per_ml=st.sampled_from([D(50), D(100), D("16.5"), D(3)]),
)
def test_the_integer_ratio_is_the_exact_fraction(
    value: Decimal, unit: RateUnit, conc_mg_per_ml: Decimal
) -> None:
    rate = WeightRate(value, unit)
    conc = Concentration(conc_mg_per_ml)
    num, den = rate.exact_ml_per_kg_h_ratio(conc)
    assert den > 0
    assert Fraction(num, den) == rate.exact_ml_per_kg_h(conc)


def test_a_one_step_disagreement_is_still_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # Mutation: the exact path one resolution step higher than the decimal path must refuse.
    rate = WeightRate(D("0.5"), RateUnit.MG_PER_KG_MIN)
    monkeypatch.setattr(WeightRate, "exact_ml_per_kg_h_ratio", lambda self, conc: (211, 700))
    with pytest.raises(CrossCheckError):
        pump_rate_ml_per_h(rate, D(70), Concentration(D(100)))
