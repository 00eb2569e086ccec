"""Doses in grams and whole vials: the nearest total the vial sizes can make, ties down."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from titrator.domain.doses import round_to_vials
from titrator.domain.plan import PlanError

from ._dose_products import plan_for, shipped

D = Decimal
SIZES = [D(1), D("2.5"), D(5), D(10), D(20), D(40)]


def brute_force(ordered: Decimal, sizes: tuple[Decimal, ...]) -> tuple[Decimal, int]:
    """Every combination up to one vial past the dose: the nearest total (ties down), fewest."""
    best: tuple[Decimal, Decimal, int] | None = None
    ranges = [range(int(ordered // size) + 2) for size in sizes]
    for counts in itertools.product(*ranges):
        total = sum((c * s for c, s in zip(counts, sizes, strict=True)), D(0))
        if total == 0:
            continue
        key = (abs(total - ordered), total, sum(counts))
        if best is None or key < best:
            best = key
    assert best is not None
    return best[1], best[2]


@given(
    sizes=st.lists(st.sampled_from(SIZES), min_size=1, max_size=3, unique=True),
    ordered=st.decimals(min_value=D("0.1"), max_value=D(30), places=1),
)
def test_rounding_picks_the_nearest_achievable_total_with_the_fewest_vials(
    sizes: list[Decimal], ordered: Decimal
) -> None:
    total, vials = round_to_vials(ordered, tuple(sizes))
    expected_total, expected_count = brute_force(ordered, tuple(sizes))
    assert total == expected_total
    assert sum(size * count for size, count in vials) == total
    assert sum(count for _, count in vials) == expected_count


@pytest.mark.parametrize(
    ("ordered", "sizes", "expected"),
    [
        ("27.5", ("5", "10"), "25"),  # 25 and 30 are equally near: down
        ("7.5", ("5",), "5"),
        ("1", ("5",), "5"),  # never 0 g
        ("28", ("5", "10", "20"), "30"),
    ],
)
def test_ties_go_down_and_a_dose_is_never_zero(
    ordered: str, sizes: tuple[str, ...], expected: str
) -> None:
    total, _ = round_to_vials(D(ordered), tuple(D(s) for s in sizes))
    assert total == D(expected)


def test_a_gram_dose_rounded_to_gamunex_c_vials() -> None:
    p = plan_for("gamunex-c", "pi", dose_g="27.3", round_to_vials=True)
    assert p.total_dose_g == D("27.5")
    assert p.ordered_dose_g == D("27.3")
    assert p.vials is not None
    assert [(v.size_g, v.count) for v in p.vials] == [(20, 1), (5, 1), (D("2.5"), 1)]
    assert p.rounding_pct == D("0.7")
    assert p.total_volume_ml == 275


def test_a_dose_in_grams_without_rounding() -> None:
    p = plan_for("gamunex-c", "pi", dose_g="28")
    assert p.total_dose_g == 28
    assert p.dose_per_kg == D("0.4")
    assert p.vials is None


def test_rounding_needs_the_products_vial_sizes() -> None:
    assert shipped("octagam-5").vials is None
    with pytest.raises(PlanError) as caught:
        plan_for("octagam-5", "pi", dose_g="28", round_to_vials=True)
    assert caught.value.field == "round_to_vials"
    assert "lists no vial sizes" in caught.value.reason


def test_a_rounded_dose_is_still_checked_against_the_label_range() -> None:
    # 0.6 g/kg at 70 kg is 42 g; whole Gammagard vials make 42 g exactly, in range.
    assert plan_for("gammagard-liquid", "pi", dose_g="42", round_to_vials=True).total_dose_g == 42
    # 43 g (0.614 g/kg) is made exactly by 1 g vials and is above the label's 0.6 g/kg.
    with pytest.raises(PlanError) as caught:
        plan_for("gammagard-liquid", "pi", dose_g="43", round_to_vials=True)
    assert caught.value.field == "dose_g"
    assert "above the label's usual range" in caught.value.reason
