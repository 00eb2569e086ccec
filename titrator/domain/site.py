"""The site's limits on every plan: caps where the label leaves room, and the pump's step."""

from __future__ import annotations

from decimal import Decimal

from titrator.domain.model import Frozen


class SiteLimits(Frozen):
    """What the site configuration adds to every plan (read by `titrator.files.config`).

    Attributes:
        site_at_risk_cap_mg_per_kg_min: the cap for a patient at risk of renal dysfunction or
            thrombosis, applied only to products whose label prints no numeric at-risk cap.
        site_max_rate_ml_per_h: a ceiling on every pump rate, if the site sets one.
        pump_resolution_ml_per_h: rates are rounded down to a multiple of this.
        site_max_dose_g_per_kg: the site's absolute maximum dose for one infusion (hard).
    """

    site_at_risk_cap_mg_per_kg_min: Decimal | None = None
    site_max_rate_ml_per_h: Decimal | None = None
    pump_resolution_ml_per_h: Decimal = Decimal("0.1")
    site_max_dose_g_per_kg: Decimal | None = None
