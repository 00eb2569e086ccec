"""Render a plan for the terminal (a table in all three rate units) and as JSON."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, Decimal
from typing import Any

from titrator.domain.library import Product
from titrator.domain.plan_model import Plan, PlanStep
from titrator.domain.plan_words import DISCLAIMER as DISCLAIMER  # re-exported: its old home
from titrator.domain.units import (
    kg_to_lb,
    plain,
    show_mg_per_kg_min,
    show_ml,
    show_ml_per_h,
    significant,
)


def clock(minutes: Decimal) -> str:
    """'1 h 05 min', '45 min' (rounded up to the minute)."""
    whole = int(minutes.to_integral_value(rounding=ROUND_CEILING))
    hours, mins = divmod(whole, 60)
    return f"{hours} h {mins:02d} min" if hours else f"{mins} min"


def hh_mm(minutes: Decimal) -> str:
    """'0:00', '2:30' (elapsed time from the start, rounded down to the minute)."""
    whole = int(minutes.to_integral_value(rounding=ROUND_DOWN))
    return f"{whole // 60}:{whole % 60:02d}"


def summary_lines(plan: Plan, product: Product) -> list[str]:
    """The plan header: product, indication, weight, dose, maximum rate, duration, ladder."""
    request = plan.request
    basis = "adjusted" if plan.dosing_weight_kg != request.weight_kg else "actual"
    lb = plain(kg_to_lb(plan.dosing_weight_kg), 1)
    flags = [
        name
        for name, on in (("first infusion", request.first_infusion), ("at risk", request.at_risk))
        if on
    ]
    return [
        f"{plan.product_name} ({product.manufacturer}), "
        f"{plain(plan.concentration.percent)} % ({plain(plan.concentration.mg_per_ml)} mg/mL)",
        f"Indication: {plan.indication_name}",
        *off_label_lines(plan),
        f"Dosing weight {plain(plan.dosing_weight_kg)} kg ({basis}; {lb} lb for cross-check)"
        + (f"   [{', '.join(flags)}]" if flags else ""),
        *dose_lines(plan),
        f"Maximum rate {show_ml_per_h(plan.max_rate_ml_per_h)} ({plan.binding_cap.description})",
        f"Estimated duration {clock(plan.estimated_duration_min)} if every step is tolerated",
        f"Ladder source: {plan.ladder_source}   Product file version {plan.library_version}",
    ]


def off_label_lines(plan: Plan) -> list[str]:
    """'OFF-LABEL: site protocol (SOURCE)' and the site file, for a site indication's plan."""
    off = plan.off_label
    if off is None:
        return []
    return [
        f"OFF-LABEL: site protocol ({off.source})",
        f"  {off.url}; site file {off.file_id} version {off.file_version}",
    ]


def _g(value: Decimal) -> str:
    return f"{plain(value, 2)} g"


def course_line(plan: Plan) -> str | None:
    """'Course day 2 of 5: 28 g today; 28 g of 140 g given before' (None: not a course)."""
    course = plan.course
    if course is None:
        return None
    return (
        f"Course day {course.day} of {course.days}: {_g(course.day_dose_g)} today; "
        f"{_g(course.given_before_g)} of {_g(course.total_g)} given before"
    )


def dose_lines(plan: Plan) -> list[str]:
    """The dose as ordered and as given: per kg, grams, course day, vials, age, off-label."""
    request = plan.request
    per_kg = plain(plan.dose_per_kg.quantize(Decimal("0.001")))
    volume = show_ml(plan.total_volume_ml)
    lines: list[str] = []
    if plan.course is not None:
        course = plan.course
        lines.append(
            f"Course {plain(course.total_g_per_kg)} g/kg over {course.days} days "
            f"= {_g(course.total_g)}; today {per_kg} g/kg = {_g(plan.total_dose_g)} = {volume}"
        )
        lines.append(course_line(plan) or "")
    elif plan.vials is not None and plan.ordered_dose_g is not None:
        pct = plan.rounding_pct if plan.rounding_pct is not None else Decimal(0)
        sign = "+" if pct > 0 else ""
        vials = ", ".join(f"{v.count} x {plain(v.size_g)} g" for v in plan.vials)
        lines.append(
            f"Dose ordered {_g(plan.ordered_dose_g)}, rounded to whole vials: "
            f"{_g(plan.total_dose_g)} ({sign}{plain(pct)} %) = {per_kg} g/kg = {volume}"
        )
        lines.append(f"Vials: {vials}")
    elif request.dose_g is not None:
        lines.append(f"Dose {_g(plan.total_dose_g)} = {per_kg} g/kg = {volume}")
    else:
        lines.append(f"Dose {plain(plan.dose_per_kg)} g/kg = {_g(plan.total_dose_g)} = {volume}")
    if plan.outside_label is not None:
        lines.append(f"OUTSIDE LABEL DOSE: {plan.outside_label}")
    lines.append(
        f"Age {plan.age_text}"
        if plan.age_text
        else "Age not given: the label's age limits were not checked"
    )
    return lines


def _row(step: PlanStep) -> str:
    cap = " cap" if step.capped_by else ""
    return (
        f"{step.number:>4}  {significant(step.rate_mg_per_kg_min):>9}  "
        f"{significant(step.rate_ml_per_kg_min):>9}  {plain(step.rate_ml_per_h, 1):>6}  "
        f"{hh_mm(step.start_min):>5}  {clock(step.duration_min):>12}  "
        f"{plain(step.volume_ml, 1):>8}{cap}"
    )


def plan_table(plan: Plan, product: Product) -> str:
    """The plan as text: header, one row per step, notes and the disclaimer."""
    lines = summary_lines(plan, product)
    lines += [
        "",
        "Step  mg/kg/min  mL/kg/min    mL/h  Start      Duration   Vol mL",
    ]
    lines += [_row(step) for step in plan.steps]
    last = plan.steps[-1]
    lines.append(
        f"The last step ({show_ml_per_h(last.rate_ml_per_h)}, "
        f"{show_mg_per_kg_min(last.rate_mg_per_kg_min)}) runs until the dose volume is given."
    )
    if plan.notes:
        lines += ["", "Notes:"] + [f"- {note}" for note in plan.notes]
    lines += ["", DISCLAIMER]
    return "\n".join(lines)


def _num(value: Decimal, places: int | None = None) -> str:
    return plain(value, places)


def plan_json(plan: Plan) -> dict[str, Any]:
    """The plan as a JSON-ready dict; numbers are decimal strings."""
    return {
        "product": plan.product_id,
        "product_name": plan.product_name,
        "indication": plan.indication_id,
        "indication_name": plan.indication_name,
        "library_version": plan.library_version,
        "ladder_source": plan.ladder_source,
        "concentration_mg_per_ml": _num(plan.concentration.mg_per_ml),
        "weight_kg": _num(plan.request.weight_kg),
        "dosing_weight_kg": _num(plan.dosing_weight_kg),
        "dose_g_per_kg": _num(plan.dose_per_kg),
        "first_infusion": plan.request.first_infusion,
        "at_risk": plan.request.at_risk,
        "total_dose_g": _num(plan.total_dose_g),
        "total_volume_ml": _num(plan.total_volume_ml),
        "max_rate_ml_per_h": _num(plan.max_rate_ml_per_h),
        "binding_cap": {
            "kind": str(plan.binding_cap.kind),
            "description": plan.binding_cap.description,
        },
        "estimated_duration_min": _num(plan.estimated_duration_min),
        "steps": [
            {
                "step": step.number,
                "rate_mg_per_kg_min": _num(step.rate_mg_per_kg_min, 6),
                "rate_ml_per_kg_min": _num(step.rate_ml_per_kg_min, 8),
                "rate_ml_per_h": _num(step.rate_ml_per_h),
                "start_min": _num(step.start_min),
                "duration_min": _num(step.duration_min),
                "min_dwell_min": _num(step.min_dwell_min),
                "volume_ml": _num(step.volume_ml),
                "capped_by": str(step.capped_by) if step.capped_by else None,
            }
            for step in plan.steps
        ],
        "notes": list(plan.notes),
        **_dose_json(plan),
    }


def _dose_json(plan: Plan) -> dict[str, Any]:
    """The course, vials, rounding, age, outside-label and off-label keys."""
    extra: dict[str, Any] = {}
    course = plan.course
    if course is not None:
        extra["course"] = {
            "total_g_per_kg": _num(course.total_g_per_kg),
            "days": course.days,
            "day": course.day,
            "total_g": _num(course.total_g),
            "day_dose_g": _num(course.day_dose_g),
            "given_before_g": _num(course.given_before_g),
        }
    if plan.vials is not None:
        extra["vials"] = [{"size_g": _num(v.size_g), "count": v.count} for v in plan.vials]
        extra["ordered_dose_g"] = _num(plan.ordered_dose_g or Decimal(0))
        extra["rounding_pct"] = _num(plan.rounding_pct or Decimal(0))
    extra["age_years"] = plan.request.age_years
    extra["age"] = plan.age_text
    extra["outside_label"] = plan.outside_label
    off = plan.off_label
    extra["off_label"] = (
        None
        if off is None
        else {
            "site_protocol": True,
            "marker": off.marker,
            "source": off.source,
            "url": off.url,
            "reason": off.reason,
            "file": off.file_id,
            "file_version": off.file_version,
            "file_sha256": off.file_sha256,
        }
    )
    return extra
