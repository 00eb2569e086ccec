"""Issue 13 item 2: the site's anaphylaxis steps, cited, with the dose computed for the patient."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from tests.support.clinical import POLICY
from tests.support.plans import at
from tests.unit.domain.engine_helpers import Driver
from titrator.domain.clock import Instant
from titrator.domain.emergency import (
    MedicationInputError,
    adrenaline_for,
    adrenaline_line,
    adrenaline_prefill,
    emergency_steps,
    parse_medication,
)
from titrator.domain.events import InputRefused, MedicationGiven
from titrator.domain.policy import Policy


def test_the_default_policy_carries_cited_anaphylaxis_steps() -> None:
    ana = POLICY.anaphylaxis
    assert ana is not None
    dose = ana.adrenaline
    assert (dose.mg_per_kg, dose.adult_max_mg, dose.repeat_after_min) == (
        Decimal("0.01"),
        Decimal("0.5"),
        Decimal(5),
    )
    text = " ".join(ana.steps).lower()
    for words in ("call for help", "lie flat", "high-flow oxygen", "adrenaline"):
        assert words in text
    for tag in (*ana.sources, *dose.sources):
        assert tag in POLICY.sources
    assert {"RCUK2021", "WAO2020"} <= set(ana.sources)


@pytest.mark.parametrize(
    ("weight", "by_weight", "given", "capped"),
    [
        ("70", "0.70", "0.5", True),
        ("50", "0.50", "0.5", True),
        ("23.4", "0.23", "0.23", False),
        ("12", "0.12", "0.12", False),
    ],
)
def test_the_dose_is_weight_based_and_capped_at_the_adult_maximum(
    weight: str, by_weight: str, given: str, capped: bool
) -> None:
    assert POLICY.anaphylaxis is not None
    dose = adrenaline_for(POLICY.anaphylaxis.adrenaline, Decimal(weight))
    assert dose.by_weight_mg == Decimal(by_weight)
    assert dose.dose_mg == Decimal(given)
    assert dose.capped is capped
    assert dose.dose_mg <= POLICY.anaphylaxis.adrenaline.adult_max_mg


def test_the_line_shows_the_computation_the_cap_and_the_repeat() -> None:
    assert POLICY.anaphylaxis is not None
    line = adrenaline_line(POLICY.anaphylaxis.adrenaline, Decimal(70))
    assert line.startswith("ADRENALINE 0.5 mg IM = 0.5 mL of 1 mg/mL")
    assert "0.01 mg/kg x 70 kg = 0.7 mg" in line
    assert "capped at the adult max 0.5 mg" in line
    assert "Repeat after 5 min" in line
    child = adrenaline_line(POLICY.anaphylaxis.adrenaline, Decimal("23.4"))
    assert child.startswith("ADRENALINE 0.23 mg IM = 0.23 mL")
    assert "capped" not in child


def test_the_steps_are_numbered_with_the_dose_and_sources() -> None:
    assert POLICY.anaphylaxis is not None
    lines = emergency_steps(POLICY.anaphylaxis, Decimal(70))
    assert lines[0].startswith("EMERGENCY STEPS (policy; sources RCUK2021")
    assert lines[1].startswith("1. Call for help")
    assert lines[-1].startswith("ADRENALINE 0.5 mg")
    assert all(len(line) <= 160 for line in lines)  # two lines at 80 columns at most


def test_a_zero_weight_is_refused() -> None:
    assert POLICY.anaphylaxis is not None
    with pytest.raises(ValueError, match="weight"):
        adrenaline_for(POLICY.anaphylaxis.adrenaline, Decimal(0))


def test_an_uncited_emergency_section_is_refused() -> None:
    data = POLICY.model_dump(mode="json")
    assert data["anaphylaxis"] is not None
    data["anaphylaxis"]["sources"] = ["NOWHERE"]
    with pytest.raises(ValidationError, match="NOWHERE"):
        Policy.model_validate(data)


NOW = Instant(wall_utc=datetime(2026, 3, 2, 10, 30, tzinfo=UTC), mono_ms=1_000)
GOOD = {
    "drug": "adrenaline",
    "dose": "0.5",
    "unit": "mg",
    "route": "im",
    "given_time": "10:25",
    "given_by": "RN Patel",
}


def test_a_medication_as_typed_becomes_an_input_event() -> None:
    event = parse_medication(GOOD, NOW, UTC)
    assert isinstance(event, MedicationGiven)
    assert (event.drug, event.dose, event.unit, event.route) == (
        "adrenaline",
        Decimal("0.5"),
        "mg",
        "IM",
    )
    assert event.given_at == datetime(2026, 3, 2, 10, 25, tzinfo=UTC)
    assert event.given_by == "RN Patel"
    assert parse_medication({**GOOD, "given_time": ""}, NOW, UTC).given_at == NOW.wall_utc


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("drug", "  ", 'Drug: is empty (typed "  ")'),
        ("dose", "0,5", 'Dose: is not a number (typed "0,5")'),
        ("dose", "0", 'Dose: must be a number above 0 (typed "0")'),
        ("unit", "mgs", 'Unit: must be one of mg, microgram, g, mL, L/min (typed "mgs")'),
        (
            "route",
            "thigh",
            'Route: must be one of IM, IV, SC, PO, inhaled, nebulised (typed "thigh")',
        ),
        ("given_time", "25:00", 'Time given: use HH:MM (24-hour clock) (typed "25:00")'),
        ("given_time", "10:45", 'Time given: is later than now (typed "10:45")'),
        ("given_by", "", 'Given by: is empty (typed "")'),
    ],
)
def test_bad_input_is_one_line_naming_the_field_and_the_text(
    field: str, typed: str, message: str
) -> None:
    with pytest.raises(MedicationInputError) as caught:
        parse_medication({**GOOD, field: typed}, NOW, UTC)
    assert str(caught.value) == message
    assert caught.value.field == field
    assert "\n" not in str(caught.value)


def test_just_after_midnight_a_late_evening_time_is_yesterday() -> None:
    now = Instant(wall_utc=datetime(2026, 3, 2, 0, 5, tzinfo=UTC), mono_ms=1_000)
    event = parse_medication({**GOOD, "given_time": "23:55"}, now, UTC)
    assert event.given_at == datetime(2026, 3, 1, 23, 55, tzinfo=UTC)


def test_the_adrenaline_prefill_is_this_patients_dose() -> None:
    assert POLICY.anaphylaxis is not None
    fill = adrenaline_prefill(POLICY.anaphylaxis, Decimal("23.4"))
    assert fill == {
        "drug": "adrenaline (epinephrine) 1 mg/mL",
        "dose": "0.23",
        "unit": "mg",
        "route": "IM",
    }


def test_the_engine_records_a_medication_and_refuses_a_time_in_the_future() -> None:
    d = Driver()
    d.start()
    assert [d.session.emergency_stopped] == [False]
    d.vitals(20, sbp_mmhg="80")
    assert [d.session.emergency_stopped] == [True]
    now = at(25)
    given = parse_medication({**GOOD, "given_time": ""}, now, UTC)
    r = d.feed(d.session.handle(given))
    assert r.refusal is None
    assert [e.kind for e in r.events] == ["medication_given"]
    future = given.model_copy(update={"given_at": now.wall_utc.replace(year=2027)})
    r = d.feed(d.session.handle(future))
    refusal = next(e for e in r.events if isinstance(e, InputRefused))
    assert refusal.field == "given_at"
    assert "later than now" in refusal.reason
