r"""The FHIR R4 transaction around the export: entries, conditional creates, devices, provenance.

FHIR R4 Bundle (https://hl7.org/fhir/R4/bundle.html) and RESTful transactions
(https://hl7.org/fhir/R4/http.html#transaction): every entry of a `transaction` Bundle carries a
`request` (method and URL); an entry whose `fullUrl` is a `urn:uuid:` is given a server id and
every reference to that `urn:uuid:` in the Bundle is rewritten to it. Each entry here is a
conditional create (https://hl7.org/fhir/R4/http.html#ccreate): POST with
`ifNoneExist: identifier=SYSTEM|VALUE` (or `_tag=SYSTEM|CODE` for the Provenance, which has no
identifier in R4), so a server that already holds a matching resource creates nothing and links
the references to the one it holds: posting the same Bundle twice creates nothing new.

Token search values escape `\`, `|`, `,` and `$` with a backslash
(https://hl7.org/fhir/R4/search.html#escaping) and are then percent-encoded for the URL.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from titrator.domain.gtin import gtins_from_ndcs
from titrator.domain.library import Product
from titrator.review.pump_info import PumpIdentity

SYS_NDC: Final = "http://hl7.org/fhir/sid/ndc"
"""National Drug Codes (https://terminology.hl7.org/NDC.html): 10 digits with hyphens."""
SYS_GTIN: Final = "https://www.gs1.org/gtin"
"""GS1 Global Trade Item Numbers (HL7 terminology's identifier for GTIN)."""
SYS_SOFTWARE: Final = "urn:titrator:software"
SYS_PUMP: Final = "urn:titrator:pump"
SYS_AUDIT_LOG: Final = "urn:titrator:audit-log"
SYS_HEAD_HASH: Final = "urn:titrator:audit-head-hash"
PARTICIPANT_TYPE: Final = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
"""Provenance agent types (R4): `assembler` (put the record together), `author`."""

PLACEHOLDER_SYSTEMS: Final = (
    "urn:titrator:site:patient-id-1",
    "urn:titrator:site:patient-id-2",
    "urn:titrator:site:order-id",
)
"""The configuration's default identifier systems: placeholders a site replaces."""


@dataclass(frozen=True)
class FhirSite:
    """What the site tells the FHIR export: its identifier systems, and the product file.

    Attributes:
        patient_id_systems: FHIR identifier systems of patient identifiers 1 and 2
            (`fhir_patient_id_system_1` and `_2` in the site configuration).
        order_id_system: FHIR identifier system of the order numbers typed at setup.
        product: the product file of the log's product (its NDCs and GTINs), if the library
            has it.
    """

    patient_id_systems: tuple[str, str] = PLACEHOLDER_SYSTEMS[:2]
    order_id_system: str = PLACEHOLDER_SYSTEMS[2]
    product: Product | None = None


def token(system: str, value: str) -> str:
    """A token search value `system|value`, escaped and percent-encoded for a URL query."""

    def escape(text: str) -> str:
        for char in ("\\", "|", ",", "$"):
            text = text.replace(char, "\\" + char)
        return urllib.parse.quote(text, safe="/:-._~")

    return f"{escape(system)}|{escape(value)}"


def if_none_exist(resource: dict[str, Any]) -> str:
    """The conditional-create query that finds `resource` again: its first identifier."""
    ident = resource["identifier"]
    first = ident[0] if isinstance(ident, list) else ident
    return "identifier=" + token(first["system"], first["value"])


def entry(url: str, resource: dict[str, Any], query: str | None = None) -> dict[str, Any]:
    """A transaction entry: POST `resource` unless a resource matches `query` already."""
    return {
        "fullUrl": url,
        "resource": resource,
        "request": {
            "method": "POST",
            "url": resource["resourceType"],
            "ifNoneExist": query if query is not None else if_none_exist(resource),
        },
    }


def medication_code(text: str, product_id: str | None, product: Product | None) -> dict[str, Any]:
    """The Medication's code: the product's package NDCs and GTINs when the library cites them.

    The package actually hung is not in the log, so every package code of the product is
    given (each identifies the same product): its cited NDCs, the unit-of-sale GTIN each NDC
    makes (`titrator.domain.gtin`) and any GTIN its file lists; a product without cited codes
    is text only.
    """
    code: dict[str, Any] = {"text": text}
    if product is None or product.id != product_id:
        return code
    codings = []
    gtins: dict[str, None] = {}
    if product.codes is not None:
        codings += [{"system": SYS_NDC, "code": ndc, "display": text} for ndc in product.codes.ndc]
        gtins.update(dict.fromkeys(gtins_from_ndcs(product.codes.ndc)))  # each carton's GTIN
    if product.gtins is not None:
        gtins.update(dict.fromkeys(product.gtins.values))
    codings += [{"system": SYS_GTIN, "code": g, "display": text} for g in gtins]
    if codings:
        code["coding"] = codings
    return code


def software_device(version: str | None) -> dict[str, Any]:
    """The titrator Device: the version the log was written with."""
    value = f"titrator/{version}" if version else "titrator"
    device: dict[str, Any] = {
        "resourceType": "Device",
        "identifier": [{"system": SYS_SOFTWARE, "value": value}],
        "deviceName": [{"name": "titrator", "type": "manufacturer-name"}],
        "type": {"text": "IVIG infusion decision support and audit logging software"},
    }
    if version:
        device["version"] = [{"value": version}]
    return device


def pump_device(pump: PumpIdentity, station_id: str) -> dict[str, Any]:
    """The pump as its `VER` reply named it (model and firmware; the protocol gives no serial).

    Identified by the workstation, model and firmware: the pump at that bedside, as it was.
    """
    return {
        "resourceType": "Device",
        "identifier": [{"system": SYS_PUMP, "value": f"{station_id}/{pump.model}/{pump.firmware}"}],
        "manufacturer": "New Era Pump Systems",
        "deviceName": [{"name": pump.model, "type": "model-name"}],
        "modelNumber": pump.model,
        "type": {"text": "infusion pump"},
        "version": [{"type": {"text": "firmware"}, "value": pump.firmware}],
        "note": [{"text": f"VER reply as received: {pump.reply}"}],
    }


def provenance(
    targets: Sequence[str],
    *,
    recorded: str,
    assembler: str,
    author: dict[str, Any],
    session_id: str,
    head_hash: str | None,
    integrity: tuple[str, str],
) -> tuple[dict[str, Any], str]:
    """The Provenance of every resource: the audit log, its head hash and integrity verdict.

    Returns:
        The resource and its conditional-create query (`_tag`: R4 Provenance has no
        identifier; the head hash is the tag, so a log that grew gets a new Provenance).
    """
    status, banner = integrity
    hash_code = head_hash or f"none:{session_id}"
    resource = {
        "resourceType": "Provenance",
        "meta": {
            "tag": [
                {"system": SYS_HEAD_HASH, "code": hash_code},
                {"system": "urn:titrator:audit-integrity", "code": status, "display": banner},
            ]
        },
        "target": [{"reference": url} for url in targets],
        "recorded": recorded,
        "agent": [
            {
                "type": {"coding": [{"system": PARTICIPANT_TYPE, "code": "assembler"}]},
                "who": {"reference": assembler},
            },
            {"type": {"coding": [{"system": PARTICIPANT_TYPE, "code": "author"}]}, "who": author},
        ],
        "entity": [
            {
                "role": "source",
                "what": {
                    "identifier": {"system": SYS_AUDIT_LOG, "value": session_id},
                    "display": f"titrator audit log {session_id}; head hash "
                    f"{head_hash or 'none'}; integrity {status}: {banner}",
                },
            }
        ],
    }
    return resource, "_tag=" + token(SYS_HEAD_HASH, hash_code)
