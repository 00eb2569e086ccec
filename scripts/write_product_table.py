"""Write the product tables of docs/admin/library.md and README.md from the shipped library.

The page: one row per product and indication: concentration, where the ramp comes from, the
first-infusion rule, and the planned duration of a usual and of a first infusion for 70 kg at
0.4 g/kg. The README: one row per product (its first indication, PI where it has one) with the
same two durations. Run after changing a product file:
``.venv/bin/python scripts/write_product_table.py``. With ``--check`` it writes nothing and
exits 1 if a table is stale (a test runs that).
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
README = ROOT / "README.md"
README_START = "<!-- product-durations -->"
README_END = "<!-- /product-durations -->"
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


def render_readme() -> str:
    """The README's short table: one row per product, both durations."""
    lines = [
        README_START,
        "| Product | Indication | Usual infusion | First infusion |",
        "|---|---|---|---|",
    ]
    for _, product in sorted(load_library().products.items()):
        indication_id = "pi" if "pi" in product.indications else next(iter(product.indications))
        lines.append(
            f"| {product.name} | {indication_id.upper()} "
            f"| {duration(product, indication_id, first=False)} "
            f"| {duration(product, indication_id, first=True)} |"
        )
    lines.append(README_END)
    return "\n".join(lines)


def current(path: Path = PAGE, start: str = START, end: str = END) -> str:
    """The table as it stands in the file."""
    text = path.read_text(encoding="utf-8")
    return start + text.split(start, 1)[1].split(end, 1)[0] + end


def main(argv: list[str]) -> int:
    """Write the tables into their files (or, with --check, report whether one is stale)."""
    stale = 0
    for path, start, end, table in (
        (PAGE, START, END, render()),
        (README, README_START, README_END, render_readme()),
    ):
        if current(path, start, end) == table:
            continue
        stale += 1
        if "--check" in argv:
            print(f"stale: {path.relative_to(ROOT)} (run scripts/write_product_table.py)")
            continue
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace(current(path, start, end), table), encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 1 if stale and "--check" in argv else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
