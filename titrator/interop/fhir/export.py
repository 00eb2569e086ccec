"""FHIR R4 export: a `transaction` Bundle built from plain dicts (no FHIR library at run time).

Every entry is a conditional create (`titrator.interop.fhir.transaction`): posting the Bundle twice
creates nothing new. What it holds:

- one parent MedicationAdministration for the whole infusion (status from the outcome, volume
  given, indication, notes for the outcome, the overrides, the reaction clearances and the
  integrity result with the head hash);
- one MedicationAdministration per rate segment above 0 mL/h, `partOf` the parent, with the rate
  as a UCUM quantity in mL/h, its period, the lot (through its Medication) and the nurse;
- a Medication per lot (the product's package NDCs and GTINs where the product file cites them,
  else the product's name only; `batch.lotNumber`), a Patient with the two identifiers in the
  site's identifier systems (`fhir_patient_id_system_1`, `_2`);
- `request` on every administration of the infusion: the order typed at setup (by identifier,
  in the site's `fhir_order_id_system`), when one was;
- a Device for titrator (the version that wrote the log) and one for the pump when the log has
  its `VER` reply (model and firmware; the administrations name it as their `device`);
- a Provenance targeting every other entry, carrying the log's head hash and integrity verdict;
- vital signs as Observations (category vital-signs, LOINC; blood pressure as the 85354-9 panel
  with 8480-6 and 8462-4 components; SpO2 coded 2708-6 and 59408-5), `partOf` the parent;
- each reaction episode as an AdverseEvent (severity, policy rule ids, the recommendation text,
  the suspect administration, who recorded it, how it was cleared);
- each medicine given (`medication_given`: adrenaline in an emergency, for example) as its own
  MedicationAdministration (drug as text, dose as a UCUM quantity, route, time, performer).

`fullUrl`s are UUIDv5 of the session and the item, so the same log always exports the same
Bundle; resources carry no `id` (the server assigns it).
The integrity status is also a `meta.tag` on the Bundle (`urn:titrator:audit-integrity`). A demo
or training log carries the HL7 processing-id tag `T` (Training) from
`http://terminology.hl7.org/CodeSystem/v2-0103` in `meta.tag` on the Bundle and on every resource
in it, so a resource copied out alone still says it is not a real patient's.
"""

from __future__ import annotations

import json
from typing import Any

from titrator.interop.fhir.transaction import (
    FhirSite,
    entry,
    medication_code,
    provenance,
    pump_device,
    software_device,
)
from titrator.interop.fhir.vocabulary import (
    AE_SEVERITY,
    BP_PANEL,
    BP_PARTS,
    LOINC,
    OBS_CATEGORY,
    STATUS,
    SYS_INDICATION,
    SYS_INTEGRITY,
    SYS_MEDICATION_LOT,
    SYS_RULE,
    SYS_SESSION,
    TRAINING_TAG,
    VITAL_CODES,
    Ids,
    medication_given,
    quantity,
    shown_volume,
    user,
)
from titrator.review.care import medications_given
from titrator.review.episodes import RateSegment, Reaction, VitalsPoint
from titrator.review.fmt import iso, ml
from titrator.review.model import InfusionOutcome, SessionReview
from titrator.review.pump_info import pump_identity, software_version

__all__ = ["TRAINING_TAG", "FhirSite", "to_fhir", "to_fhir_json"]


class _Builder:
    def __init__(self, review: SessionReview, site: FhirSite) -> None:
        self.review = review
        self.site = site
        self.ids = Ids(review.session_id)
        self.entries: list[dict[str, Any]] = []
        self.patient = self.ids.url("patient")
        self.parent = self.ids.url("administration")
        self.lot_urls: dict[str, str] = {}
        self.pump = pump_identity(review)
        self.pump_url = self.ids.url("device:pump") if self.pump is not None else None
        self.order: dict[str, Any] | None = None
        order_id = review.header.order_id
        if order_id:
            self.order = {
                "type": "MedicationRequest",
                "identifier": {"system": site.order_id_system, "value": order_id},
                "display": f"order {order_id}",
            }

    def add(self, url: str, resource: dict[str, Any], query: str | None = None) -> None:
        if self.review.training:
            resource.setdefault("meta", {}).setdefault("tag", []).append(dict(TRAINING_TAG))
        self.entries.append(entry(url, resource, query))

    def administered(self, resource: dict[str, Any]) -> dict[str, Any]:
        """The order and the pump, on an administration of the IVIG."""
        if self.order is not None:
            resource["request"] = dict(self.order)
        if self.pump_url is not None:
            resource["device"] = [{"reference": self.pump_url}]
        return resource

    def patient_resource(self) -> None:
        h, systems = self.review.header, self.site.patient_id_systems
        idents = [
            {"use": "usual", "type": {"text": label}, "system": system, "value": value}
            for label, system, value in (
                ("patient identifier 1", systems[0], h.patient_id),
                ("patient identifier 2", systems[1], h.patient_id_2),
            )
            if value
        ]
        if not idents:  # a log without a setup (headless): no patient was identified
            idents = [
                {
                    "type": {"text": "no patient identifier recorded (session without setup)"},
                    "system": SYS_SESSION,
                    "value": f"{self.review.session_id}/patient",
                }
            ]
        self.add(self.patient, {"resourceType": "Patient", "identifier": idents})

    def medications(self) -> None:
        h = self.review.header
        lots = [lot for _, lot in self.review.lots] or [""]
        text = h.product_name or h.product_id or "unknown product"
        for lot in dict.fromkeys(lots):
            url = self.ids.url(f"medication:{lot}")
            value = f"{h.product_id or 'unknown'}/{lot}" if lot else f"{self.review.session_id}"
            resource: dict[str, Any] = {
                "resourceType": "Medication",
                "identifier": [{"system": SYS_MEDICATION_LOT, "value": value}],
                "code": medication_code(text, h.product_id, self.site.product),
            }
            if lot:
                resource["batch"] = {"lotNumber": lot}
            self.add(url, resource)
            self.lot_urls[lot] = url

    def devices(self) -> str:
        """The titrator Device (returned: the Provenance's assembler) and the pump's."""
        url = self.ids.url("device:titrator")
        self.add(url, software_device(software_version(self.review)))
        if self.pump is not None and self.pump_url is not None:
            self.add(self.pump_url, pump_device(self.pump, self.review.station_id or "station"))
        return url

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
            "status": STATUS[r.outcome],
            "medicationReference": {"reference": next(iter(self.lot_urls.values()))},
            "subject": {"reference": self.patient},
            **self.effective(start, r.closed_at),
            "performer": [{"actor": user(h.nurse_id)}],
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
                "dose": quantity(shown_volume(r.volume_ml), "mL", "mL"),
            }
        self.add(self.parent, self.administered(resource))

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
        resource = {
            "resourceType": "MedicationAdministration",
            "identifier": [
                {"system": SYS_SESSION, "value": f"{self.review.session_id}/rate/{segment.seq}"}
            ],
            "partOf": [{"reference": self.parent}],
            "status": status,
            "medicationReference": {"reference": self.lot_at(segment)},
            "subject": {"reference": self.patient},
            **self.effective(segment.start, segment.end),
            "performer": [{"actor": user(segment.nurse_id)}],
            "dosage": {
                "text": f"{step}{segment.cause}",
                "rateQuantity": quantity(segment.rate_ml_per_h, "mL/h", "mL/h"),
            },
        }
        self.add(self.ids.url(f"segment:{index}"), self.administered(resource))

    def _observation(
        self, point: VitalsPoint, name: str, code: list[tuple[str, str]], key: str
    ) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "identifier": [
                {"system": SYS_SESSION, "value": f"{self.review.session_id}/vitals/{key}"}
            ],
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
            "performer": [user(point.nurse_id)],
            "note": [{"text": f"purpose: {point.purpose}"}],
        }

    def vitals(self, index: int, point: VitalsPoint) -> None:
        for field, (codes, ucum, unit) in VITAL_CODES.items():
            value = point.values.get(field)
            if value is None:
                continue
            obs = self._observation(point, codes[0][1], codes, f"{index}/{field.value}")
            obs["valueQuantity"] = quantity(value, ucum, unit)
            self.add(self.ids.url(f"vitals:{index}:{field.value}"), obs)
        parts = [(f, c) for f, c in BP_PARTS.items() if f in point.values]
        if parts:
            obs = self._observation(point, "Blood pressure", [BP_PANEL], f"{index}/bp")
            obs["component"] = [
                {
                    "code": {"coding": [{"system": LOINC, "code": c, "display": d}], "text": d},
                    "valueQuantity": quantity(point.values[f], "mm[Hg]", "mmHg"),
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
            "recorder": user(reaction.opened_by),
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


def to_fhir(review: SessionReview, site: FhirSite | None = None) -> dict[str, Any]:
    """The review as a FHIR R4 `transaction` Bundle of conditional creates, as JSON-ready dicts.

    Args:
        review: the log's review.
        site: the site's identifier systems and the product file (placeholders and no product
            codes when not given).
    """
    b = _Builder(review, site or FhirSite())
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
        b.add(b.ids.url(f"medication:{i}"), medication_given(review.session_id, i, med, b.patient))
    assembler = b.devices()
    integrity = review.integrity
    recorded = review.end_at or review.started_at
    if recorded is not None:
        resource, query = provenance(
            [e["fullUrl"] for e in b.entries],
            recorded=iso(recorded),
            assembler=assembler,
            author=user(review.header.nurse_id),
            session_id=review.session_id,
            head_hash=integrity.head_hash,
            integrity=(integrity.status.value, integrity.banner()),
        )
        b.add(b.ids.url("provenance"), resource, query)
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": Ids(review.session_id).uuid("bundle"),
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
        "type": "transaction",
        "entry": b.entries,
    }
    last = review.end_at
    if last is not None:
        bundle["timestamp"] = iso(last)
    return bundle


def to_fhir_json(review: SessionReview, site: FhirSite | None = None) -> str:
    """The Bundle as indented JSON text (UTF-8, non-ASCII kept)."""
    return json.dumps(to_fhir(review, site), indent=2, ensure_ascii=False) + "\n"
