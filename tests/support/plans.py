"""Hand-made plans and instants for engine, controller and keypad tests (no library needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from titrator.domain.clock import Instant
from titrator.domain.plan_model import CapKind, Plan, PlanRequest, PlanStep, RateCap
from titrator.domain.units import Concentration

T0 = Instant(wall_utc=datetime(2026, 3, 2, 8, 0, tzinfo=UTC), mono_ms=50_000_000)


def at(minutes: float | int | Decimal) -> Instant:
    """The instant `minutes` after T0 on both clocks."""
    return T0.after_ms(int(Decimal(str(minutes)) * 60_000))


def make_plan(
    rates: tuple[str, ...] = ("35", "70", "140", "280"),
    dwell_min: str = "30",
    total_volume_ml: str = "350",
    max_rate_ml_per_h: str | None = None,
    first_infusion: bool = False,
) -> Plan:
    """A 70 kg, 10 % plan with the given pump rates (mL/h) and equal dwells."""
    weight = Decimal(70)
    conc = Concentration(Decimal(100))
    steps = []
    start = Decimal(0)
    for number, text in enumerate(rates, start=1):
        rate = Decimal(text)
        steps.append(
            PlanStep(
                number=number,
                rate_ml_per_h=rate,
                rate_mg_per_kg_min=rate * conc.mg_per_ml / (weight * 60),
                rate_ml_per_kg_min=rate / (weight * 60),
                start_min=start,
                duration_min=Decimal(dwell_min),
                min_dwell_min=Decimal(dwell_min),
                volume_ml=rate * Decimal(dwell_min) / 60,
            )
        )
        start += Decimal(dwell_min)
    max_rate = Decimal(max_rate_ml_per_h) if max_rate_ml_per_h else Decimal(rates[-1])
    return Plan(
        request=PlanRequest(
            product_id="test-10",
            indication_id="pi",
            weight_kg=weight,
            dose_g_per_kg=Decimal("0.5"),
            first_infusion=first_infusion,
        ),
        product_id="test-10",
        product_name="Test IVIG 10%",
        indication_id="pi",
        indication_name="Primary immunodeficiency",
        library_version="test",
        ladder_source="label",
        concentration=conc,
        dosing_weight_kg=weight,
        total_dose_g=Decimal(35),
        total_volume_ml=Decimal(total_volume_ml),
        caps=(RateCap(kind=CapKind.LABEL_MAX, rate_ml_per_h=max_rate, description="label max"),),
        max_rate_ml_per_h=max_rate,
        steps=tuple(steps),
        estimated_duration_min=Decimal(120),
    )
