"""Vital-sign parsing: plausibility ranges, slip hints, raw text kept, nothing corrected."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from titrator.domain.units import InputError
from titrator.domain.vitals import (
    Symptom,
    VitalField,
    VitalsError,
    parse_field,
    parse_symptoms,
    parse_vitals,
)

GOOD = {
    "temp_c": "36.8",
    "hr_bpm": "72",
    "sbp_mmhg": "120",
    "dbp_mmhg": "80",
    "rr_bpm": "16",
    "spo2_pct": "98",
}


@pytest.mark.parametrize(
    ("field", "raw", "hint"),
    [
        (VitalField.TEMP_C, "370", "missing decimal point"),
        (VitalField.TEMP_C, "3.7", "misplaced decimal point"),
        (VitalField.TEMP_C, "98.6", "Fahrenheit"),
        (VitalField.TEMP_C, "100.4", "Fahrenheit"),
        (VitalField.TEMP_C, "44.1", "plausible range 30 to 44"),
        (VitalField.TEMP_C, "29.9", "plausible range 30 to 44"),
        (VitalField.TEMP_C, "25", "plausible range"),
        (VitalField.TEMP_C, "37.25", "decimal place"),
        (VitalField.HR_BPM, "0", "plausible range 20 to 250"),
        (VitalField.HR_BPM, "300", "plausible range"),
        (VitalField.HR_BPM, "720", "missing decimal point"),
        (VitalField.HR_BPM, "72.5", "whole number"),
        (VitalField.SBP_MMHG, "39", "plausible range 40 to 300"),
        (VitalField.SBP_MMHG, "1200", "missing decimal point"),
        (VitalField.SPO2_PCT, "101", "cannot be above 100"),
        (VitalField.SPO2_PCT, "49", "plausible range 50 to 100"),
        (VitalField.SPO2_PCT, "9.8", "whole number"),
        (VitalField.RR_BPM, "3", "plausible range 4 to 60"),
        (VitalField.RR_BPM, "61", "plausible range"),
        (VitalField.TEMP_C, "-1", "negative"),
        (VitalField.TEMP_C, "37,2", "comma"),
        (VitalField.TEMP_C, ".5", "leading zero"),
        (VitalField.TEMP_C, "", "required"),
        (VitalField.TEMP_C, "NaN", "not a plain decimal"),
        (VitalField.TEMP_C, "1e2", "not a plain decimal"),
        (VitalField.TEMP_C, "３７", "not a plain decimal"),
    ],
)
def test_implausible_or_malformed_values_are_refused_with_a_hint(
    field: VitalField, raw: str, hint: str
) -> None:
    with pytest.raises(InputError) as info:
        parse_field(field, raw)
    assert info.value.field == field.value
    assert info.value.raw == raw
    assert hint in info.value.reason


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        (VitalField.TEMP_C, "30"),
        (VitalField.TEMP_C, "44"),
        (VitalField.TEMP_C, "37.2"),
        (VitalField.HR_BPM, "20"),
        (VitalField.HR_BPM, "250"),
        (VitalField.SBP_MMHG, "40"),
        (VitalField.SBP_MMHG, "300"),
        (VitalField.SPO2_PCT, "50"),
        (VitalField.SPO2_PCT, "100"),
        (VitalField.RR_BPM, "4"),
        (VitalField.RR_BPM, "60"),
    ],
)
def test_edge_values_are_accepted_unchanged(field: VitalField, raw: str) -> None:
    assert parse_field(field, raw) == Decimal(raw)


def test_a_reading_keeps_the_raw_text() -> None:
    reading = parse_vitals({**GOOD, "temp_c": " 37.0 "})
    assert reading.values[VitalField.TEMP_C] == Decimal("37.0")
    assert reading.raw[VitalField.TEMP_C] == " 37.0 "
    assert "temperature 37 °C" in reading.describe()


def test_systolic_must_be_above_diastolic() -> None:
    with pytest.raises(VitalsError) as info:
        parse_vitals({**GOOD, "sbp_mmhg": "80", "dbp_mmhg": "120"})
    assert [e.field for e in info.value.errors] == ["sbp_mmhg"]
    assert "swapped" in info.value.errors[0].reason


def test_every_bad_field_is_reported_in_checklist_order() -> None:
    with pytest.raises(VitalsError) as info:
        parse_vitals({"spo2_pct": "101", "temp_c": "370", "pulse": "80"})
    fields = [e.field for e in info.value.errors]
    assert fields == ["temp_c", "hr_bpm", "sbp_mmhg", "dbp_mmhg", "rr_bpm", "spo2_pct", "pulse"]


def test_required_fields_come_from_the_caller() -> None:
    reading = parse_vitals({"temp_c": "37"}, required=[VitalField.TEMP_C])
    assert reading.get(VitalField.HR_BPM) is None


def test_symptom_ids_are_checked() -> None:
    assert parse_symptoms(["headache", "chills"]) == {Symptom.HEADACHE, Symptom.CHILLS}
    with pytest.raises(InputError, match="not a symptom"):
        parse_symptoms(["headache", "sneezing"])


@given(st.text())
def test_any_text_is_accepted_or_refused_never_crashes(raw: str) -> None:
    raised: InputError | None = None
    try:
        value = parse_field(VitalField.TEMP_C, raw)
    except InputError as exc:
        raised = exc
    if raised is not None:
        assert raised.raw == raw
    else:
        assert Decimal(30) <= value <= Decimal(44)
