"""Rate-change descriptions: direction, x-factor, and when a second key is needed."""

from decimal import Decimal

import pytest

from titrator.domain.rate_change import Direction, describe_change
from titrator.domain.units import Concentration

TEN = Concentration(Decimal(100))


@pytest.mark.parametrize(
    ("old", "new", "direction", "factor", "second_key"),
    [
        ("21", "42", Direction.INCREASE, "x2", True),
        ("42", "84", Direction.INCREASE, "x2", True),
        ("168", "252", Direction.INCREASE, "x1.5", False),
        ("41.9", "83.7", Direction.INCREASE, "x1.9", False),  # x1.997: just under x2
        ("4.8", "44.8", Direction.INCREASE, "x9.3", True),  # the classic decimal slip
        ("0", "21", Direction.START, "from 0", True),
        ("84", "42", Direction.DECREASE, "x0.5", False),
        ("84", "0", Direction.STOP, "x0", False),
        ("84", "84", Direction.SAME, "x1", False),
    ],
)
def test_describe_change(
    old: str, new: str, direction: Direction, factor: str, second_key: bool
) -> None:
    change = describe_change(Decimal(old), Decimal(new), Decimal(70), TEN)
    assert change.direction is direction
    assert change.factor_text == factor
    assert change.needs_second_key is second_key


def test_both_units_are_given() -> None:
    change = describe_change(Decimal(21), Decimal(42), Decimal(70), TEN)
    assert change.old_mg_per_kg_min == Decimal("0.5")
    assert change.new_mg_per_kg_min == 1
