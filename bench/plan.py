"""Benchmark: the planner over every product x indication x weight 2..300 kg.

Baseline, measured in the same run and interleaved with the planner (baseline, planner, baseline,
planner ...): a bare Decimal computation of the same mL/h values (every ladder rung x weight,
converted and rounded down), with no validation, caps, cross-check or scheduling. The ratio says
what the planner's safety work costs over the raw arithmetic (goal: <= 20x).

--fraction also times the planner with the rate cross-check as it was before issue 17
(`fractions.Fraction`, kept in tests/unit/domain/test_units_exact.py as the oracle), paired with
the current planner, to show the before/after in one run. --per-plan likewise times the
planner working out each product's label caps (`LabelRate.conservative`) and ladder rungs in
every plan, as before issue 17, against the planner that works them out once per product.

Run: .venv/bin/python -m bench.plan [--rounds N] [--fraction] [--per-plan]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction

import titrator.domain.plan as plan_module
from bench.paired import paired, report
from titrator.domain.library import Product
from titrator.domain.plan import build_plan
from titrator.domain.plan_model import PlanRequest
from titrator.domain.units import (
    Concentration,
    CrossCheckError,
    RateUnit,
    WeightRate,
    floor_to_resolution,
    pump_rate_ml_per_h,
)
from titrator.files.library import load_library

WEIGHTS = [Decimal(w) for w in range(2, 301)]
TENTH = Decimal("0.1")
Work = list[tuple[PlanRequest, Product]]
CHECK = "pump_rate_ml_per_h"  # the name build_plan calls, swapped for the 'before' timing


def cases() -> Work:
    library = load_library()
    out: Work = []
    for product in library.products.values():
        for ind_id, ind in product.indications.items():
            for weight in WEIGHTS:
                request = PlanRequest(
                    product_id=product.id,
                    indication_id=ind_id,
                    weight_kg=weight,
                    dose_g_per_kg=ind.dose.max_g_per_kg,
                )
                out.append((request, product))
    return out


def run_planner(work: Work) -> float:
    checksum = Decimal(0)
    start = time.perf_counter()
    for request, product in work:
        plan = build_plan(request, product)
        checksum += plan.steps[-1].rate_ml_per_h
    elapsed = time.perf_counter() - start
    assert checksum > 0
    return elapsed


def run_baseline(work: Work) -> float:
    checksum = Decimal(0)
    start = time.perf_counter()
    for request, product in work:
        ind = product.indications[request.indication_id]
        conc = product.concentration_mg_per_ml
        unit = ind.ladder.unit
        last = Decimal(0)
        for value in ind.ladder.rates:
            if unit is RateUnit.MG_PER_KG_MIN:
                exact = value * request.weight_kg * 60 / conc
            elif unit is RateUnit.ML_PER_KG_MIN:
                exact = value * request.weight_kg * 60
            else:
                exact = value * request.weight_kg
            last = (exact / TENTH).to_integral_value(rounding=ROUND_FLOOR) * TENTH
        checksum += last
    elapsed = time.perf_counter() - start
    assert checksum > 0
    return elapsed


def fraction_cross_check(
    rate: WeightRate, weight_kg: Decimal, conc: Concentration, resolution_ml_per_h: Decimal
) -> Decimal:
    """The pre-issue-17 cross-check in `fractions.Fraction` (the 'before')."""
    decimal_path = floor_to_resolution(rate.ml_per_h(weight_kg, conc), resolution_ml_per_h)
    exact = rate.exact_ml_per_kg_h(conc) * Fraction(weight_kg)
    res = Fraction(resolution_ml_per_h)
    if Fraction(decimal_path) != Fraction(int(exact // res)) * res:
        raise CrossCheckError("disagree")
    return decimal_path


def with_fraction(work: Work) -> float:
    setattr(plan_module, CHECK, fraction_cross_check)
    try:
        return run_planner(work)
    finally:
        setattr(plan_module, CHECK, pump_rate_ml_per_h)


def with_per_plan_caps(work: Work) -> float:
    """The planner working out each product's caps and ladder in every plan (the 'before')."""
    cached = plan_module._rungs, plan_module._conservative
    plan_module._rungs = lambda ladder: ladder.weight_rates()
    plan_module._conservative = lambda rate, conc: rate.conservative(conc)
    try:
        return run_planner(work)
    finally:
        plan_module._rungs, plan_module._conservative = cached


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="paired rounds (at least 5)")
    parser.add_argument("--fraction", action="store_true", help="also time the Fraction check")
    parser.add_argument(
        "--per-plan", action="store_true", help="also time caps and ladders worked out per plan"
    )
    args = parser.parse_args()
    work = cases()
    n = len(work)
    print(f"cases: {n} (products x indications x weights 2..300 kg); seconds per pass")
    run_planner(work)  # warm-up: imports, caches
    base: Callable[[], float] = lambda: run_baseline(work)  # noqa: E731
    report(
        "planner vs bare Decimal mL/h", "s", *paired(base, lambda: run_planner(work), args.rounds)
    )
    if args.fraction:
        report(
            "planner with the Fraction cross-check (before) vs bare Decimal mL/h",
            "s",
            *paired(base, lambda: with_fraction(work), args.rounds),
        )
        report(
            "planner with the Fraction cross-check (before) vs integer (after)",
            "s",
            *paired(lambda: with_fraction(work), lambda: run_planner(work), args.rounds),
        )

    if args.per_plan:
        report(
            "planner with caps and ladders worked out per plan (before) vs once per product",
            "s",
            *paired(lambda: with_per_plan_caps(work), lambda: run_planner(work), args.rounds),
        )


if __name__ == "__main__":
    main()
