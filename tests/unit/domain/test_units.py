"""Quantities: golden conversions, rounding down, ISMP display and strict number parsing."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from titrator.domain.units import (
    Concentration,
    CrossCheckError,
    InputError,
    QuantityError,
    RateUnit,
    WeightRate,
    dose_volume_ml,
    floor_to_resolution,
    ml_per_h_to_mg_per_kg_min,
    parse_plain_decimal,
    plain,
    pump_rate_ml_per_h,
    show_mg_per_kg_min,
    show_ml_per_h,
    show_ml_per_kg_min,
)

TEN = Concentration(Decimal(100))
FIVE = Concentration(Decimal(50))
D = Decimal


@pytest.mark.parametrize(
    ("rate", "unit", "weight", "conc", "expected"),
    [
        ("0.5", RateUnit.MG_PER_KG_MIN, "70", TEN, "21"),
        ("0.5", RateUnit.MG_PER_KG_MIN, "70", FIVE, "42"),
        ("0.005", RateUnit.ML_PER_KG_MIN, "70", TEN, "21"),
        ("0.01", RateUnit.ML_PER_KG_MIN, "70", FIVE, "42"),
        ("0.5", RateUnit.ML_PER_KG_H, "70", TEN, "35"),
        ("8", RateUnit.MG_PER_KG_MIN, "70", TEN, "336"),
        ("0.08", RateUnit.ML_PER_KG_MIN, "70", TEN, "336"),
        ("5", RateUnit.ML_PER_KG_H, "70", TEN, "350"),
        ("1.3", RateUnit.MG_PER_KG_MIN, "70", TEN, "54.6"),
        ("3.33", RateUnit.MG_PER_KG_MIN, "70", FIVE, "279.7"),  # 279.72 rounded down
        ("0.5", RateUnit.MG_PER_KG_MIN, "2", TEN, "0.6"),
        ("1", RateUnit.MG_PER_KG_MIN, "73.3", TEN, "43.9"),  # 43.98 rounded down
    ],
)
def test_golden_pump_rates(
    rate: str, unit: RateUnit, weight: str, conc: Concentration, expected: str
) -> None:
    assert pump_rate_ml_per_h(WeightRate(D(rate), unit), D(weight), conc) == D(expected)


def test_the_same_mg_per_kg_min_is_twice_the_volume_for_a_5_percent_product() -> None:
    rate = WeightRate(D("0.5"), RateUnit.MG_PER_KG_MIN)
    assert rate.ml_per_h(D(70), FIVE) == 2 * rate.ml_per_h(D(70), TEN)


def test_unit_conversions_between_the_three_label_units() -> None:
    rate = WeightRate(D("0.5"), RateUnit.MG_PER_KG_MIN)
    assert rate.ml_per_kg_min(TEN) == D("0.005")
    assert rate.ml_per_kg_h(TEN) == D("0.3")
    assert rate.mg_per_kg_min(TEN) == D("0.5")
    per_hour = WeightRate(D("0.5"), RateUnit.ML_PER_KG_H)
    assert per_hour.mg_per_kg_min(TEN).quantize(D("0.0001")) == D("0.8333")
    assert per_hour.ml_per_kg_min(TEN) * 60 == D("0.5")
    assert WeightRate(D("0.01"), RateUnit.ML_PER_KG_MIN).mg_per_kg_min(FIVE) == D("0.5")


def test_rates_are_rounded_down_never_up() -> None:
    assert floor_to_resolution(D("21.99"), D("0.1")) == D("21.9")
    assert floor_to_resolution(D("21"), D("0.1")) == D("21.0")
    assert floor_to_resolution(D("21.99"), D("1")) == D("21")
    assert str(floor_to_resolution(D("70"), D("0.1"))) == "70.0"


@given(
    value=st.decimals(min_value=D("0.001"), max_value=D(20), places=3),
    weight=st.decimals(min_value=D(2), max_value=D(300), places=1),
    unit=st.sampled_from(list(RateUnit)),
    conc=st.sampled_from([TEN, FIVE]),
)
def test_pump_rate_never_exceeds_the_exact_rate_and_is_within_one_resolution_step(
    value: Decimal, weight: Decimal, unit: RateUnit, conc: Concentration
) -> None:
    rate = WeightRate(value, unit)
    exact = rate.exact_ml_per_kg_h(conc) * Fraction(weight)
    pump = pump_rate_ml_per_h(rate, weight, conc)
    assert Fraction(pump) <= exact
    assert exact - Fraction(pump) < Fraction(1, 10)


@given(
    rate_ml_per_h=st.decimals(min_value=D("0.1"), max_value=D(1000), places=1),
    weight=st.decimals(min_value=D(2), max_value=D(300), places=1),
    conc=st.sampled_from([TEN, FIVE]),
)
def test_round_trip_ml_per_h_to_mg_per_kg_min_and_back(
    rate_ml_per_h: Decimal, weight: Decimal, conc: Concentration
) -> None:
    back = WeightRate(
        ml_per_h_to_mg_per_kg_min(rate_ml_per_h, weight, conc), RateUnit.MG_PER_KG_MIN
    )
    assert abs(back.ml_per_h(weight, conc) - rate_ml_per_h) < D("1e-9")


def test_a_disagreeing_second_computation_refuses_the_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    # Mutation test for the redundant calculation: break one path, the other catches it.
    monkeypatch.setattr(WeightRate, "exact_ml_per_kg_h_ratio", lambda self, conc: (1, 1))
    with pytest.raises(CrossCheckError):
        pump_rate_ml_per_h(WeightRate(D("0.5"), RateUnit.MG_PER_KG_MIN), D(70), TEN)


def test_swapping_the_concentration_changes_the_rate() -> None:
    rate = WeightRate(D(1), RateUnit.MG_PER_KG_MIN)
    assert pump_rate_ml_per_h(rate, D(70), TEN) != pump_rate_ml_per_h(rate, D(70), FIVE)


def test_dose_volume() -> None:
    assert dose_volume_ml(D("0.4"), D(70), TEN) == D(280)
    assert dose_volume_ml(D("0.4"), D(70), FIVE) == D(560)


@pytest.mark.parametrize("bad", [D(0), D(-1), D("NaN"), D("Infinity")])
def test_quantities_refuse_non_positive_or_non_finite_values(bad: Decimal) -> None:
    with pytest.raises(QuantityError):
        WeightRate(bad, RateUnit.MG_PER_KG_MIN)
    with pytest.raises(QuantityError):
        Concentration(bad)


@pytest.mark.parametrize(
    ("value", "text"),
    [("0.5", "0.5"), ("21.0", "21"), ("5.00", "5"), ("336", "336"), ("100", "100"), ("0", "0")],
)
def test_ismp_plain_numbers(value: str, text: str) -> None:
    assert plain(D(value)) == text


def test_ismp_display_with_units() -> None:
    assert show_ml_per_h(D("21.0")) == "21 mL/h"
    assert show_ml_per_h(D("0.6")) == "0.6 mL/h"
    assert show_ml_per_h(D("54.69")) == "54.6 mL/h"  # display rounds down too
    assert show_mg_per_kg_min(D("0.5")) == "0.5 mg/kg/min"
    assert show_mg_per_kg_min(D("0.8333333")) == "0.833 mg/kg/min"
    assert show_ml_per_kg_min(D("0.005")) == "0.005 mL/kg/min"


@pytest.mark.parametrize(
    ("text", "value"), [("70", "70"), ("70.5", "70.5"), ("0.5", "0.5"), (" 7 ", "7")]
)
def test_plain_numbers_are_accepted(text: str, value: str) -> None:
    assert parse_plain_decimal(text, "weight") == D(value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("4..8", "more than one decimal point"),
        ("1e3", "not a plain decimal"),
        ("", "a number is required"),
        ("   ", "a number is required"),
        ("NaN", "not a plain decimal"),
        ("inf", "not a plain decimal"),
        ("-1", "must not be negative"),
        (".5", "leading zero"),
        ("4,8", "comma"),
        ("48.", "nothing after the decimal point"),
        ("05", "no leading zeros"),
        ("4 8", "spaces inside"),
        ("٧٠", "not a plain decimal"),  # Arabic-Indic digits
        ("7O", "not a plain decimal"),  # letter O
        ("70kg", "not a plain decimal"),
        ("+70", "not a plain decimal"),
    ],
)
def test_malformed_numbers_are_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_plain_decimal(text, "weight")
    assert reason in caught.value.reason
    assert caught.value.field == "weight"
    assert caught.value.raw == text


@given(st.text())
def test_the_parser_never_raises_anything_but_input_error(text: str) -> None:
    try:
        value = parse_plain_decimal(text, "field")
    except InputError:
        return
    assert value.is_finite()
    assert value >= 0
