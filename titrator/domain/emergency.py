"""The emergency response after an emergency stop: the site's anaphylaxis steps for this patient.

Pure: the policy's steps, with the IM adrenaline dose computed from the patient's actual weight
(Decimal), rounded down to 0.01 mg and never above the policy's adult maximum. When the cap
binds, the text says so: the nurse sees both the weight-based figure and the cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from titrator.domain.clock import Instant
from titrator.domain.events import MEDICATION_ROUTES, MEDICATION_UNITS, MedicationGiven
from titrator.domain.model import Frozen
from titrator.domain.policy import AdrenalineDose, Anaphylaxis

_HUNDREDTH = Decimal("0.01")


class DoseForPatient(Frozen):
    """The adrenaline dose for one patient."""

    weight_kg: Decimal
    by_weight_mg: Decimal
    """mg/kg x weight, before the cap (rounded down to 0.01 mg)."""
    dose_mg: Decimal
    """What to give: the weight-based dose, or the adult maximum if that is lower."""
    capped: bool
    """True when the adult maximum set the dose."""
    volume_ml: Decimal
    """Volume of the policy's solution to draw up (rounded down to 0.01 mL)."""


def adrenaline_for(dose: AdrenalineDose, weight_kg: Decimal) -> DoseForPatient:
    """The IM adrenaline dose for a patient of `weight_kg` (actual body weight).

    Raises:
        ValueError: if the weight is not positive.
    """
    if weight_kg <= 0:
        raise ValueError(f"weight must be above 0 kg, got {weight_kg}")
    by_weight = (dose.mg_per_kg * weight_kg).quantize(_HUNDREDTH, rounding=ROUND_FLOOR)
    capped = by_weight >= dose.adult_max_mg
    given = dose.adult_max_mg if capped else by_weight
    volume = (given / dose.mg_per_ml).quantize(_HUNDREDTH, rounding=ROUND_FLOOR)
    return DoseForPatient(
        weight_kg=weight_kg,
        by_weight_mg=by_weight,
        dose_mg=given,
        capped=capped,
        volume_ml=volume,
    )


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def adrenaline_line(dose: AdrenalineDose, weight_kg: Decimal) -> str:
    """One line: what to give, how much to draw up, how it was computed, the cap, the repeat."""
    d = adrenaline_for(dose, weight_kg)
    basis = f"{_plain(dose.mg_per_kg)} mg/kg x {_plain(weight_kg)} kg = {_plain(d.by_weight_mg)} mg"
    cap = (
        f"capped at the adult max {_plain(dose.adult_max_mg)} mg"
        if d.capped
        else f"adult max {_plain(dose.adult_max_mg)} mg"
    )
    return (
        f"ADRENALINE {_plain(d.dose_mg)} mg {dose.route} = {_plain(d.volume_ml)} mL of "
        f"{_plain(dose.mg_per_ml)} mg/mL ({basis}; {cap}). Repeat after "
        f"{_plain(dose.repeat_after_min)} min if no improvement."
    )


def emergency_steps(anaphylaxis: Anaphylaxis, weight_kg: Decimal) -> tuple[str, ...]:
    """A heading naming the sources, the site's steps numbered, then the patient's dose."""
    lines = [f"EMERGENCY STEPS (policy; sources {', '.join(anaphylaxis.sources)}):"]
    lines += [f"{n}. {step}" for n, step in enumerate(anaphylaxis.steps, start=1)]
    lines.append(adrenaline_line(anaphylaxis.adrenaline, weight_kg))
    return tuple(lines)


# -- recording a medicine given -------------------------------------------------------------

MEDICATION_FIELDS: tuple[tuple[str, str], ...] = (
    ("drug", "Drug"),
    ("dose", "Dose"),
    ("unit", "Unit"),
    ("route", "Route"),
    ("given_time", "Time given"),
    ("given_by", "Given by"),
)
"""The medication form's fields, in order: (field name, label)."""

_LABELS = dict(MEDICATION_FIELDS)


class MedicationInputError(ValueError):
    """One field of the medication form is wrong: names the field, the problem and the text."""

    def __init__(self, field: str, problem: str, raw: str) -> None:
        self.field = field
        self.problem = problem
        self.raw = raw
        super().__init__(f'{_LABELS.get(field, field)}: {problem} (typed "{raw}")')


def _choice(field: str, raw: str, options: tuple[str, ...]) -> str:
    for option in options:
        if raw.strip().lower() == option.lower():
            return option
    raise MedicationInputError(field, "must be one of " + ", ".join(options), raw)


def _given_at(raw: str, now: Instant, local: tzinfo) -> datetime:
    text = raw.strip()
    if not text:
        return now.wall_utc
    try:
        hours, minutes = (int(part) for part in text.split(":"))
    except ValueError:
        raise MedicationInputError("given_time", "use HH:MM (24-hour clock)", raw) from None
    if not (0 <= hours <= 23 and 0 <= minutes <= 59) or len(text) > 5:
        raise MedicationInputError("given_time", "use HH:MM (24-hour clock)", raw)
    local_now = now.wall_utc.astimezone(local)
    given = local_now.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    if given - local_now > timedelta(hours=12):  # 23:55 typed at 00:05: yesterday
        given -= timedelta(days=1)
    if given > local_now + timedelta(minutes=1):
        raise MedicationInputError("given_time", "is later than now", raw)
    return given.astimezone(UTC)


def parse_medication(raw: Mapping[str, str], now: Instant, local: tzinfo) -> MedicationGiven:
    """The medication form as typed -> a `MedicationGiven` input (recorded at `now`).

    The time given is HH:MM on the workstation's clock (`local`), today (or yesterday just
    after midnight); empty means now.

    Raises:
        MedicationInputError: for the first field that is wrong, as typed.
    """
    drug = raw.get("drug", "").strip()
    if not drug:
        raise MedicationInputError("drug", "is empty", raw.get("drug", ""))
    dose_text = raw.get("dose", "")
    try:
        dose = Decimal(dose_text.strip())
    except InvalidOperation:
        raise MedicationInputError("dose", "is not a number", dose_text) from None
    if not dose.is_finite() or dose <= 0:
        raise MedicationInputError("dose", "must be a number above 0", dose_text)
    unit = _choice("unit", raw.get("unit", ""), MEDICATION_UNITS)
    route = _choice("route", raw.get("route", ""), MEDICATION_ROUTES)
    given_at = _given_at(raw.get("given_time", ""), now, local)
    by = raw.get("given_by", "").strip()
    if not by:
        raise MedicationInputError("given_by", "is empty", raw.get("given_by", ""))
    for field, text in (("drug", drug), ("given_by", by)):
        limit = 120 if field == "drug" else 80
        if len(text) > limit:
            raise MedicationInputError(field, f"is longer than {limit} characters", text)
    return MedicationGiven(
        at=now,
        drug=drug,
        dose=dose,
        unit=unit,  # type: ignore[arg-type]
        route=route,  # type: ignore[arg-type]
        given_at=given_at,
        given_by=by,
    )


def adrenaline_prefill(anaphylaxis: Anaphylaxis, weight_kg: Decimal) -> dict[str, str]:
    """The medication form filled in with this patient's adrenaline dose (time and name blank)."""
    dose = adrenaline_for(anaphylaxis.adrenaline, weight_kg)
    route = anaphylaxis.adrenaline.route.split(",")[0].strip()
    return {
        "drug": anaphylaxis.adrenaline.drug,
        "dose": _plain(dose.dose_mg),
        "unit": "mg",
        "route": route if route in MEDICATION_ROUTES else "",
    }
