"""Benchmark: plans per second for every product x indication x weight 2..300 kg.

Baseline, measured in the same run: a bare Decimal computation of the same mL/h values (every
ladder rung x weight, converted and rounded down), with no validation, caps, cross-check or
scheduling. The ratio says what the planner's safety work costs over the raw arithmetic.

Run: .venv/bin/python bench/plan.py [--repeat N]
"""

from __future__ import annotations

import argparse
import time
from decimal import ROUND_FLOOR, Decimal

from titrator.domain.library import Product
from titrator.domain.plan import build_plan
from titrator.domain.plan_model import PlanRequest
from titrator.domain.units import RateUnit
from titrator.files.library import load_library

WEIGHTS = [Decimal(w) for w in range(2, 301)]
TENTH = Decimal("0.1")


def cases() -> list[tuple[PlanRequest, Product]]:
    library = load_library()
    out: list[tuple[PlanRequest, Product]] = []
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


def run_planner(work: list[tuple[PlanRequest, Product]]) -> tuple[float, Decimal]:
    checksum = Decimal(0)
    start = time.perf_counter()
    for request, product in work:
        plan = build_plan(request, product)
        checksum += plan.steps[-1].rate_ml_per_h
    return time.perf_counter() - start, checksum


def run_baseline(work: list[tuple[PlanRequest, Product]]) -> tuple[float, Decimal]:
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
    return time.perf_counter() - start, checksum


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    args = parser.parse_args()
    work = cases()
    planner = min(run_planner(work)[0] for _ in range(args.repeat))
    baseline = min(run_baseline(work)[0] for _ in range(args.repeat))
    n = len(work)
    print(f"cases: {n} (products x indications x weights 2..300 kg)")
    print(f"planner:  {n / planner:10.0f} plans/s   ({planner * 1e6 / n:7.1f} us/plan)")
    per_case = baseline * 1e6 / n
    print(f"baseline: {n / baseline:10.0f} plans/s   ({per_case:7.1f} us/plan, bare Decimal mL/h)")
    print(f"ratio planner/baseline time: {planner / baseline:.1f}x")


if __name__ == "__main__":
    main()
