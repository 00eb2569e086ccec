"""The infusion setup: what the nurse types before a plan is shown, validated field by field.

The setup screen is a thin shell over `validate_setup`: it hands over the text exactly as typed
and gets back either an `InfusionSetup` or one `FieldProblem` per bad field. Nothing typed is
corrected or clamped. The first-infusion rule is derived from the infusion history (never
treated, a product switch, or more than 8 weeks since the last infusion) and the at-risk flag from
the risk factors, each with its reasons so the nurse sees why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel, ConfigDict

from titrator.domain.library import Product
from titrator.domain.plan import MAX_WEIGHT_KG, MIN_WEIGHT_KG
from titrator.domain.plan_model import PlanRequest, Sex, WeightBasis
from titrator.domain.site import SiteLimits
from titrator.domain.units import InputError, parse_plain_decimal

FIRST_INFUSION_GAP: Final = timedelta(weeks=8)
"""A gap longer than this since the last infusion makes this a first infusion again."""
NEVER: Final = "never"
"""What the nurse types (or picks) as the last product for a treatment-naive patient."""
_IDENTIFIER: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,39}$")
_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class RiskFactor(StrEnum):
    """Risk factors for renal dysfunction or thrombosis named in IVIG labels."""

    RENAL_INSUFFICIENCY = "renal_insufficiency"
    DIABETES = "diabetes"
    AGE_OVER_65 = "age_over_65"
    VOLUME_DEPLETION = "volume_depletion"
    SEPSIS = "sepsis"
    PARAPROTEINAEMIA = "paraproteinaemia"
    NEPHROTOXIC_DRUGS = "nephrotoxic_drugs"
    THROMBOSIS_HISTORY = "thrombosis_history"
    HYPERCOAGULABLE = "hypercoagulable"
    IMMOBILISATION = "immobilisation"
    HYPERVISCOSITY = "hyperviscosity"
    CENTRAL_CATHETER = "central_catheter"
    ESTROGENS = "estrogens"
    CARDIOVASCULAR = "cardiovascular"

    @property
    def label(self) -> str:
        """Plain-language name for the checklist."""
        return _RISK_LABELS[self]


_RISK_LABELS: Final = {
    RiskFactor.RENAL_INSUFFICIENCY: "pre-existing renal insufficiency",
    RiskFactor.DIABETES: "diabetes mellitus",
    RiskFactor.AGE_OVER_65: "age over 65",
    RiskFactor.VOLUME_DEPLETION: "volume depletion",
    RiskFactor.SEPSIS: "sepsis",
    RiskFactor.PARAPROTEINAEMIA: "paraproteinaemia",
    RiskFactor.NEPHROTOXIC_DRUGS: "nephrotoxic drugs",
    RiskFactor.THROMBOSIS_HISTORY: "history of thrombosis",
    RiskFactor.HYPERCOAGULABLE: "hypercoagulable condition",
    RiskFactor.IMMOBILISATION: "prolonged immobilisation",
    RiskFactor.HYPERVISCOSITY: "hyperviscosity (e.g. monoclonal gammopathy)",
    RiskFactor.CENTRAL_CATHETER: "indwelling central catheter",
    RiskFactor.ESTROGENS: "estrogens / hormonal therapy",
    RiskFactor.CARDIOVASCULAR: "cardiovascular risk factors",
}


class FieldProblem(BaseModel):
    """One setup field that cannot be used as typed."""

    model_config = ConfigDict(frozen=True)

    field: str
    reason: str
    raw: str


class InfusionSetup(BaseModel):
    """A validated setup: who, which patient, which product and dose, and why these flags."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nurse_id: str
    patient_id_1: str
    patient_id_2: str
    lot: str
    plan_request: PlanRequest
    last_infusion: date | None
    last_product_id: str | None
    first_infusion_reasons: tuple[str, ...]
    """Why this is a first infusion (empty when it is not)."""
    risk_factors: tuple[RiskFactor, ...]
    raw: dict[str, str]
    """Every field exactly as typed, for the audit log."""
    order_id: str | None = None
    """The prescriber's order this infusion carries out (the hospital's order number), when
    the nurse typed one; exports reference it (FHIR `MedicationAdministration.request`)."""


class SetupInvalid(ValueError):
    """The setup has bad fields; `problems` names each."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.reason}" for p in problems))
        self.problems = problems


def first_infusion_reasons(
    today: date, last_infusion: date | None, last_product_id: str | None, product_id: str
) -> list[str]:
    """Why this infusion counts as a first infusion (treatment-naive, switch, or long gap)."""
    if last_product_id is None and last_infusion is None:
        return ["treatment-naive (no previous infusion)"]
    reasons: list[str] = []
    if last_product_id is not None and last_product_id != product_id:
        reasons.append(f"switching product (last: {last_product_id})")
    if last_infusion is not None and today - last_infusion > FIRST_INFUSION_GAP:
        weeks = (today - last_infusion).days // 7
        reasons.append(f"more than 8 weeks since the last infusion ({weeks} weeks)")
    return reasons


def identifier_problem(raw: str) -> str | None:
    """Why `raw` is not usable as an identifier (nurse, patient, lot, order), or None."""
    text = raw.strip()
    if not text:
        return "required"
    return None if _IDENTIFIER.match(text) else "letters, digits, space . _ / - only (up to 40)"


def _identifier(raw: str, field: str, problems: list[FieldProblem]) -> str:
    text = raw.strip()
    if not text:
        problems.append(FieldProblem(field=field, reason="required", raw=raw))
    elif not _IDENTIFIER.match(text):
        problems.append(
            FieldProblem(
                field=field,
                reason="letters, digits, space . _ / - only (up to 40)",
                raw=raw,
            )
        )
    return text


def _number(
    raw: str, field: str, low: Decimal, high: Decimal, unit: str, problems: list[FieldProblem]
) -> Decimal | None:
    try:
        value = parse_plain_decimal(raw, field)
    except InputError as error:
        problems.append(FieldProblem(field=field, reason=error.reason, raw=raw))
        return None
    if not low <= value <= high:
        problems.append(
            FieldProblem(field=field, reason=f"must be {low} to {high} {unit}", raw=raw)
        )
        return None
    return value


def _last_date(raw: str, today: date, problems: list[FieldProblem]) -> date | None:
    text = raw.strip()
    if not text or text.lower() == NEVER:
        return None
    if not _DATE.match(text):
        problems.append(FieldProblem(field="last_infusion", reason="use YYYY-MM-DD", raw=raw))
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        problems.append(FieldProblem(field="last_infusion", reason="no such date", raw=raw))
        return None
    if value > today:
        problems.append(FieldProblem(field="last_infusion", reason="is in the future", raw=raw))
        return None
    return value


DOSE_FIELDS: Final = ("dose_g_per_kg", "dose_g", "course_g_per_kg")
"""The three ways to give the dose; exactly one is filled in."""
YES: Final = "yes"
"""What the round-to-vials choice holds when chosen."""


def _whole(raw: str, field: str, low: int, high: int, problems: list[FieldProblem]) -> int | None:
    value = _number(raw, field, Decimal(low), Decimal(high), "", problems)
    if value is None:
        return None
    if value != value.to_integral_value() or "." in raw:
        problems.append(FieldProblem(field=field, reason="must be a whole number", raw=raw))
        return None
    return int(value)


def _dose_fields(
    raw: Mapping[str, str], problems: list[FieldProblem]
) -> tuple[bool, dict[str, Any]]:
    """The dose as the plan request takes it: per kg, grams or a course; and its options.

    Returns whether the dose fields are usable, and the request fields they give.
    """
    before = len(problems)
    filled = [name for name in DOSE_FIELDS if raw.get(name, "").strip()]
    fields: dict[str, Any] = {}
    if not filled:
        problems.append(
            FieldProblem(
                field="dose_g_per_kg",
                reason="required (or a dose in grams, or a course)",
                raw=raw.get("dose_g_per_kg", ""),
            )
        )
    elif len(filled) > 1:
        problems.append(
            FieldProblem(
                field=filled[1],
                reason=f"give the dose one way only (also filled in: {_FIELD_WORDS[filled[0]]})",
                raw=raw.get(filled[1], ""),
            )
        )
    elif filled[0] == "dose_g_per_kg":
        fields["dose_g_per_kg"] = _number(
            raw["dose_g_per_kg"], "dose_g_per_kg", Decimal("0.01"), Decimal(3), "g/kg", problems
        )
    elif filled[0] == "dose_g":
        fields["dose_g"] = _number(
            raw["dose_g"], "dose_g", Decimal("0.1"), Decimal(900), "g", problems
        )
    else:
        total = _number(
            raw["course_g_per_kg"], "course_g_per_kg", Decimal("0.01"), Decimal(3), "g/kg", problems
        )
        days_raw = raw.get("course_days", "")
        days = _whole(days_raw, "course_days", 1, 10, problems)
        day_raw = raw.get("course_day", "").strip() or "1"
        day = _whole(day_raw, "course_day", 1, 10, problems)
        if total is not None and days is not None and day is not None:
            fields["course"] = {"total_g_per_kg": total, "days": days, "day": day}
    if filled != ["course_g_per_kg"]:
        for name in ("course_days", "course_day"):
            if raw.get(name, "").strip():
                problems.append(
                    FieldProblem(field=name, reason="only with a course total", raw=raw[name])
                )
    fields["round_to_vials"] = raw.get("round_to_vials", "") == YES
    reason = raw.get("outside_label_reason", "").strip()
    fields["outside_label_reason"] = reason or None
    return len(problems) == before, fields


_FIELD_WORDS: Final = {
    "dose_g_per_kg": "dose (g/kg)",
    "dose_g": "dose (g)",
    "course_g_per_kg": "course total (g/kg)",
}


def age_in_years(born: date, today: date) -> int:
    """Completed years of age on `today`."""
    years = today.year - born.year
    return years - ((today.month, today.day) < (born.month, born.day))


def _age_years(raw: str, today: date, problems: list[FieldProblem]) -> int | None:
    """The age from the date of birth as typed (blank: not given)."""
    text = raw.strip()
    if not text:
        return None
    if not _DATE.match(text):
        problems.append(FieldProblem(field="date_of_birth", reason="use YYYY-MM-DD", raw=raw))
        return None
    try:
        born = date.fromisoformat(text)
    except ValueError:
        problems.append(FieldProblem(field="date_of_birth", reason="no such date", raw=raw))
        return None
    if born > today:
        problems.append(FieldProblem(field="date_of_birth", reason="is in the future", raw=raw))
        return None
    age = age_in_years(born, today)
    if age > 120:
        problems.append(
            FieldProblem(field="date_of_birth", reason="more than 120 years ago", raw=raw)
        )
        return None
    return age


def validate_setup(
    raw: Mapping[str, str],
    risk_factors: tuple[RiskFactor, ...],
    products: Mapping[str, Product],
    today: date,
    site: SiteLimits,
) -> InfusionSetup:
    """Validate the setup fields as typed.

    Args:
        raw: field name -> text as typed: nurse_id, patient_id_1, patient_id_2, weight_kg,
            height_cm, sex, product_id, indication_id, dose_g_per_kg, lot, last_infusion,
            last_product_id, weight_basis; and, optional, dose_g or course_g_per_kg,
            course_days, course_day (instead of dose_g_per_kg), round_to_vials ('yes'),
            outside_label_reason, date_of_birth (YYYY-MM-DD; blank: age not given),
            order_id (the order number; blank: none entered).
        risk_factors: the ticked risk factors.
        products: the library's products by id.
        today: the local date (for the 8-week rule).
        site: the site configuration's limits.

    Raises:
        SetupInvalid: naming every bad field.
    """
    problems: list[FieldProblem] = []

    def get(name: str) -> str:
        return raw.get(name, "")

    nurse = _identifier(get("nurse_id"), "nurse_id", problems)
    id1 = _identifier(get("patient_id_1"), "patient_id_1", problems)
    id2 = _identifier(get("patient_id_2"), "patient_id_2", problems)
    if id1 and id1 == id2:
        problems.append(
            FieldProblem(
                field="patient_id_2", reason="must differ from the first", raw=get("patient_id_2")
            )
        )
    lot = _identifier(get("lot"), "lot", problems)
    order_id = (
        _identifier(get("order_id"), "order_id", problems) if get("order_id").strip() else None
    )
    weight = _number(get("weight_kg"), "weight_kg", MIN_WEIGHT_KG, MAX_WEIGHT_KG, "kg", problems)
    dose_ok, dose_fields = _dose_fields(raw, problems)
    dose = Decimal(1) if dose_ok else None  # only whether the dose fields are usable
    age = _age_years(get("date_of_birth"), today, problems)
    basis = WeightBasis(get("weight_basis") or WeightBasis.ACTUAL.value)
    height: Decimal | None = None
    if get("height_cm").strip() or basis is WeightBasis.ADJUSTED:
        height = _number(get("height_cm"), "height_cm", Decimal(100), Decimal(250), "cm", problems)
    sex = Sex(get("sex")) if get("sex") in {s.value for s in Sex} else None
    if basis is WeightBasis.ADJUSTED and sex is None:
        problems.append(
            FieldProblem(field="sex", reason="needed for the adjusted weight", raw=get("sex"))
        )
    product_id = get("product_id")
    product = products.get(product_id)
    if product is None:
        problems.append(FieldProblem(field="product_id", reason="choose a product", raw=product_id))
    indication_id = get("indication_id")
    if product is not None and indication_id not in product.indications:
        problems.append(
            FieldProblem(
                field="indication_id",
                reason="choose an indication of the product",
                raw=indication_id,
            )
        )
    last = _last_date(get("last_infusion"), today, problems)
    last_product_raw = get("last_product_id").strip()
    last_product = None if last_product_raw in ("", NEVER) else last_product_raw
    if not last_product_raw:
        # A blank history is not taken to mean "never treated": the nurse says so explicitly.
        problems.append(
            FieldProblem(
                field="last_product_id",
                reason=f"choose the last product, or {NEVER!r} if never treated",
                raw="",
            )
        )
    if last is None and last_product is not None:
        problems.append(
            FieldProblem(
                field="last_infusion",
                reason="give the date of the last infusion",
                raw=get("last_infusion"),
            )
        )
    if last is not None and last_product_raw == NEVER:
        problems.append(
            FieldProblem(
                field="last_product_id",
                reason="a last infusion date was given: choose its product",
                raw=last_product_raw,
            )
        )
    if problems or product is None or weight is None or dose is None:
        raise SetupInvalid(problems)
    reasons = first_infusion_reasons(today, last, last_product, product.id)
    request = PlanRequest(
        product_id=product.id,
        indication_id=indication_id,
        weight_kg=weight,
        **dose_fields,
        age_years=age,
        site_max_dose_g_per_kg=site.site_max_dose_g_per_kg,
        first_infusion=bool(reasons),
        at_risk=bool(risk_factors),
        weight_basis=basis,
        height_cm=height,
        sex=sex,
        site_at_risk_cap_mg_per_kg_min=site.site_at_risk_cap_mg_per_kg_min,
        site_max_rate_ml_per_h=site.site_max_rate_ml_per_h,
        pump_resolution_ml_per_h=site.pump_resolution_ml_per_h,
    )
    return InfusionSetup(
        nurse_id=nurse,
        patient_id_1=id1,
        patient_id_2=id2,
        lot=lot,
        plan_request=request,
        last_infusion=last,
        last_product_id=last_product,
        first_infusion_reasons=tuple(reasons),
        risk_factors=risk_factors,
        raw=dict(raw),
        order_id=order_id,
    )
