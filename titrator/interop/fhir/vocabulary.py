"""The vocabulary of the FHIR export: code systems, LOINC codes, quantities, stable ids.

Shared by `fhir.export` (the Bundle) and kept apart from it so each stays small. The LOINC codes
are those of the FHIR R4 vital-signs profile (https://hl7.org/fhir/R4/observation-vitalsigns.html).
"""

from __future__ import annotations

import uuid
from decimal import ROUND_DOWN, Decimal
from typing import Any, Final

from titrator.domain.events import MedicationGiven
from titrator.domain.units import plain
from titrator.domain.vitals import VitalField
from titrator.review.fmt import iso
from titrator.review.model import InfusionOutcome

LOINC: Final = "http://loinc.org"
UCUM: Final = "http://unitsofmeasure.org"
OBS_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
AE_SEVERITY: Final = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
SYS_SESSION: Final = "urn:titrator:session"
SYS_USER: Final = "urn:titrator:user"
SYS_MEDICATION_LOT: Final = "urn:titrator:medication-lot"
SYS_INDICATION: Final = "urn:titrator:indication"
SYS_RULE: Final = "urn:titrator:policy-rule"
SYS_INTEGRITY: Final = "urn:titrator:audit-integrity"
TRAINING_TAG: Final = {
    "system": "http://terminology.hl7.org/CodeSystem/v2-0103",
    "code": "T",
    "display": "Training",
}
"""`meta.tag` of every resource exported from a demo or training log (HL7 table 0103)."""

VITAL_CODES: Final[dict[VitalField, tuple[list[tuple[str, str]], str, str]]] = {
    VitalField.TEMP_C: ([("8310-5", "Body temperature")], "Cel", "°C"),
    VitalField.HR_BPM: ([("8867-4", "Heart rate")], "/min", "/min"),
    VitalField.RR_BPM: ([("9279-1", "Respiratory rate")], "/min", "/min"),
    VitalField.SPO2_PCT: (
        [
            ("2708-6", "Oxygen saturation in Arterial blood"),
            ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
        ],
        "%",
        "%",
    ),
}
"""LOINC codings, UCUM code and display unit of each single-value vital sign."""

BP_PANEL: Final = ("85354-9", "Blood pressure panel with all children optional")
BP_PARTS: Final = {
    VitalField.SBP_MMHG: ("8480-6", "Systolic blood pressure"),
    VitalField.DBP_MMHG: ("8462-4", "Diastolic blood pressure"),
}

STATUS: Final = {
    InfusionOutcome.COMPLETED: "completed",
    InfusionOutcome.STOPPED_FOR_REACTION: "stopped",
    InfusionOutcome.ABORTED: "stopped",
    InfusionOutcome.UNFINISHED: "unknown",
}


def number(value: Decimal) -> int | float:
    """A Decimal as a JSON number (exact for the few significant digits rates and vitals have)."""
    return int(value) if value == value.to_integral_value() else float(value)


def shown_volume(volume_ml: Decimal) -> Decimal:
    """A volume rounded the way every volume is shown (down to 0.1 mL, as `fmt.ml`)."""
    return volume_ml.quantize(Decimal("0.1"), rounding=ROUND_DOWN).normalize()


def quantity(value: Decimal, ucum: str, unit: str) -> dict[str, Any]:
    """A UCUM Quantity: the value, the unit as shown and its UCUM code."""
    return {"value": number(value), "unit": unit, "system": UCUM, "code": ucum}


class Ids:
    """Stable ids of one session's resources: UUIDv5 of the session and the item's name."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id

    def uuid(self, name: str) -> str:
        """The item's UUID."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:titrator:{self.session_id}:{name}"))

    def url(self, name: str) -> str:
        """The item's `urn:uuid:` (its `fullUrl` in the Bundle)."""
        return f"urn:uuid:{self.uuid(name)}"


def user(nurse_id: str | None) -> dict[str, Any]:
    """A person as a logical reference: a Practitioner by identifier in `urn:titrator:user`."""
    ident = nurse_id or "unknown"
    return {
        "type": "Practitioner",
        "identifier": {"system": SYS_USER, "value": ident},
        "display": ident,
    }


MED_UCUM: Final = {"mg": "mg", "microgram": "ug", "g": "g", "mL": "mL", "L/min": "L/min"}
"""UCUM code of each unit a `medication_given` record may carry."""


def medication_given(
    session_id: str, index: int, med: MedicationGiven, patient: str
) -> dict[str, Any]:
    """One MedicationAdministration for a medicine given during the session.

    Not `partOf` the IVIG administration: a different medicine, given by the named person at the
    named time.
    """
    return {
        "resourceType": "MedicationAdministration",
        "identifier": [{"system": SYS_SESSION, "value": f"{session_id}/medication/{index + 1}"}],
        "status": "completed",
        "medicationCodeableConcept": {"text": med.drug},
        "subject": {"reference": patient},
        "effectiveDateTime": iso(med.given_at),
        "performer": [{"actor": {"type": "Practitioner", "display": med.given_by}}],
        "note": [{"text": f"recorded at {iso(med.at.wall_utc)} during the IVIG session"}],
        "dosage": {
            "text": f"{plain(med.dose)} {med.unit} {med.route}",
            "route": {"text": med.route},
            "dose": quantity(med.dose, MED_UCUM[med.unit], med.unit),
        },
    }
