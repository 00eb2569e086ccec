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
from functools import lru_cache
from typing import Final

from titrator.domain.doses import GRAM_STEP, course_day_doses, round_to_vials
from titrator.domain.library import AgeLimit, Indication, LabelRate, Ladder, Product
from titrator.domain.model import Frozen
from titrator.domain.plan_model import (
    CapKind,
    CoursePlan,
    Plan,
    PlanRequest,
    PlanStep,
    RateCap,
    Sex,
    VialCount,
    WeightBasis,
)
from titrator.domain.site_indications import label_max_rate, off_label_of
from titrator.domain.units import (
    MINUTES_PER_HOUR,
    Concentration,
    RateUnit,
    WeightRate,
    dose_volume_ml,
    floor_to_resolution,
    grams_volume_ml,
    ml_per_h_to_mg_per_kg_min,
    ml_per_h_to_ml_per_kg_min,
    plain,
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
ABSOLUTE_MAX_DOSE_G_PER_KG: Final = Decimal(3)
"""No IVIG regimen gives more than 3 g/kg in one infusion (the library's own rule, library.py);
a hard limit whatever the site configures."""
MAX_COURSE_DAYS: Final = 10
MAX_AGE_YEARS: Final = 120
MAX_REASON_CHARS: Final = 200


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


class _Dose(Frozen):
    """The dose of this infusion as resolved from the request (see `_dose`)."""

    total_g: Decimal
    g_per_kg: Decimal
    course: CoursePlan | None = None
    vials: tuple[VialCount, ...] | None = None
    ordered_g: Decimal | None = None
    rounding_pct: Decimal | None = None
    outside_label: str | None = None
    notes: tuple[str, ...] = ()


def _positive(field: str, value: Decimal, unit: str) -> None:
    if not value.is_finite() or value <= 0:
        raise PlanError(field, f"must be greater than 0 {unit}")


def _course(
    request: PlanRequest, product: Product, ind: Indication, weight_kg: Decimal
) -> CoursePlan:
    course = request.course
    assert course is not None
    _positive("course_total_g_per_kg", course.total_g_per_kg, "g/kg")
    if not 1 <= course.days <= MAX_COURSE_DAYS:
        raise PlanError("course_days", f"must be 1 to {MAX_COURSE_DAYS} days")
    if not 1 <= course.day <= course.days:
        raise PlanError("course_day", f"must be 1 to {course.days} (the course's days)")
    allowed = [f"{plain(c.total_g_per_kg)} g/kg over {_days(c.days)} days" for c in ind.courses]
    if not any(
        c.total_g_per_kg == course.total_g_per_kg and course.days in c.days for c in ind.courses
    ):
        said = (
            f"the label allows {'; '.join(allowed)}"
            if allowed
            else "the label prints no course for it (single infusions only)"
        )
        raise PlanError(
            "course_days",
            f"{plain(course.total_g_per_kg)} g/kg over {course.days} days is not a course the "
            f"{product.name} label allows for {ind.name}: {said}",
        )
    with localcontext() as ctx:
        ctx.prec = 34
        total_g = (course.total_g_per_kg * weight_kg).quantize(GRAM_STEP, rounding=ROUND_HALF_EVEN)
    days = course_day_doses(total_g, course.days)
    return CoursePlan(
        total_g_per_kg=course.total_g_per_kg,
        days=course.days,
        day=course.day,
        total_g=total_g,
        day_dose_g=days[course.day - 1],
        given_before_g=sum(days[: course.day - 1], Decimal(0)),
    )


def _days(days: tuple[int, ...]) -> str:
    if len(days) > 2 and list(days) == list(range(days[0], days[-1] + 1)):
        return f"{days[0]} to {days[-1]}"
    return " or ".join(str(d) for d in days)


def _outside_label(g_per_kg: Decimal, ind: Indication) -> str | None:
    """How the dose lies outside the label's usual range per infusion, or None inside it."""
    low, high = ind.dose.min_g_per_kg, ind.dose.max_g_per_kg
    shown = plain(g_per_kg.quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN))
    if g_per_kg > high:
        side = "above"
    elif g_per_kg < low:
        side = "below"
    else:
        return None
    whose = "the label's" if ind.site_protocol is None else "the site protocol's"
    return (
        f"{shown} g/kg is {side} {whose} usual range of {plain(low)} to {plain(high)} g/kg "
        f"per infusion ({ind.dose.regimen})"
    )


def _dose(request: PlanRequest, product: Product, ind: Indication, weight_kg: Decimal) -> _Dose:
    """The dose of this infusion: per kg, in grams or a course day; rounded; checked.

    The label's usual range per infusion is a soft limit (outside it needs a reason); the
    site's absolute maximum and `ABSOLUTE_MAX_DOSE_G_PER_KG` are hard.
    """
    given = [
        name
        for name, value in (
            ("dose_g_per_kg", request.dose_g_per_kg),
            ("dose_g", request.dose_g),
            ("course", request.course),
        )
        if value is not None
    ]
    if not given:
        raise PlanError("dose_g_per_kg", "a dose is required (g/kg, grams, or a course)")
    if len(given) > 1:
        raise PlanError(given[1], f"give the dose one way only (also given: {given[0]})")
    field = "course_total_g_per_kg" if given[0] == "course" else given[0]
    course = None
    if request.course is not None:
        course = _course(request, product, ind, weight_kg)
        ordered = course.day_dose_g
    elif request.dose_g is not None:
        _positive("dose_g", request.dose_g, "g")
        ordered = request.dose_g
    else:
        assert request.dose_g_per_kg is not None
        _positive("dose_g_per_kg", request.dose_g_per_kg, "g/kg")
        ordered = request.dose_g_per_kg * weight_kg
    total, vials, pct, ordered_g = ordered, None, None, None
    notes: list[str] = []
    if request.round_to_vials:
        if course is not None:
            raise PlanError(
                "round_to_vials", "not with a course: round each day's dose as its own order"
            )
        if product.vials is None:
            raise PlanError(
                "round_to_vials",
                f"the {product.name} product file lists no vial sizes (How Supplied); "
                "give the dose without rounding, or have the file updated",
            )
        total, pairs = round_to_vials(ordered, product.vials.sizes_g)
        vials = tuple(VialCount(size_g=size, count=count) for size, count in pairs)
        ordered_g = ordered
        with localcontext() as ctx:
            ctx.prec = 34
            pct = ((total - ordered) * 100 / ordered).quantize(
                Decimal("0.1"), rounding=ROUND_HALF_EVEN
            )
    with localcontext() as ctx:
        ctx.prec = 34
        if request.dose_g_per_kg is not None and vials is None:
            g_per_kg = request.dose_g_per_kg
        else:
            g_per_kg = total / weight_kg
    shown = plain(g_per_kg.quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN))
    site_max = request.site_max_dose_g_per_kg
    for limit, whose in (
        (site_max, "the site's maximum for one infusion"),
        (ABSOLUTE_MAX_DOSE_G_PER_KG, "the most any IVIG regimen gives in one infusion"),
    ):
        if limit is not None and g_per_kg > limit:
            raise PlanError(
                field,
                f"{shown} g/kg ({plain(total, 2)} g at {plain(weight_kg)} kg) is above {whose} "
                f"({plain(limit)} g/kg); this limit cannot be overridden",
            )
    reason = request.outside_label_reason
    if reason is not None:
        reason = reason.strip()
        if not reason or len(reason) > MAX_REASON_CHARS or "\n" in reason:
            raise PlanError(
                "outside_label_reason", f"one line of 1 to {MAX_REASON_CHARS} characters"
            )
    outside = None if course is not None else _outside_label(g_per_kg, ind)
    below = g_per_kg < ind.dose.min_g_per_kg
    if outside is not None and reason is None and not below:
        raise PlanError(
            field, f"{outside}: a dose above it needs a reason (the outside-label reason)"
        )
    if outside is None and reason is not None:
        raise PlanError(
            "outside_label_reason",
            "the dose is within the label's usual range: no outside-label reason is needed",
        )
    outside_label = None
    if outside is not None and reason is not None:
        outside_label = f"{outside}; reason: {reason}"
        notes.append(f"Outside the label's usual dose: {outside_label}.")
    elif outside is not None:
        # Below the usual range without a reason: planned with a note, as before (divided doses).
        notes.append(
            f"Dose {shown} g/kg is below the usual {ind.dose.min_g_per_kg} g/kg per infusion "
            f"({ind.dose.regimen}); confirm it is a divided dose as prescribed."
        )
    return _Dose(
        total_g=total,
        g_per_kg=g_per_kg,
        course=course,
        vials=vials,
        ordered_g=ordered_g,
        rounding_pct=pct,
        outside_label=outside_label,
        notes=tuple(notes),
    )


def _age(request: PlanRequest, product: Product, ind: Indication) -> str | None:
    """The age checked against the label's limits for the indication (None: no age given)."""
    age = request.age_years
    if age is None:
        return None
    if not 0 <= age <= MAX_AGE_YEARS:
        raise PlanError("age_years", f"must be 0 to {MAX_AGE_YEARS} years")
    limit = ind.age
    if limit is None:
        raise PlanError(
            "age_years",
            f"the {product.name} product file carries no label age limits for {ind.name}, so "
            "the age cannot be checked; have the file updated",
        )
    too_young = limit.min_years is not None and age < limit.min_years
    too_old = limit.max_years is not None and age > limit.max_years
    if too_young or too_old:
        raise PlanError(
            "age_years",
            f"{age} years is outside the label's ages for {product.name} in {ind.name} "
            f"({_age_range(limit)}; {limit.text})",
        )
    return f"{age} years (label: {_age_range(limit)})"


def _age_range(limit: AgeLimit) -> str:
    if limit.min_years is not None and limit.max_years is not None:
        return f"{limit.min_years} to {limit.max_years} years"
    if limit.min_years is not None:
        return f"{limit.min_years} years and over"
    if limit.max_years is not None:
        return f"up to {limit.max_years} years"
    return "no age limit printed"


def _conservative(rate: LabelRate, conc: Concentration) -> WeightRate:
    """`rate.conservative(conc)`, worked out once per product's printed rate, not per plan."""
    return _conservative_of(id(rate), rate, conc)


def _rungs(ladder: Ladder) -> tuple[WeightRate, ...]:
    """`ladder.weight_rates()`, made once per product's ladder, not per plan."""
    return _rungs_of(id(ladder), ladder)


# Keyed by the library object itself (its id, held alive by the cache), not only by equality:
# Decimal("3") == Decimal("3.0"), and a printed rate keeps the digits the label prints.
@lru_cache(maxsize=512)
def _conservative_of(_ident: int, rate: LabelRate, conc: Concentration) -> WeightRate:
    return rate.conservative(conc)


@lru_cache(maxsize=512)
def _rungs_of(_ident: int, ladder: Ladder) -> tuple[WeightRate, ...]:
    return ladder.weight_rates()


def _caps(
    request: PlanRequest, product: Product, ind: Indication, weight_kg: Decimal
) -> tuple[list[RateCap], list[str]]:
    conc = product.concentration
    notes: list[str] = []

    def cap(kind: CapKind, rate: WeightRate, what: str) -> RateCap:
        ml_per_h = rate.ml_per_h(weight_kg, conc)
        text = f"{what}: {rate.value} {rate.unit} ({show_ml_per_h(ml_per_h)} at {weight_kg} kg)"
        return RateCap(kind=kind, rate_ml_per_h=ml_per_h, description=text)

    if ind.site_protocol is None:
        caps = [cap(CapKind.LABEL_MAX, _conservative(ind.max_rate, conc), "Label maximum")]
    else:  # an off-label site protocol: its own maximum, and never above the label's
        caps = [
            cap(CapKind.LABEL_MAX, label_max_rate(product), "Label maximum of the product"),
            cap(CapKind.SITE_PROTOCOL, _conservative(ind.max_rate, conc), "Site protocol maximum"),
        ]
    if request.at_risk:
        label_cap = ind.at_risk_cap or product.at_risk.cap
        notes.append(f"At risk: {product.at_risk.text}")
        if label_cap is not None:
            caps.append(
                cap(CapKind.LABEL_AT_RISK, _conservative(label_cap, conc), "Label at-risk cap")
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
                cap(
                    CapKind.FIRST_INFUSION,
                    _conservative(first.max_rate, conc),
                    "First-infusion max",
                )
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
    age_text = _age(request, product, ind)
    dose = _dose(request, product, ind, weight_kg)
    notes += dose.notes
    resolution = request.pump_resolution_ml_per_h
    if not resolution.is_finite() or resolution <= 0:
        raise PlanError("pump_resolution_ml_per_h", "must be greater than 0 mL/h")
    conc = product.concentration
    caps, cap_notes = _caps(request, product, ind, weight_kg)
    notes += cap_notes
    binding = min(caps, key=lambda c: c.rate_ml_per_h)
    max_rate = floor_to_resolution(binding.rate_ml_per_h, resolution)
    first = ind.first_infusion
    # A first infusion starts at its own, lower initial rate where the label prints one.
    start = (first.initial_rate if request.first_infusion else None) or ind.initial_rate
    initial = start.weight_rate()
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
    ladder = ind.ladder
    interval = Decimal(ind.step_interval_min)
    first_duration = Decimal(ind.initial_duration_min)
    if request.first_infusion:
        ladder = first.ladder or ladder
        if first.initial_duration_min is not None:
            first_duration = max(first_duration, Decimal(first.initial_duration_min))
        if first.step_interval_min is not None:
            interval = max(interval, Decimal(first.step_interval_min))
            first_duration = max(first_duration, Decimal(first.step_interval_min))
    rates = _step_rates(_rungs(ladder), weight_kg, conc, resolution, binding)
    total_volume = (
        dose_volume_ml(request.dose_g_per_kg, weight_kg, conc)
        if request.dose_g_per_kg is not None and dose.vials is None
        else grams_volume_ml(dose.total_g, conc)
    )
    steps = _schedule(rates, first_duration, interval, total_volume, weight_kg, conc)
    if binding.kind not in _OWN_MAXIMUM and any(s.capped_by for s in steps):
        notes.append(f"Rate limited by: {binding.description}.")
    off_label = off_label_of(ind)
    marker = () if off_label is None else (f"{off_label.marker}: {off_label.reason}",)
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
        total_dose_g=dose.total_g,
        total_volume_ml=total_volume,
        caps=tuple(caps),
        max_rate_ml_per_h=max_rate,
        steps=tuple(steps),
        estimated_duration_min=sum((s.duration_min for s in steps), Decimal(0)),
        notes=(*marker, *ind.notes, *notes),
        first_infusion_observation_min=(
            Decimal(first.observation_min)
            if request.first_infusion and first.observation_min is not None
            else None
        ),
        dose_g_per_kg=dose.g_per_kg,
        course=dose.course,
        vials=dose.vials,
        ordered_dose_g=dose.ordered_g,
        rounding_pct=dose.rounding_pct,
        outside_label=dose.outside_label,
        age_text=age_text,
        off_label=off_label,
    )


_OWN_MAXIMUM: Final = (CapKind.LABEL_MAX, CapKind.SITE_PROTOCOL)
"""Caps that are the indication's own maximum (no 'rate limited by' note)."""


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
