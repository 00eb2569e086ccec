"""The infusion plan's data shapes: what `plan.build_plan` returns and the session engine walks.

Kept apart from the builder so that the engine, the audit events and the UI can depend on the
shape without the algorithm.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from titrator.domain.model import Frozen
from titrator.domain.units import Concentration


class WeightBasis(StrEnum):
    """Which weight the dose and rates are computed from."""

    ACTUAL = "actual"
    ADJUSTED = "adjusted"


class Sex(StrEnum):
    """Sex used by the ideal-body-weight formula."""

    FEMALE = "female"
    MALE = "male"


class CapKind(StrEnum):
    """Where a rate cap comes from."""

    LABEL_MAX = "label_max"
    LABEL_AT_RISK = "label_at_risk"
    SITE_AT_RISK = "site_at_risk"
    FIRST_INFUSION = "first_infusion"
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


class PlanRequest(Frozen):
    """Everything a plan is built from; recorded in the audit log so a plan can be rebuilt."""

    product_id: str
    indication_id: str
    weight_kg: Decimal
    """Actual body weight, kg."""
    dose_g_per_kg: Decimal
    """Dose for this infusion, g/kg of dosing weight."""
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

    @property
    def binding_cap(self) -> RateCap:
        """The lowest applicable cap."""
        return min(self.caps, key=lambda cap: cap.rate_ml_per_h)
