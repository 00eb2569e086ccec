"""Vital signs and symptoms as the nurse enters them: strict parsing, plausibility, no correction.

A reading keeps the text exactly as typed next to the parsed `Decimal`, so the audit log shows
what the nurse entered. Out-of-range or malformed values are refused with a plain-language reason
and, for the classic slips (a missing or misplaced decimal point, degrees Fahrenheit in a Celsius
field), a hint. Nothing is ever clamped or corrected (requirements R3 and R5).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

from titrator.domain.model import Frozen
from titrator.domain.units import InputError, parse_plain_decimal, plain


class VitalField(StrEnum):
    """The vital signs titrator records, named with their units."""

    TEMP_C = "temp_c"
    HR_BPM = "hr_bpm"
    SBP_MMHG = "sbp_mmhg"
    DBP_MMHG = "dbp_mmhg"
    RR_BPM = "rr_bpm"
    SPO2_PCT = "spo2_pct"


class Symptom(StrEnum):
    """The fixed symptom checklist (free text is recorded separately)."""

    HEADACHE = "headache"
    FLUSHING = "flushing"
    CHILLS = "chills"
    MYALGIA = "myalgia"
    BACK_PAIN = "back_pain"
    NAUSEA = "nausea"
    VOMITING = "vomiting"
    RASH = "rash"
    URTICARIA = "urticaria"
    CHEST_TIGHTNESS = "chest_tightness"
    DYSPNOEA = "dyspnoea"
    WHEEZE = "wheeze"
    DIZZINESS = "dizziness"
    ANGIOEDEMA = "angioedema"
    STRIDOR = "stridor"
    COLLAPSE = "collapse"
    STIFF_NECK = "stiff_neck"
    REDUCED_URINE_OUTPUT = "reduced_urine_output"
    ABDOMINAL_PAIN = "abdominal_pain"
    RESPIRATORY_DISTRESS = "respiratory_distress"
    # Boxed-warning and warnings-section events of the IVIG labels (issue 13): thrombosis,
    # haemolysis, aseptic meningitis, TRALI / circulatory overload.
    CHEST_PAIN = "chest_pain"
    LIMB_SWELLING = "limb_swelling"
    UNILATERAL_WEAKNESS = "unilateral_weakness"
    SPEECH_DIFFICULTY = "speech_difficulty"
    SUDDEN_VISION_LOSS = "sudden_vision_loss"
    DARK_URINE = "dark_urine"
    JAUNDICE = "jaundice"
    SEVERE_HEADACHE = "severe_headache"
    PHOTOPHOBIA = "photophobia"


SYMPTOM_LABELS: Final[Mapping[Symptom, str]] = {
    Symptom.HEADACHE: "headache",
    Symptom.FLUSHING: "flushing",
    Symptom.CHILLS: "chills/rigors",
    Symptom.MYALGIA: "myalgia",
    Symptom.BACK_PAIN: "back pain",
    Symptom.NAUSEA: "nausea",
    Symptom.VOMITING: "vomiting",
    Symptom.RASH: "rash/pruritus",
    Symptom.URTICARIA: "urticaria",
    Symptom.CHEST_TIGHTNESS: "chest tightness",
    Symptom.DYSPNOEA: "dyspnoea",
    Symptom.WHEEZE: "wheeze",
    Symptom.DIZZINESS: "dizziness",
    Symptom.ANGIOEDEMA: "throat tightness/angioedema",
    Symptom.STRIDOR: "stridor",
    Symptom.COLLAPSE: "confusion or collapse",
    Symptom.STIFF_NECK: "stiff neck",
    Symptom.REDUCED_URINE_OUTPUT: "reduced urine output",
    Symptom.ABDOMINAL_PAIN: "crampy abdominal pain",
    Symptom.RESPIRATORY_DISTRESS: "severe breathlessness",
    Symptom.CHEST_PAIN: "chest pain",
    Symptom.LIMB_SWELLING: "painful or swollen arm or leg",
    Symptom.UNILATERAL_WEAKNESS: "weakness or numbness on one side",
    Symptom.SPEECH_DIFFICULTY: "slurred or difficult speech",
    Symptom.SUDDEN_VISION_LOSS: "sudden loss of vision",
    Symptom.DARK_URINE: "dark (red or brown) urine",
    Symptom.JAUNDICE: "yellow skin or eyes",
    Symptom.SEVERE_HEADACHE: "severe headache",
    Symptom.PHOTOPHOBIA: "light hurts the eyes",
}
"""Checklist wording shown to the nurse for each symptom id."""


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """Plausibility limits of one vital-sign field (hard: values outside are refused).

    Attributes:
        label: the name shown to the nurse.
        unit: the unit shown after the value.
        low: the lowest plausible value (inclusive).
        high: the highest plausible value (inclusive).
        places: the most decimal places accepted (0 for whole numbers).
    """

    label: str
    unit: str
    low: Decimal
    high: Decimal
    places: int


FIELD_SPECS: Final[Mapping[VitalField, FieldSpec]] = {
    VitalField.TEMP_C: FieldSpec("temperature", "°C", Decimal(30), Decimal(44), 1),
    VitalField.HR_BPM: FieldSpec("heart rate", "/min", Decimal(20), Decimal(250), 0),
    VitalField.SBP_MMHG: FieldSpec("systolic pressure", "mmHg", Decimal(40), Decimal(300), 0),
    VitalField.DBP_MMHG: FieldSpec("diastolic pressure", "mmHg", Decimal(20), Decimal(200), 0),
    VitalField.RR_BPM: FieldSpec("respiratory rate", "/min", Decimal(4), Decimal(60), 0),
    VitalField.SPO2_PCT: FieldSpec("SpO2", "%", Decimal(50), Decimal(100), 0),
}
"""Hard plausibility ranges (requirement R5). Values outside are refused, never clamped."""


def field_label(name: str) -> str:
    """The nurse's word for a vitals field ('temp_c' -> 'temperature'); unknown names as given."""
    known = {field.value: spec.label for field, spec in FIELD_SPECS.items()}
    return known.get(name, name)


class VitalsReading(Frozen):
    """One accepted set of vital signs: parsed values and the text exactly as typed."""

    values: dict[VitalField, Decimal]
    """Parsed values, by field."""
    raw: dict[VitalField, str]
    """The text the nurse typed, by field."""

    def get(self, field: VitalField) -> Decimal | None:
        """The value of a field, or None if it was not recorded."""
        return self.values.get(field)

    def describe(self) -> str:
        """A one-line summary, e.g. 'temperature 37.2 °C, heart rate 80 /min'."""
        return ", ".join(
            f"{FIELD_SPECS[f].label} {plain(v)} {FIELD_SPECS[f].unit}"
            for f, v in sorted(self.values.items(), key=lambda item: _FIELD_ORDER[item[0]])
        )


_FIELD_ORDER: Final = {field: index for index, field in enumerate(VitalField)}


class VitalsError(ValueError):
    """A vitals entry with one or more refused fields.

    Attributes:
        errors: one `InputError` per refused field, in checklist order.
    """

    def __init__(self, errors: Iterable[InputError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(str(e) for e in self.errors))


def _hint(field: VitalField, value: Decimal, spec: FieldSpec) -> str:
    """Explain a value outside the plausible range, naming the likely slip without fixing it."""
    span = f"plausible range {plain(spec.low)} to {plain(spec.high)} {spec.unit}"
    if field is VitalField.TEMP_C and Decimal(86) <= value <= Decimal("111.2"):
        return f"outside the {span}; this looks like degrees Fahrenheit: enter degrees Celsius"
    if field is VitalField.SPO2_PCT and value > spec.high:
        return "SpO2 cannot be above 100 %"
    if value > spec.high and spec.low <= value / 10 <= spec.high:
        return f"outside the {span}; a missing decimal point or an extra digit? Re-enter"
    if value < spec.low and spec.low <= value * 10 <= spec.high:
        return f"outside the {span}; a misplaced decimal point? Re-enter"
    return f"outside the {span}"


def parse_field(field: VitalField, raw: str) -> Decimal:
    """Parse and range-check one vital sign typed by the nurse.

    Args:
        field: which vital sign.
        raw: the text exactly as typed.

    Returns:
        The value, unchanged.

    Raises:
        InputError: malformed text, too many decimal places, or a value outside the range.
    """
    spec = FIELD_SPECS[field]
    value = parse_plain_decimal(raw, field.value)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > spec.places:
        reason = (
            "a whole number is required"
            if spec.places == 0
            else f"at most {spec.places} decimal place(s)"
        )
        raise InputError(field.value, raw, reason)
    if not spec.low <= value <= spec.high:
        raise InputError(field.value, raw, _hint(field, value, spec))
    return value


def parse_vitals(
    raw: Mapping[str, str], required: Iterable[VitalField] = tuple(VitalField)
) -> VitalsReading:
    """Parse a whole vitals entry; every refused field is reported, none is corrected.

    Args:
        raw: field name to the text as typed. Keys must be `VitalField` values.
        required: fields that must be present.

    Returns:
        The accepted reading, carrying the raw text.

    Raises:
        VitalsError: listing every field that was missing, unknown, malformed or implausible.
    """
    errors: list[InputError] = []
    values: dict[VitalField, Decimal] = {}
    texts: dict[VitalField, str] = {}
    known = {f.value: f for f in VitalField}
    for key, text in raw.items():
        field = known.get(key)
        if field is None:
            errors.append(InputError(key, text, "not a known vital sign"))
            continue
        texts[field] = text
        try:
            values[field] = parse_field(field, text)
        except InputError as exc:
            errors.append(exc)
    for field in required:
        if field not in texts:
            errors.append(InputError(field.value, "", "required in every vitals set"))
    sbp, dbp = values.get(VitalField.SBP_MMHG), values.get(VitalField.DBP_MMHG)
    if sbp is not None and dbp is not None and sbp <= dbp:
        errors.append(
            InputError(
                VitalField.SBP_MMHG.value,
                texts[VitalField.SBP_MMHG],
                f"systolic must be above diastolic ({plain(dbp)}); were they swapped?",
            )
        )
    if errors:
        errors.sort(key=lambda e: _FIELD_ORDER[known[e.field]] if e.field in known else 99)
        raise VitalsError(errors)
    return VitalsReading(values=values, raw=texts)


def parse_symptoms(ids: Iterable[str]) -> frozenset[Symptom]:
    """Turn checklist ids into symptoms.

    Raises:
        InputError: on an id that is not on the checklist (field 'symptoms').
    """
    known = {s.value: s for s in Symptom}
    result: set[Symptom] = set()
    for item in ids:
        symptom = known.get(item)
        if symptom is None:
            raise InputError("symptoms", item, "not a symptom on the checklist")
        result.add(symptom)
    return frozenset(result)
