"""Build a product-specific infusion ramp for one patient.

From the dosing weight, product, indication, dose and the first-infusion and at-risk flags, the
builder takes the label (or site) ladder, converts every rung to a pump rate for this patient
through the product's concentration, rounds it down to the pump resolution, and applies the
lowest applicable cap. The result is a list of steps with start minute, duration and volume; the
last step runs until the dose volume is given.

Invariants (tested exhaustively): the first step is the label's initial rate; no step exceeds the
lowest applicable cap; rates never decrease along the plan; step volumes sum to the dose volume.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, localcontext
from typing import Final

from titrator.domain.library import Indication, Product
from titrator.domain.plan_model import (
    CapKind,
    Plan,
    PlanRequest,
    PlanStep,
    RateCap,
    Sex,
    WeightBasis,
)
from titrator.domain.units import (
    MINUTES_PER_HOUR,
    Concentration,
    RateUnit,
    WeightRate,
    dose_volume_ml,
    floor_to_resolution,
    ml_per_h_to_mg_per_kg_min,
    ml_per_h_to_ml_per_kg_min,
    pump_rate_ml_per_h,
    show_mg_per_kg_min,
    show_ml_per_h,
)

MIN_WEIGHT_KG: Final = Decimal(2)
MAX_WEIGHT_KG: Final = Decimal(300)
MIN_HEIGHT_CM: Final = Decimal(100)
MAX_HEIGHT_CM: Final = Decimal(250)
DEVINE_BASE_HEIGHT_CM: Final = Decimal("152.4")
"""The Devine ideal-body-weight formula starts at 5 ft (152.4 cm)."""
ABW_FACTOR: Final = Decimal("0.4")
_VOLUME_STEP: Final = Decimal("0.001")
_MINUTE_STEP: Final = Decimal("0.01")


class PlanError(ValueError):
    """A plan request that cannot be planned, naming the input at fault.

    Attributes:
        field: the request field (``weight_kg``, ``dose_g_per_kg``, ``indication_id``, ...).
        reason: plain-language reason.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def ideal_body_weight_kg(height_cm: Decimal, sex: Sex) -> Decimal:
    """Devine ideal body weight: 50 kg (male) or 45.5 kg (female) + 2.3 kg per inch over 5 ft."""
    base = Decimal(50) if sex is Sex.MALE else Decimal("45.5")
    with localcontext() as ctx:
        ctx.prec = 34
        inches_over_five_feet = (height_cm - DEVINE_BASE_HEIGHT_CM) / Decimal("2.54")
        return base + Decimal("2.3") * inches_over_five_feet


def dosing_weight_kg(request: PlanRequest) -> tuple[Decimal, list[str]]:
    """The weight the dose and rates are computed from, with a note on how it was chosen.

    Actual weight by default. On request, the adjusted body weight IBW + 0.4 x (actual - IBW),
    used only when the actual weight is above the ideal body weight.
    """
    _check_weight(request.weight_kg)
    if request.weight_basis is WeightBasis.ACTUAL:
        return request.weight_kg, []
    if request.height_cm is None:
        raise PlanError("height_cm", "the adjusted body weight needs the height (cm)")
    if request.sex is None:
        raise PlanError("sex", "the adjusted body weight needs the sex (female or male)")
    if not MIN_HEIGHT_CM <= request.height_cm <= MAX_HEIGHT_CM:
        raise PlanError("height_cm", f"must be {MIN_HEIGHT_CM} to {MAX_HEIGHT_CM} cm")
    if request.height_cm < DEVINE_BASE_HEIGHT_CM:
        raise PlanError(
            "height_cm",
            "the ideal-body-weight formula (Devine) is defined from 152.4 cm; "
            "use the actual weight and check with the prescriber",
        )
    ibw = ideal_body_weight_kg(request.height_cm, request.sex)
    if request.weight_kg <= ibw:
        return request.weight_kg, [
            f"Actual weight {request.weight_kg} kg is not above the ideal body weight "
            f"({ibw.quantize(Decimal('0.1'))} kg): the actual weight is used."
        ]
    adjusted = (ibw + ABW_FACTOR * (request.weight_kg - ibw)).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_EVEN
    )
    return adjusted, [
        f"Adjusted body weight {adjusted} kg = IBW {ibw.quantize(Decimal('0.1'))} kg "
        f"+ 0.4 x (actual {request.weight_kg} kg - IBW)."
    ]


def _check_weight(weight_kg: Decimal) -> None:
    if not weight_kg.is_finite() or not MIN_WEIGHT_KG <= weight_kg <= MAX_WEIGHT_KG:
        raise PlanError("weight_kg", f"must be {MIN_WEIGHT_KG} to {MAX_WEIGHT_KG} kg")


def _indication(product: Product, indication_id: str) -> Indication:
    try:
        return product.indications[indication_id]
    except KeyError:
        known = ", ".join(product.indications)
        raise PlanError(
            "indication_id",
            f"{product.name} has no indication {indication_id!r}; known: {known}",
        ) from None


def _check_dose(request: PlanRequest, ind: Indication) -> list[str]:
    dose = request.dose_g_per_kg
    if not dose.is_finite() or dose <= 0:
        raise PlanError("dose_g_per_kg", "must be greater than 0 g/kg")
    if dose > ind.dose.max_g_per_kg:
        raise PlanError(
            "dose_g_per_kg",
            f"{dose} g/kg is above the label range for this infusion "
            f"(at most {ind.dose.max_g_per_kg} g/kg: {ind.dose.regimen})",
        )
    if dose < ind.dose.min_g_per_kg:
        return [
            f"Dose {dose} g/kg is below the usual {ind.dose.min_g_per_kg} g/kg per infusion "
            f"({ind.dose.regimen}); confirm it is a divided dose as prescribed."
        ]
    return []


def _caps(
    request: PlanRequest, product: Product, ind: Indication, weight_kg: Decimal
) -> tuple[list[RateCap], list[str]]:
    conc = product.concentration
    notes: list[str] = []

    def cap(kind: CapKind, rate: WeightRate, what: str) -> RateCap:
        ml_per_h = rate.ml_per_h(weight_kg, conc)
        text = f"{what}: {rate.value} {rate.unit} ({show_ml_per_h(ml_per_h)} at {weight_kg} kg)"
        return RateCap(kind=kind, rate_ml_per_h=ml_per_h, description=text)

    caps = [cap(CapKind.LABEL_MAX, ind.max_rate.conservative(conc), "Label maximum")]
    if request.at_risk:
        label_cap = ind.at_risk_cap or product.at_risk.cap
        notes.append(f"At risk: {product.at_risk.text}")
        if label_cap is not None:
            caps.append(
                cap(CapKind.LABEL_AT_RISK, label_cap.conservative(conc), "Label at-risk cap")
            )
        elif request.site_at_risk_cap_mg_per_kg_min is not None:
            site = WeightRate(request.site_at_risk_cap_mg_per_kg_min, RateUnit.MG_PER_KG_MIN)
            caps.append(cap(CapKind.SITE_AT_RISK, site, "Site at-risk cap (no label number)"))
        else:
            raise PlanError(
                "at_risk",
                f"the {product.name} label prints no numeric at-risk cap and no site at-risk "
                "cap is configured; set one (site_at_risk_cap_mg_per_kg_min)",
            )
    first = ind.first_infusion
    if request.first_infusion:
        notes.append(first.note)
        if first.max_rate is not None:
            caps.append(
                cap(CapKind.FIRST_INFUSION, first.max_rate.conservative(conc), "First-infusion max")
            )
    for kind, limit, what in (
        (CapKind.SITE_MAX, request.site_max_rate_ml_per_h, "Site maximum"),
        (CapKind.PUMP_MAX, request.pump_max_rate_ml_per_h, "Pump maximum"),
    ):
        if limit is not None:
            if not limit.is_finite() or limit <= 0:
                raise PlanError(kind.value, "must be greater than 0 mL/h")
            caps.append(
                RateCap(kind=kind, rate_ml_per_h=limit, description=f"{what}: {limit} mL/h")
            )
    return caps, notes


def _step_rates(
    rungs: tuple[WeightRate, ...],
    weight_kg: Decimal,
    conc: Concentration,
    resolution: Decimal,
    binding: RateCap,
) -> list[tuple[Decimal, CapKind | None]]:
    """Pump rates for the rungs, capped; rungs at or above the cap collapse into one step."""
    cap_ml_per_h = floor_to_resolution(binding.rate_ml_per_h, resolution)
    rates: list[tuple[Decimal, CapKind | None]] = []
    for rung in rungs:
        rate = pump_rate_ml_per_h(rung, weight_kg, conc, resolution)
        capped_by = None
        if rate > cap_ml_per_h:
            rate, capped_by = cap_ml_per_h, binding.kind
        if rates and rate <= rates[-1][0]:
            continue  # equal after rounding down: the same pump rate, one step
        rates.append((rate, capped_by))
        if capped_by is not None:
            break
    return rates


def build_plan(request: PlanRequest, product: Product) -> Plan:
    """Build the ramp for one patient and one infusion.

    Raises:
        PlanError: naming the input at fault (weight, dose, indication, a cap below the
            initial rate, ...).
    """
    if request.product_id != product.id:
        raise PlanError("product_id", f"request is for {request.product_id!r}, not {product.id!r}")
    ind = _indication(product, request.indication_id)
    weight_kg, notes = dosing_weight_kg(request)
    notes += _check_dose(request, ind)
    resolution = request.pump_resolution_ml_per_h
    if not resolution.is_finite() or resolution <= 0:
        raise PlanError("pump_resolution_ml_per_h", "must be greater than 0 mL/h")
    conc = product.concentration
    caps, cap_notes = _caps(request, product, ind, weight_kg)
    notes += cap_notes
    binding = min(caps, key=lambda c: c.rate_ml_per_h)
    max_rate = floor_to_resolution(binding.rate_ml_per_h, resolution)
    initial = ind.initial_rate.weight_rate()
    initial_ml_per_h = pump_rate_ml_per_h(initial, weight_kg, conc, resolution)
    if initial_ml_per_h <= 0:
        raise PlanError(
            "pump_resolution_ml_per_h",
            f"the initial rate rounds down to 0 mL/h at {weight_kg} kg with this pump resolution",
        )
    if initial_ml_per_h > max_rate:
        raise PlanError(
            binding.kind.value,
            f"{binding.description} is below the label's initial rate "
            f"({show_mg_per_kg_min(initial.mg_per_kg_min(conc))}, "
            f"{show_ml_per_h(initial_ml_per_h)}): no ramp is possible; ask the prescriber",
        )
    first = ind.first_infusion
    ladder = ind.ladder
    interval = Decimal(ind.step_interval_min)
    first_duration = Decimal(ind.initial_duration_min)
    if request.first_infusion:
        ladder = first.ladder or ladder
        if first.step_interval_min is not None:
            interval = max(interval, Decimal(first.step_interval_min))
            first_duration = max(first_duration, Decimal(first.step_interval_min))
    rates = _step_rates(ladder.weight_rates(), weight_kg, conc, resolution, binding)
    total_volume = dose_volume_ml(request.dose_g_per_kg, weight_kg, conc)
    steps = _schedule(rates, first_duration, interval, total_volume, weight_kg, conc)
    if binding.kind is not CapKind.LABEL_MAX and any(s.capped_by for s in steps):
        notes.append(f"Rate limited by: {binding.description}.")
    return Plan(
        request=request,
        product_id=product.id,
        product_name=product.name,
        indication_id=request.indication_id,
        indication_name=ind.name,
        library_version=product.version,
        ladder_source=str(ladder.source),
        concentration=conc,
        dosing_weight_kg=weight_kg,
        total_dose_g=request.dose_g_per_kg * weight_kg,
        total_volume_ml=total_volume,
        caps=tuple(caps),
        max_rate_ml_per_h=max_rate,
        steps=tuple(steps),
        estimated_duration_min=sum((s.duration_min for s in steps), Decimal(0)),
        notes=(*ind.notes, *notes),
    )


def _schedule(
    rates: list[tuple[Decimal, CapKind | None]],
    first_duration: Decimal,
    interval: Decimal,
    total_volume_ml: Decimal,
    weight_kg: Decimal,
    conc: Concentration,
) -> list[PlanStep]:
    """Lay the rates out in time until the dose volume is given."""
    steps: list[PlanStep] = []
    start = Decimal(0)
    given = Decimal(0)
    for index, (rate, capped_by) in enumerate(rates):
        dwell = first_duration if index == 0 else interval
        remaining = total_volume_ml - given
        volume = (rate * dwell / MINUTES_PER_HOUR).quantize(_VOLUME_STEP)
        last = index == len(rates) - 1 or volume >= remaining
        if last:
            volume = remaining
            duration = (remaining * MINUTES_PER_HOUR / rate).quantize(
                _MINUTE_STEP, rounding=ROUND_CEILING
            )
        else:
            duration = dwell
        steps.append(
            PlanStep(
                number=index + 1,
                rate_ml_per_h=rate,
                rate_mg_per_kg_min=ml_per_h_to_mg_per_kg_min(rate, weight_kg, conc),
                rate_ml_per_kg_min=ml_per_h_to_ml_per_kg_min(rate, weight_kg),
                start_min=start,
                duration_min=duration,
                min_dwell_min=dwell,
                volume_ml=volume,
                capped_by=capped_by,
            )
        )
        if last:
            break
        start += duration
        given += volume
    return steps
