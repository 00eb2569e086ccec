"""Shipped product files read as models (schema only), for the dose tests.

The dose rules need the label facts (courses, vials, ages) of one product, not the whole
library's semantic checks, so these tests read the one file they use.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

from titrator.domain.library import Product
from titrator.domain.plan import build_plan
from titrator.domain.plan_model import Plan, PlanRequest
from titrator.files.library import protocols_dir, read_toml


@cache
def shipped(product_id: str) -> Product:
    """The shipped product file `product_id`, validated against the schema."""
    path = protocols_dir() / "products" / f"{product_id}.toml"
    return Product.model_validate(read_toml(path))


def plan_for(product_id: str, indication: str, weight: str = "70", **dose: Any) -> Plan:
    """Build a plan for a shipped product (the dose fields as keyword arguments)."""
    request = PlanRequest.model_validate(
        {
            "product_id": product_id,
            "indication_id": indication,
            "weight_kg": Decimal(weight),
            **dose,
        }
    )
    return build_plan(request, shipped(product_id))
