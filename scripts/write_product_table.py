"""Write the product table of docs/admin/library.md from the shipped library.

One row per product and indication: concentration, where the ramp comes from, the first-infusion
rule, and the planned duration of a usual and of a first infusion for 70 kg at 0.4 g/kg. Run
after changing a product file: ``.venv/bin/python scripts/write_product_table.py``. With
``--check`` it writes nothing and exits 1 if the table in the page is stale (a test runs that).
"""

from __future__ import annotations

import math
import sys
from decimal import Decimal
from pathlib import Path

from titrator.domain.library import Indication, Product
from titrator.domain.plan import PlanError, build_plan
from titrator.domain.plan_model import PlanRequest
from titrator.files.library import load_library

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "admin" / "library.md"
START = "<!-- product-table -->"
END = "<!-- /product-table -->"
WEIGHT_KG = Decimal(70)
DOSE_G_PER_KG = Decimal("0.4")


def duration(product: Product, indication_id: str, *, first: bool) -> str:
    """The planned duration at 70 kg and 0.4 g/kg, as 'H h MM min' (whole minutes, up)."""
    ind = product.indications[indication_id]
    outside = not ind.dose.min_g_per_kg <= DOSE_G_PER_KG <= ind.dose.max_g_per_kg
    fields: dict[str, object] = {
        "product_id": product.id,
        "indication_id": indication_id,
        "weight_kg": WEIGHT_KG,
        "dose_g_per_kg": DOSE_G_PER_KG,
        "first_infusion": first,
    }
    if outside and "outside_label_reason" in PlanRequest.model_fields:
        fields["outside_label_reason"] = "table example at 0.4 g/kg"
    try:
        plan = build_plan(PlanRequest.model_validate(fields), product)
    except PlanError:
        return "n/a"
    minutes = math.ceil(plan.estimated_duration_min)
    return f"{minutes // 60} h {minutes % 60:02d} min"


def first_rule(ind: Indication) -> str:
    """The first-infusion rule in a few words."""
    rule = ind.first_infusion
    if rule.label_requires_same_ramp:
        return "same ramp (label)"
    parts = []
    if rule.initial_rate is not None:
        parts.append(f"start {rule.initial_rate.value} {rule.initial_rate.unit}")
    if rule.max_rate is not None:
        parts.append(f"max {rule.max_rate.value} {rule.max_rate.unit}")
    interval = rule.step_interval_min
    if interval is not None and interval > ind.step_interval_min:
        parts.append(f"{interval} min steps")
    return f"{', '.join(parts)} ({rule.source})"


def render() -> str:
    """The table, between its markers."""
    lines = [
        START,
        "| Product | Conc. | Indication | Ramp | First infusion | 70 kg, 0.4 g/kg | First |",
        "|---|---|---|---|---|---|---|",
    ]
    for product_id, product in sorted(load_library().products.items()):
        conc = f"{int(product.concentration_mg_per_ml) // 10} %"
        for indication_id, ind in product.indications.items():
            lines.append(
                f"| `{product_id}` | {conc} | `{indication_id}` | {ind.ladder.source} "
                f"| {first_rule(ind)} | {duration(product, indication_id, first=False)} "
                f"| {duration(product, indication_id, first=True)} |"
            )
    lines.append(END)
    return "\n".join(lines)


def current() -> str:
    """The table as it stands in the page."""
    text = PAGE.read_text(encoding="utf-8")
    return START + text.split(START, 1)[1].split(END, 1)[0] + END


def main(argv: list[str]) -> int:
    """Write the table into the page (or, with --check, report whether it is stale)."""
    table = render()
    if current() == table:
        return 0
    if "--check" in argv:
        print(f"stale: {PAGE.relative_to(ROOT)} (run scripts/write_product_table.py)")
        return 1
    text = PAGE.read_text(encoding="utf-8")
    PAGE.write_text(text.replace(current(), table), encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
