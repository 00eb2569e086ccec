"""What a rate change means, for the confirmation the nurse gives before it happens.

Shown wherever a rate is decided: OLD -> NEW in mL/h and mg/kg/min, the direction and the
x-factor. An increase of x2 or more (or a start from zero) needs a second, different, deliberate
key (requirement R22: key bounce and decimal slips turn 4.8 into 44.8).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict

from titrator.domain.units import Concentration, ml_per_h_to_mg_per_kg_min

SECOND_KEY_FACTOR: Final = Decimal(2)
"""Increases by this factor or more need a second deliberate key."""


class Direction(StrEnum):
    """Which way the rate moves."""

    START = "start"
    INCREASE = "increase"
    DECREASE = "decrease"
    STOP = "stop"
    SAME = "same"


class RateChange(BaseModel):
    """A proposed change of the pump rate, in every unit the nurse checks."""

    model_config = ConfigDict(frozen=True)

    old_ml_per_h: Decimal
    new_ml_per_h: Decimal
    old_mg_per_kg_min: Decimal
    new_mg_per_kg_min: Decimal
    direction: Direction
    factor: Decimal | None
    """new / old, rounded down to 0.1; None when starting from zero."""
    needs_second_key: bool

    @property
    def factor_text(self) -> str:
        """'x2', 'x1.5', 'x0.5', or 'from 0'."""
        if self.factor is None:
            return "from 0"
        text = format(self.factor.normalize(), "f")
        return f"x{text}"


def describe_change(
    old_ml_per_h: Decimal, new_ml_per_h: Decimal, weight_kg: Decimal, conc: Concentration
) -> RateChange:
    """Describe a change from `old_ml_per_h` to `new_ml_per_h` for this patient and product."""
    if new_ml_per_h == old_ml_per_h:
        direction = Direction.SAME
    elif new_ml_per_h == 0:
        direction = Direction.STOP
    elif old_ml_per_h == 0:
        direction = Direction.START
    elif new_ml_per_h > old_ml_per_h:
        direction = Direction.INCREASE
    else:
        direction = Direction.DECREASE
    factor = (
        None
        if old_ml_per_h == 0
        else (new_ml_per_h / old_ml_per_h).quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    )
    big_increase = (
        direction is Direction.INCREASE and new_ml_per_h >= old_ml_per_h * SECOND_KEY_FACTOR
    )
    return RateChange(
        old_ml_per_h=old_ml_per_h,
        new_ml_per_h=new_ml_per_h,
        old_mg_per_kg_min=ml_per_h_to_mg_per_kg_min(old_ml_per_h, weight_kg, conc),
        new_mg_per_kg_min=ml_per_h_to_mg_per_kg_min(new_ml_per_h, weight_kg, conc),
        direction=direction,
        factor=factor,
        needs_second_key=big_increase or direction is Direction.START,
    )
