"""Dose arithmetic: a course split into day doses, and a dose rounded to whole vials.

Pure and exact (Decimal, no I/O). `course_day_doses` splits a course evenly by rounding the
running total, so the day doses always sum to the course dose. `round_to_vials` finds the total
nearest the ordered dose that whole vials of the supplied sizes can make (ties go down), made of
the fewest vials.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction
from typing import Final

GRAM_STEP: Final = Decimal("0.001")
"""Day doses of a course are split to the milligram."""


def course_day_doses(total_g: Decimal, days: int) -> tuple[Decimal, ...]:
    """The dose of each day of a course of `total_g` split evenly over `days` days.

    Day k gets the running total after k days, rounded to the milligram, less the running total
    after k - 1 days: the days differ by at most a milligram and sum to `total_g` rounded to the
    milligram.
    """
    if days < 1:
        raise ValueError("a course has at least one day")
    with localcontext() as ctx:
        ctx.prec = 50

        def running(k: int) -> Decimal:
            return (total_g * k / days).quantize(GRAM_STEP, rounding=ROUND_HALF_EVEN)

        return tuple(running(k) - running(k - 1) for k in range(1, days + 1))


def _scale(sizes: tuple[Decimal, ...]) -> int:
    """The smallest power of ten that makes every size a whole number."""
    places = 0
    for size in sizes:
        exponent = size.normalize().as_tuple().exponent
        assert isinstance(exponent, int)  # finite sizes only
        places = max(places, -exponent)
    return int(10**places)


def fewest_vials(amount: int, sizes: tuple[int, ...]) -> list[int | None]:
    """For every total 0..amount (in scaled units), the fewest vials that make it (None: cannot)."""
    best: list[int | None] = [0] + [None] * amount
    for total in range(1, amount + 1):
        counts = [best[total - size] for size in sizes if size <= total]
        reachable = [count for count in counts if count is not None]
        best[total] = min(reachable) + 1 if reachable else None
    return best


def round_to_vials(
    ordered_g: Decimal, sizes_g: tuple[Decimal, ...]
) -> tuple[Decimal, tuple[tuple[Decimal, int], ...]]:
    """The total nearest `ordered_g` that whole vials can make, and the vials (fewest).

    Ties go down (the smaller total). A total of 0 g is never chosen. Returns the rounded total
    and (size_g, count) pairs, largest size first, counts above zero only.

    Raises:
        ValueError: no sizes, or a size or the dose not positive.
    """
    sizes = tuple(sorted(set(sizes_g), reverse=True))
    if not sizes or any(not s.is_finite() or s <= 0 for s in sizes):
        raise ValueError("vial sizes must be positive")
    if not ordered_g.is_finite() or ordered_g <= 0:
        raise ValueError("the dose must be positive")
    scale = _scale(sizes)
    units = tuple(int(size * scale) for size in sizes)
    target = Fraction(ordered_g) * scale
    # Above the target, no total beyond ceil(target) + the largest vial can be the nearest:
    # taking one vial off it leaves a total still at or above the target, and closer.
    limit = int(-(-target // 1)) + max(units)
    best = fewest_vials(limit, units)
    candidates = [total for total in range(1, limit + 1) if best[total] is not None]
    chosen = min(candidates, key=lambda total: (abs(total - target), total))
    counts: dict[int, int] = {}
    remaining = chosen
    while remaining:
        # Prefer the largest vial that keeps the count minimal (one fixed answer per total).
        count_here = best[remaining]
        assert count_here is not None
        size = next(u for u in units if u <= remaining and best[remaining - u] == count_here - 1)
        counts[size] = counts.get(size, 0) + 1
        remaining -= size
    with localcontext() as ctx:
        ctx.prec = 50
        total_g = Decimal(chosen) / scale
        vials = tuple((Decimal(u) / scale, counts[u]) for u in units if u in counts)
    return total_g, vials
