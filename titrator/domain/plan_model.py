"""The infusion plan's data shapes: what `plan.build_plan` returns and the session engine walks.

Kept apart from the builder so that the engine, the audit events and the UI can depend on the
shape without the algorithm.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from titrator.domain.model import Frozen
from titrator.domain.plan_words import Sex as Sex  # re-exported: its old home
from titrator.domain.units import Concentration


class WeightBasis(StrEnum):
    """Which weight the dose and rates are computed from."""

    ACTUAL = "actual"
    ADJUSTED = "adjusted"


class CapKind(StrEnum):
    """Where a rate cap comes from."""

    LABEL_MAX = "label_max"
    LABEL_AT_RISK = "label_at_risk"
    SITE_AT_RISK = "site_at_risk"
    FIRST_INFUSION = "first_infusion"
    SITE_PROTOCOL = "site_protocol"
    SITE_MAX = "site_max"
    PUMP_MAX = "pump_max"


class RateCap(Frozen):
    """One applicable upper limit on the rate, expressed as a pump rate for this patient."""

    kind: CapKind
    """Where the limit comes from."""
    rate_ml_per_h: Decimal
    """The limit as an exact (unrounded) pump rate for this patient."""
    description: str
    """Plain-language statement of the limit and its source."""


class CourseRequest(Frozen):
    """Day `day` of a course of `total_g_per_kg` split evenly over `days` consecutive days."""

    total_g_per_kg: Decimal
    days: int
    day: int = 1


class PlanRequest(Frozen):
    """Everything a plan is built from; recorded in the audit log so a plan can be rebuilt.

    The dose is given one way only: `dose_g_per_kg`, `dose_g`, or `course`.
    """

    product_id: str
    indication_id: str
    weight_kg: Decimal
    """Actual body weight, kg."""
    dose_g_per_kg: Decimal | None = None
    """Dose for this infusion, g/kg of dosing weight."""
    dose_g: Decimal | None = None
    """Dose for this infusion in grams (instead of g/kg)."""
    course: CourseRequest | None = None
    """This infusion is one day of a course (instead of a dose for one infusion)."""
    round_to_vials: bool = False
    """Round the dose to the nearest total the product's vial sizes can make (ties down)."""
    outside_label_reason: str | None = None
    """Why a dose outside the label's usual range is given (required for such a dose)."""
    age_years: int | None = None
    """The patient's age in completed years, checked against the label's age limits."""
    site_max_dose_g_per_kg: Decimal | None = None
    """The site's absolute maximum dose for one infusion, g/kg of dosing weight (hard)."""
    first_infusion: bool = False
    """Treatment-naive, switching product, or more than 8 weeks since the last infusion."""
    at_risk: bool = False
    """At risk of renal dysfunction or thrombosis."""
    weight_basis: WeightBasis = WeightBasis.ACTUAL
    height_cm: Decimal | None = None
    """Needed for the adjusted body weight."""
    sex: Sex | None = None
    """Needed for the adjusted body weight."""
    site_at_risk_cap_mg_per_kg_min: Decimal | None = None
    """The site's at-risk cap, used where the label prints no numeric at-risk cap."""
    site_max_rate_ml_per_h: Decimal | None = None
    """A site-wide ceiling on the pump rate, if any."""
    pump_max_rate_ml_per_h: Decimal | None = None
    """The pump's own maximum rate, if known."""
    pump_resolution_ml_per_h: Decimal = Decimal("0.1")
    """Pump rates are rounded down to a multiple of this."""


class PlanStep(Frozen):
    """One rung of the ramp as this patient will receive it."""

    number: int
    """1-based step number."""
    rate_ml_per_h: Decimal
    """Pump rate, rounded down to the pump resolution."""
    rate_mg_per_kg_min: Decimal
    """What the pump rate delivers, in mg/kg/min."""
    rate_ml_per_kg_min: Decimal
    """What the pump rate delivers, in mL/kg/min."""
    start_min: Decimal
    """Minutes from the start of the infusion (assuming every step is tolerated)."""
    duration_min: Decimal
    """Planned minutes at this rate; for the last step, the time to give the remaining volume."""
    min_dwell_min: Decimal
    """Minimum minutes at this rate before the next increase may be considered."""
    volume_ml: Decimal
    """Volume given during this step, mL."""
    capped_by: CapKind | None = None
    """Set when a cap (not the ladder) set this step's rate."""


class VialCount(Frozen):
    """So many vials of one size."""

    size_g: Decimal
    count: int


class CoursePlan(Frozen):
    """Where this infusion sits in its course."""

    total_g_per_kg: Decimal
    days: int
    day: int
    total_g: Decimal
    """The whole course's dose, g."""
    day_dose_g: Decimal
    """This day's dose, g (the days' doses sum to `total_g`)."""
    given_before_g: Decimal
    """The course dose planned on the days before this one, g."""


class OffLabel(Frozen):
    """The plan is for an indication a site file added to the product: an off-label protocol."""

    site_protocol: bool = True
    """Always True: the indication is the site's protocol, not the label's."""
    source: str
    """The published protocol the site follows, in words."""
    url: str
    """Where that protocol is published."""
    reason: str
    """Why and on whose authority the site gives it."""
    file_id: str
    """The site indication file the indication comes from."""
    file_version: str
    """That file's version."""
    file_sha256: str
    """SHA-256 of that file's bytes."""

    @property
    def marker(self) -> str:
        """'off-label: site protocol (SOURCE)', as every plan and log shows it."""
        return f"off-label: site protocol ({self.source})"


class Plan(Frozen):
    """A product-specific ramp for one patient and one infusion."""

    request: PlanRequest
    product_id: str
    product_name: str
    indication_id: str
    indication_name: str
    library_version: str
    """Version string of the product file the plan was built from."""
    ladder_source: str
    """'label' when the label prints the ladder, 'site' for a site ladder."""
    concentration: Concentration
    dosing_weight_kg: Decimal
    total_dose_g: Decimal
    total_volume_ml: Decimal
    caps: tuple[RateCap, ...]
    """Every applicable cap; the lowest binds."""
    max_rate_ml_per_h: Decimal
    """The highest rate this plan may ever run at (lowest cap, rounded down)."""
    steps: tuple[PlanStep, ...]
    estimated_duration_min: Decimal
    notes: tuple[str, ...] = ()
    """Warnings and label notes the nurse should see with the plan."""
    first_infusion_observation_min: Decimal | None = None
    """The product file's `first_infusion.observation_min` for a first-infusion plan (None
    otherwise, and in logs written before it existed): the policy's figure is the floor."""
    dose_g_per_kg: Decimal | None = None
    """The dose given, g/kg of dosing weight (after any rounding to vials); None in plans
    recorded before this field existed (then the request's)."""
    course: CoursePlan | None = None
    vials: tuple[VialCount, ...] | None = None
    """The vials that make the rounded dose (fewest vials), when rounding to vials."""
    ordered_dose_g: Decimal | None = None
    """The dose as ordered before rounding to vials, g."""
    rounding_pct: Decimal | None = None
    """(rounded - ordered) / ordered x 100, when rounding to vials."""
    outside_label: str | None = None
    """How the dose is outside the label's usual range, when it is (with the reason given)."""
    age_text: str | None = None
    """The age and the label's limit it was checked against, when an age was given."""
    off_label: OffLabel | None = None
    """Set when the indication is a site's off-label protocol (a site indication file)."""

    @property
    def dose_per_kg(self) -> Decimal:
        """The dose given, g/kg of dosing weight (old plans: the request's)."""
        if self.dose_g_per_kg is not None:
            return self.dose_g_per_kg
        return self.request.dose_g_per_kg or self.total_dose_g / self.dosing_weight_kg

    @property
    def binding_cap(self) -> RateCap:
        """The lowest applicable cap."""
        return min(self.caps, key=lambda cap: cap.rate_ml_per_h)
