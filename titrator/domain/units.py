"""Typed quantities for IVIG rates and volumes, their conversions, rounding and display.

All arithmetic is `Decimal`. A weight-based rate is kept in the unit the label prints it in and is
converted forward to a pump rate (mL/h) with a single final division by the concentration, so a
rate printed in mL/kg/h never takes a lossy detour through mg/kg/min. The concentration always
comes from the product library; nothing here accepts a typed-in concentration.

Pump rates are rounded DOWN to the pump's resolution, so a delivered rate never exceeds the rate
it was computed from. Display follows ISMP: a leading zero, no trailing zero, a space before the
unit, "mL/h".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_FLOOR, Context, Decimal, localcontext
from enum import StrEnum
from fractions import Fraction
from typing import Final

MINUTES_PER_HOUR: Final = Decimal(60)
MG_PER_G: Final = Decimal(1000)
DEFAULT_PUMP_RESOLUTION_ML_PER_H: Final = Decimal("0.1")
LB_PER_KG: Final = Decimal("2.20462262185")

# Generous precision: every conversion here is a product of a few short decimals and one
# division, so 34 digits keep results exact wherever the exact value is a terminating decimal.
_CONTEXT: Final = Context(prec=34)


class RateUnit(StrEnum):
    """The weight-based units in which IVIG labels print infusion rates."""

    MG_PER_KG_MIN = "mg/kg/min"
    ML_PER_KG_MIN = "mL/kg/min"
    ML_PER_KG_H = "mL/kg/h"


class QuantityError(ValueError):
    """A quantity that cannot be used: non-finite, negative, zero where a positive is needed."""


class InputError(ValueError):
    """Human-entered text that is not an acceptable number for a named field.

    Attributes:
        field: the name of the field the text was typed into.
        raw: the text exactly as typed.
        reason: a plain-language reason, shown to the person who typed it.
    """

    def __init__(self, field: str, raw: str, reason: str) -> None:
        super().__init__(f"{field}: {reason} (got {raw!r})")
        self.field = field
        self.raw = raw
        self.reason = reason


def _require_positive(value: Decimal, what: str) -> Decimal:
    if not value.is_finite():
        raise QuantityError(f"{what} must be a finite number, got {value}")
    if value <= 0:
        raise QuantityError(f"{what} must be greater than 0, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class Concentration:
    """A product concentration in mg/mL, as the library states it (100 for a 10% product)."""

    mg_per_ml: Decimal

    def __post_init__(self) -> None:
        _require_positive(self.mg_per_ml, "concentration (mg/mL)")

    @property
    def percent(self) -> Decimal:
        """The concentration as a percentage (grams per 100 mL)."""
        return self.mg_per_ml / 10


@dataclass(frozen=True, slots=True)
class WeightRate:
    """An infusion rate per kilogram of dosing weight, in the unit a label prints it.

    Attributes:
        value: the number, exactly as printed.
        unit: the printed unit.
    """

    value: Decimal
    unit: RateUnit

    def __post_init__(self) -> None:
        _require_positive(self.value, f"rate ({self.unit})")

    def ml_per_h(self, weight_kg: Decimal, conc: Concentration) -> Decimal:
        """The exact (unrounded) pump rate in mL/h for a dosing weight."""
        with localcontext(_CONTEXT):
            if self.unit is RateUnit.ML_PER_KG_H:
                return self.value * weight_kg
            if self.unit is RateUnit.ML_PER_KG_MIN:
                return self.value * weight_kg * MINUTES_PER_HOUR
            return self.value * weight_kg * MINUTES_PER_HOUR / conc.mg_per_ml

    def ml_per_kg_h(self, conc: Concentration) -> Decimal:
        """This rate in mL/kg/h."""
        return self.ml_per_h(Decimal(1), conc)

    def mg_per_kg_min(self, conc: Concentration) -> Decimal:
        """This rate in mg/kg/min (inexact for rates printed in mL/kg/h; for display and caps)."""
        if self.unit is RateUnit.MG_PER_KG_MIN:
            return self.value
        with localcontext(_CONTEXT):
            return self.ml_per_kg_min(conc) * conc.mg_per_ml

    def ml_per_kg_min(self, conc: Concentration) -> Decimal:
        """This rate in mL/kg/min."""
        with localcontext(_CONTEXT):
            if self.unit is RateUnit.ML_PER_KG_MIN:
                return self.value
            if self.unit is RateUnit.ML_PER_KG_H:
                return self.value / MINUTES_PER_HOUR
            return self.value / conc.mg_per_ml

    def exact_ml_per_kg_h(self, conc: Concentration) -> Fraction:
        """This rate in mL/kg/h as an exact fraction, for ordering rates printed in any unit."""
        value = Fraction(self.value)
        if self.unit is RateUnit.ML_PER_KG_H:
            return value
        if self.unit is RateUnit.ML_PER_KG_MIN:
            return value * 60
        return value * 60 / Fraction(conc.mg_per_ml)

    def exact_ml_per_kg_h_ratio(self, conc: Concentration) -> tuple[int, int]:
        """This rate in mL/kg/h as an exact (numerator, positive denominator) integer pair.

        The same value as `exact_ml_per_kg_h` without building `Fraction` objects: the
        planner's rate cross-check runs for every ladder rung, and with plain integers the
        planner takes about 0.64x the time (bench/plan.py --fraction). The pair is not reduced;
        only ratios are compared.
        """
        num, den = self.value.as_integer_ratio()
        if self.unit is RateUnit.ML_PER_KG_H:
            return num, den
        if self.unit is RateUnit.ML_PER_KG_MIN:
            return num * 60, den
        c_num, c_den = conc.mg_per_ml.as_integer_ratio()
        return num * 60 * c_den, den * c_num


def floor_to_resolution(rate_ml_per_h: Decimal, resolution_ml_per_h: Decimal) -> Decimal:
    """Round a pump rate DOWN to a multiple of the pump's resolution.

    Args:
        rate_ml_per_h: the exact rate.
        resolution_ml_per_h: the pump's smallest rate increment (for example 0.1).

    Returns:
        The largest multiple of the resolution that does not exceed the rate.
    """
    _require_positive(resolution_ml_per_h, "pump resolution (mL/h)")
    with localcontext(_CONTEXT):
        steps = (rate_ml_per_h / resolution_ml_per_h).to_integral_value(rounding=ROUND_FLOOR)
        # Keep the resolution's exponent: 70.0, never 7E+1.
        return (steps * resolution_ml_per_h).quantize(resolution_ml_per_h)


class CrossCheckError(RuntimeError):
    """Two independent computations of a pump rate disagreed: nothing may be sent."""


def pump_rate_ml_per_h(
    rate: WeightRate,
    weight_kg: Decimal,
    conc: Concentration,
    resolution_ml_per_h: Decimal = DEFAULT_PUMP_RESOLUTION_ML_PER_H,
) -> Decimal:
    """The pump rate (mL/h) for a weight-based rate, rounded down to the pump resolution.

    The result is computed twice, once in `Decimal` and once in exact rational arithmetic, and
    the two must agree exactly (a redundant dose calculation in the sense of requirement R7).

    Raises:
        CrossCheckError: if the two computations disagree.
    """
    _require_positive(weight_kg, "dosing weight (kg)")
    decimal_path = floor_to_resolution(rate.ml_per_h(weight_kg, conc), resolution_ml_per_h)
    # The second path is exact integer arithmetic on (numerator, denominator) pairs: the exact
    # rate is r_num/r_den mL/kg/h, times w_num/w_den kg; the number of whole resolution steps
    # below it is floor(exact / res), and the decimal path must equal steps * res exactly.
    r_num, r_den = rate.exact_ml_per_kg_h_ratio(conc)
    w_num, w_den = weight_kg.as_integer_ratio()
    s_num, s_den = resolution_ml_per_h.as_integer_ratio()
    steps = (r_num * w_num * s_den) // (r_den * w_den * s_num)
    p_num, p_den = decimal_path.as_integer_ratio()
    if p_num * s_den != steps * s_num * p_den:
        exact_floor = Fraction(steps * s_num, s_den)
        raise CrossCheckError(
            f"rate cross-check failed for {rate.value} {rate.unit} at {weight_kg} kg: "
            f"{decimal_path} mL/h (decimal) vs "
            f"{Decimal(exact_floor.numerator) / Decimal(exact_floor.denominator)} mL/h (exact)"
        )
    return decimal_path


def ml_per_h_to_mg_per_kg_min(
    rate_ml_per_h: Decimal, weight_kg: Decimal, conc: Concentration
) -> Decimal:
    """Convert a pump rate back to mg/kg/min (what a rounded-down pump rate really delivers)."""
    with localcontext(_CONTEXT):
        return rate_ml_per_h * conc.mg_per_ml / (weight_kg * MINUTES_PER_HOUR)


def ml_per_h_to_ml_per_kg_min(rate_ml_per_h: Decimal, weight_kg: Decimal) -> Decimal:
    """Convert a pump rate back to mL/kg/min."""
    with localcontext(_CONTEXT):
        return rate_ml_per_h / (weight_kg * MINUTES_PER_HOUR)


def dose_volume_ml(dose_g_per_kg: Decimal, weight_kg: Decimal, conc: Concentration) -> Decimal:
    """The volume (mL) of product that carries a dose of `dose_g_per_kg` for a dosing weight."""
    with localcontext(_CONTEXT):
        return dose_g_per_kg * weight_kg * MG_PER_G / conc.mg_per_ml


def grams_volume_ml(dose_g: Decimal, conc: Concentration) -> Decimal:
    """The volume (mL) of product that carries `dose_g` grams of IgG."""
    with localcontext(_CONTEXT):
        return dose_g * MG_PER_G / conc.mg_per_ml


def kg_to_lb(weight_kg: Decimal) -> Decimal:
    """Pounds for a weight in kilograms (shown for cross-checking only; never entered)."""
    with localcontext(_CONTEXT):
        return weight_kg * LB_PER_KG


# ---------------------------------------------------------------------------------------------
# Display (ISMP: leading zero, no trailing zero, a space before the unit).


def plain(value: Decimal, places: int | None = None) -> str:
    """Format a decimal the ISMP way: no trailing zeros, a leading zero, never an exponent.

    Args:
        value: the number.
        places: if given, round DOWN to at most this many decimal places first (for display of
            rates, so a shown rate is never higher than the real one).
    """
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)
    text = format(value.normalize(_CONTEXT), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def significant(value: Decimal, digits: int = 3) -> str:
    """Format with at most `digits` significant digits, rounded down, ISMP style."""
    if value == 0:
        return "0"
    exponent = value.adjusted()
    places = max(digits - 1 - exponent, 0)
    return plain(value, places)


def show_ml_per_h(rate_ml_per_h: Decimal) -> str:
    """'21 mL/h', '0.6 mL/h'."""
    return f"{plain(rate_ml_per_h, 1)} mL/h"


def show_mg_per_kg_min(rate: Decimal) -> str:
    """'0.5 mg/kg/min' (at most three significant digits, rounded down)."""
    return f"{significant(rate)} mg/kg/min"


def show_ml_per_kg_min(rate: Decimal) -> str:
    """'0.005 mL/kg/min' (at most three significant digits, rounded down)."""
    return f"{significant(rate)} mL/kg/min"


def show_ml(volume_ml: Decimal) -> str:
    """'280 mL', '12.5 mL'."""
    return f"{plain(volume_ml, 1)} mL"


def volume_split(given_ml: Decimal, planned_ml: Decimal) -> tuple[str, str, str]:
    """Given, planned and remaining volume as shown: ('18.9 mL', '280 mL', '261.1 mL').

    Each is rounded the one way every volume is shown (`show_ml`: down to 0.1 mL), and the
    remaining volume is the planned volume as shown less the given volume as shown (never below
    0), so given + remaining on screen add up to the planned volume on screen.
    """
    tenth = Decimal("0.1")
    given = given_ml.quantize(tenth, rounding=ROUND_DOWN)
    planned = planned_ml.quantize(tenth, rounding=ROUND_DOWN)
    return show_ml(given), show_ml(planned), show_ml(max(planned - given, Decimal(0)))


# ---------------------------------------------------------------------------------------------
# Strict parsing of human-entered numbers (requirement R3: reject, never correct or clamp).

_PLAIN_NUMBER: Final = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]+)?")

# Bounds on every decimal read from outside (command line, configuration, product files,
# scripts), checked before any arithmetic. Decimal arithmetic keeps 28 significant digits; a value
# past these bounds (1E+400, a 40-digit number) would make a later multiplication or quantize
# raise InvalidOperation instead of a readable error. No clinical quantity here needs more than
# 7 digits before the point (a rate of 9,999,999 mL/h is far beyond any pump) or 9 after.
MAX_INTEGER_DIGITS: Final = 7
"""Most digits before the decimal point of an input value (so below 10 000 000)."""
MAX_DECIMAL_PLACES: Final = 9
"""Most significant digits after the decimal point of an input value."""
_MAX_PLAIN_LENGTH: Final = 64
_TOO_MANY_DIGITS: Final = (
    f"too many digits (at most {MAX_INTEGER_DIGITS} before the point and "
    f"{MAX_DECIMAL_PLACES} after)"
)


def decimal_bound_problem(value: Decimal) -> str | None:
    """Why `value` is outside the bounds for an input number, or None when it is within them.

    Finite, at most `MAX_INTEGER_DIGITS` digits before the point and `MAX_DECIMAL_PLACES`
    significant digits after it (trailing zeros do not count). Only the exponent and the digit
    tuple are inspected, so no arithmetic can fail on the way.
    """
    if not value.is_finite():
        return "must be a finite number"
    if value.is_zero():
        return None
    if value.adjusted() >= MAX_INTEGER_DIGITS:
        return f"too large (at most {MAX_INTEGER_DIGITS} digits before the decimal point)"
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    if exponent + trailing < -MAX_DECIMAL_PLACES:
        return f"too many decimal places (at most {MAX_DECIMAL_PLACES})"
    return None


def bounded_decimal(value: Decimal, field: str, raw: str | None = None) -> Decimal:
    """Return `value` when it is within the input bounds (see `decimal_bound_problem`).

    Raises:
        InputError: naming the field, the problem and the text as given.
    """
    problem = decimal_bound_problem(value)
    if problem is not None:
        raise InputError(field, str(value) if raw is None else raw, problem)
    return value


def parse_plain_decimal(raw: str, field: str) -> Decimal:
    """Parse a number typed by a person, accepting only plain ASCII decimal notation.

    Accepted: ``70``, ``70.5``, ``0.5``. Refused with a reason: empty text, ``.5`` (no leading
    zero), ``48.`` (trailing point), ``4..8``, ``4,8``, ``1e3``, ``NaN``, ``inf``, ``-1``, ``05``,
    ``4 8``, non-ASCII digits. Surrounding whitespace is allowed; nothing else is altered.

    Raises:
        InputError: naming the field and the problem.
    """
    text = raw.strip()
    if not text:
        raise InputError(field, raw, "a number is required")
    if _PLAIN_NUMBER.fullmatch(text) and text.isascii():
        if len(text) > _MAX_PLAIN_LENGTH:  # never build a Decimal from a 4,000-digit text
            raise InputError(field, raw, _TOO_MANY_DIGITS)
        return bounded_decimal(Decimal(text), field, raw)
    if text.startswith("-"):
        reason = "must not be negative"
    elif "," in text:
        reason = "use a point, not a comma, for decimals"
    elif text.startswith("."):
        reason = "write a leading zero (0.5, not .5)"
    elif text.endswith("."):
        reason = "nothing after the decimal point"
    elif text.count(".") > 1:
        reason = "more than one decimal point"
    elif re.fullmatch(r"0[0-9]+(\.[0-9]+)?", text):
        reason = "no leading zeros (write 5, not 05)"
    elif any(ch.isspace() for ch in text):
        reason = "spaces inside the number"
    else:
        reason = "not a plain decimal number (digits and at most one point)"
    raise InputError(field, raw, reason)
