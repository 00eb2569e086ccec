"""FHIR R4 export: a `collection` Bundle built from plain dicts (no FHIR library at run time).

- one parent MedicationAdministration for the whole infusion (status from the outcome, volume
  given, indication, notes for the outcome, the overrides, the reaction clearances and the
  integrity result with the head hash);
- one MedicationAdministration per rate segment above 0 mL/h, `partOf` the parent, with the rate
  as a UCUM quantity in mL/h, its period, the lot (through its Medication) and the nurse;
- a Medication per lot (product code and `batch.lotNumber`), a Patient with the two identifiers;
- vital signs as Observations (category vital-signs, LOINC; blood pressure as the 85354-9 panel
  with 8480-6 and 8462-4 components; SpO2 coded 2708-6 and 59408-5), `partOf` the parent;
- each reaction episode as an AdverseEvent (severity, policy rule ids, the recommendation text,
  the suspect administration, who recorded it, how it was cleared);
- each medicine given (`medication_given`: adrenaline in an emergency, for example) as its own
  MedicationAdministration (drug as text, dose as a UCUM quantity, route, time, performer).

Ids are UUIDv5 of the session and the item, so the same log always exports the same Bundle.
The integrity status is also a `meta.tag` on the Bundle (`urn:titrator:audit-integrity`). A demo
or training log carries the HL7 processing-id tag `T` (Training) from
`http://terminology.hl7.org/CodeSystem/v2-0103` in `meta.tag` on the Bundle and on every resource
in it, so a resource copied out alone still says it is not a real patient's.
"""

from __future__ import annotations

import json
import uuid
from decimal import ROUND_DOWN, Decimal
from typing import Any, Final

from titrator.domain.events import MedicationGiven
from titrator.domain.units import plain
from titrator.domain.vitals import VitalField
from titrator.review.care import medications_given
from titrator.review.episodes import RateSegment, Reaction, VitalsPoint
from titrator.review.fmt import iso, ml
from titrator.review.model import InfusionOutcome, SessionReview

LOINC: Final = "http://loinc.org"
UCUM: Final = "http://unitsofmeasure.org"
OBS_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
AE_SEVERITY: Final = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
SYS_SESSION: Final = "urn:titrator:session"
SYS_USER: Final = "urn:titrator:user"
SYS_PRODUCT: Final = "urn:titrator:product"
SYS_INDICATION: Final = "urn:titrator:indication"
SYS_RULE: Final = "urn:titrator:policy-rule"
SYS_INTEGRITY: Final = "urn:titrator:audit-integrity"
TRAINING_TAG: Final = {
    "system": "http://terminology.hl7.org/CodeSystem/v2-0103",
    "code": "T",
    "display": "Training",
}
"""`meta.tag` of every resource exported from a demo or training log (HL7 table 0103)."""

_VITAL_CODES: Final[dict[VitalField, tuple[list[tuple[str, str]], str, str]]] = {
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

_BP_PANEL: Final = ("85354-9", "Blood pressure panel with all children optional")
_BP_PARTS: Final = {
    VitalField.SBP_MMHG: ("8480-6", "Systolic blood pressure"),
    VitalField.DBP_MMHG: ("8462-4", "Diastolic blood pressure"),
}

_STATUS: Final = {
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


def _quantity(value: Decimal, ucum: str, unit: str) -> dict[str, Any]:
    return {"value": number(value), "unit": unit, "system": UCUM, "code": ucum}


class _Ids:
    def __init__(self, session_id: str) -> None:
        self.session_id = session_id

    def uuid(self, name: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:titrator:{self.session_id}:{name}"))

    def url(self, name: str) -> str:
        return f"urn:uuid:{self.uuid(name)}"


def _user(nurse_id: str | None) -> dict[str, Any]:
    ident = nurse_id or "unknown"
    return {
        "type": "Practitioner",
        "identifier": {"system": SYS_USER, "value": ident},
        "display": ident,
    }


class _Builder:
    def __init__(self, review: SessionReview) -> None:
        self.review = review
        self.ids = _Ids(review.session_id)
        self.entries: list[dict[str, Any]] = []
        self.patient = self.ids.url("patient")
        self.parent = self.ids.url("administration")
        self.lot_urls: dict[str, str] = {}

    def add(self, url: str, resource: dict[str, Any]) -> None:
        resource["id"] = url.removeprefix("urn:uuid:")
        if self.review.training:
            resource["meta"] = {"tag": [dict(TRAINING_TAG)]}
        self.entries.append({"fullUrl": url, "resource": resource})

    def patient_resource(self) -> None:
        h = self.review.header
        idents = [
            {"type": {"text": label}, "value": value}
            for label, value in (
                ("patient identifier 1", h.patient_id),
                ("patient identifier 2", h.patient_id_2),
            )
            if value
        ]
        resource: dict[str, Any] = {"resourceType": "Patient"}
        if idents:
            resource["identifier"] = idents
        self.add(self.patient, resource)

    def medications(self) -> None:
        h = self.review.header
        lots = [lot for _, lot in self.review.lots] or [""]
        for lot in dict.fromkeys(lots):
            url = self.ids.url(f"medication:{lot}")
            code: dict[str, Any] = {"text": h.product_name or h.product_id or "unknown product"}
            if h.product_id:
                code["coding"] = [
                    {"system": SYS_PRODUCT, "code": h.product_id, "display": code["text"]}
                ]
            resource: dict[str, Any] = {"resourceType": "Medication", "code": code}
            if lot:
                resource["batch"] = {"lotNumber": lot}
            self.add(url, resource)
            self.lot_urls[lot] = url

    def lot_at(self, segment: RateSegment) -> str:
        current = next(iter(self.lot_urls))
        for at, lot in self.review.lots:
            if at is None or at <= segment.start:
                current = lot
        return self.lot_urls[current]

    def notes(self) -> list[dict[str, Any]]:
        r = self.review
        integrity = r.integrity
        notes = [
            {"text": f"Outcome: {r.outcome.value} ({r.outcome_detail})."},
            {
                "text": f"Audit log integrity: {integrity.status.value}. {integrity.banner()} "
                f"Head hash: {integrity.head_hash or 'none'}."
            },
        ]
        for o in r.overrides:
            notes.append(
                {
                    "authorString": o.nurse_id,
                    "time": iso(o.at),
                    "text": f"Override ({o.limit}; {o.prompt_kind} prompt): {o.reason}"
                    + (f" — {o.note}" if o.note else ""),
                }
            )
        for x in r.reactions:
            if x.cleared_at is not None:
                notes.append(
                    {
                        "authorString": x.cleared_by or "unknown",
                        "time": iso(x.cleared_at),
                        "text": f"Reaction cleared: {x.cleared_reason}"
                        + (f" — {x.cleared_note}" if x.cleared_note else ""),
                    }
                )
        return notes

    def effective(self, start: Any, end: Any) -> dict[str, Any]:
        if start is None:
            return {"effectiveDateTime": iso(self.review.started_at)}
        period = {"start": iso(start)}
        if end is not None:
            period["end"] = iso(end)
        return {"effectivePeriod": period}

    def parent_resource(self) -> None:
        r, h = self.review, self.review.header
        start = r.infusion_started_at or r.opened_at
        resource: dict[str, Any] = {
            "resourceType": "MedicationAdministration",
            "identifier": [{"system": SYS_SESSION, "value": r.session_id}],
            "status": _STATUS[r.outcome],
            "medicationReference": {"reference": next(iter(self.lot_urls.values()))},
            "subject": {"reference": self.patient},
            **self.effective(start, r.closed_at),
            "performer": [{"actor": _user(h.nurse_id)}],
            "note": self.notes(),
        }
        if r.outcome is not InfusionOutcome.COMPLETED:
            resource["statusReason"] = [{"text": r.outcome_detail}]
        if h.indication_name or h.indication_id:
            reason: dict[str, Any] = {"text": h.indication_name or h.indication_id}
            if h.indication_id:
                reason["coding"] = [{"system": SYS_INDICATION, "code": h.indication_id}]
            resource["reasonCode"] = [reason]
        if r.volume_ml is not None:
            resource["dosage"] = {
                "text": f"volume given {ml(r.volume_ml)}",
                "dose": _quantity(shown_volume(r.volume_ml), "mL", "mL"),
            }
        self.add(self.parent, resource)

    def segment_resource(
        self, index: int, segment: RateSegment, following: RateSegment | None
    ) -> None:
        status = "completed" if segment.end is not None else "in-progress"
        if following is not None and following.rate_ml_per_h == 0:
            if following.cause.startswith("pause"):
                status = "on-hold"
            elif "dose volume given" not in following.cause:
                status = "stopped"
        if self.review.outcome is InfusionOutcome.UNFINISHED and segment.end is None:
            status = "unknown"
        step = f"step {segment.step}: " if segment.step is not None else ""
        self.add(
            self.ids.url(f"segment:{index}"),
            {
                "resourceType": "MedicationAdministration",
                "identifier": [
                    {"system": SYS_SESSION, "value": f"{self.review.session_id}/rate/{segment.seq}"}
                ],
                "partOf": [{"reference": self.parent}],
                "status": status,
                "medicationReference": {"reference": self.lot_at(segment)},
                "subject": {"reference": self.patient},
                **self.effective(segment.start, segment.end),
                "performer": [{"actor": _user(segment.nurse_id)}],
                "dosage": {
                    "text": f"{step}{segment.cause}",
                    "rateQuantity": _quantity(segment.rate_ml_per_h, "mL/h", "mL/h"),
                },
            },
        )

    def _observation(
        self, point: VitalsPoint, name: str, code: list[tuple[str, str]]
    ) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "status": "final",
            "partOf": [{"reference": self.parent}],
            "category": [
                {
                    "coding": [
                        {"system": OBS_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}
                    ]
                }
            ],
            "code": {
                "coding": [{"system": LOINC, "code": c, "display": d} for c, d in code],
                "text": name,
            },
            "subject": {"reference": self.patient},
            "effectiveDateTime": iso(point.at),
            "performer": [_user(point.nurse_id)],
            "note": [{"text": f"purpose: {point.purpose}"}],
        }

    def vitals(self, index: int, point: VitalsPoint) -> None:
        for field, (codes, ucum, unit) in _VITAL_CODES.items():
            value = point.values.get(field)
            if value is None:
                continue
            obs = self._observation(point, codes[0][1], codes)
            obs["valueQuantity"] = _quantity(value, ucum, unit)
            self.add(self.ids.url(f"vitals:{index}:{field.value}"), obs)
        parts = [(f, c) for f, c in _BP_PARTS.items() if f in point.values]
        if parts:
            obs = self._observation(point, "Blood pressure", [_BP_PANEL])
            obs["component"] = [
                {
                    "code": {"coding": [{"system": LOINC, "code": c, "display": d}], "text": d},
                    "valueQuantity": _quantity(point.values[f], "mm[Hg]", "mmHg"),
                }
                for f, (c, d) in parts
            ]
            self.add(self.ids.url(f"vitals:{index}:bp"), obs)

    def adverse_event(self, index: int, reaction: Reaction) -> None:
        text = " | ".join(reaction.reasons) or "reaction recognised by rules " + ", ".join(
            reaction.rule_ids
        )
        resource: dict[str, Any] = {
            "resourceType": "AdverseEvent",
            "identifier": {
                "system": SYS_SESSION,
                "value": f"{self.review.session_id}/reaction/{reaction.seq}",
            },
            "actuality": "actual",
            "event": {
                "coding": [{"system": SYS_RULE, "code": rule} for rule in reaction.rule_ids],
                "text": text,
            },
            "subject": {"reference": self.patient},
            "date": iso(reaction.opened_at),
            "recorder": _user(reaction.opened_by),
            "suspectEntity": [{"instance": {"reference": self.parent}}],
        }
        if reaction.severity is not None:
            resource["severity"] = {
                "coding": [{"system": AE_SEVERITY, "code": reaction.severity.value}],
                "text": reaction.severity.value,
            }
        if reaction.cleared_at is not None:
            note = f" — {reaction.cleared_note}" if reaction.cleared_note else ""
            resource["outcome"] = {
                "text": f"cleared by {reaction.cleared_by} at {iso(reaction.cleared_at)}: "
                f"{reaction.cleared_reason}{note}"
            }
        self.add(self.ids.url(f"reaction:{index}"), resource)


_MED_UCUM: Final = {"mg": "mg", "microgram": "ug", "g": "g", "mL": "mL", "L/min": "L/min"}
"""UCUM code of each unit a `medication_given` record may carry."""


def _medication_given(b: _Builder, index: int, med: MedicationGiven) -> None:
    """One MedicationAdministration for a medicine given during the session.

    Not `partOf` the IVIG administration: a different medicine, given by the named person at the
    named time.
    """
    b.add(
        b.ids.url(f"medication:{index}"),
        {
            "resourceType": "MedicationAdministration",
            "identifier": [
                {"system": SYS_SESSION, "value": f"{b.review.session_id}/medication/{index + 1}"}
            ],
            "status": "completed",
            "medicationCodeableConcept": {"text": med.drug},
            "subject": {"reference": b.patient},
            "effectiveDateTime": iso(med.given_at),
            "performer": [{"actor": {"type": "Practitioner", "display": med.given_by}}],
            "note": [{"text": f"recorded at {iso(med.at.wall_utc)} during the IVIG session"}],
            "dosage": {
                "text": f"{plain(med.dose)} {med.unit} {med.route}",
                "route": {"text": med.route},
                "dose": _quantity(med.dose, _MED_UCUM[med.unit], med.unit),
            },
        },
    )


def to_fhir(review: SessionReview) -> dict[str, Any]:
    """The review as a FHIR R4 Bundle (type `collection`), as JSON-ready dicts."""
    b = _Builder(review)
    b.patient_resource()
    b.medications()
    b.parent_resource()
    segments = review.rate_segments
    for i, segment in enumerate(segments):
        if segment.rate_ml_per_h > 0:
            b.segment_resource(i, segment, segments[i + 1] if i + 1 < len(segments) else None)
    for i, point in enumerate(review.vitals):
        b.vitals(i, point)
    for i, reaction in enumerate(review.reactions):
        b.adverse_event(i, reaction)
    for i, med in enumerate(medications_given(review)):
        _medication_given(b, i, med)
    integrity = review.integrity
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": _Ids(review.session_id).uuid("bundle"),
        "meta": {
            "tag": [
                {
                    "system": SYS_INTEGRITY,
                    "code": integrity.status.value,
                    "display": integrity.banner(),
                },
                *([dict(TRAINING_TAG)] if review.training else []),
            ]
        },
        "identifier": {"system": SYS_SESSION, "value": review.session_id},
        "type": "collection",
        "entry": b.entries,
    }
    last = review.end_at
    if last is not None:
        bundle["timestamp"] = iso(last)
    return bundle


def to_fhir_json(review: SessionReview) -> str:
    """The Bundle as indented JSON text (UTF-8, non-ASCII kept)."""
    return json.dumps(to_fhir(review), indent=2, ensure_ascii=False) + "\n"
