"""The FHIR export as an R4 `transaction` Bundle a hospital server can take, and take twice.

Validated with two independent model libraries: SMART's `fhirclient` (R4 4.0.1 models, strict:
unknown keys, wrong types and missing required elements are errors) and `fhir.resources` (R4B).
The transaction rules (https://hl7.org/fhir/R4/http.html#transaction) are checked here: every
entry has `request.method` and `request.url`, every `ifNoneExist` is a well-formed
`identifier=SYSTEM|VALUE` (or `_tag=`) query that finds the entry's own resource, every reference
resolves to an entry's `fullUrl`, and posting the Bundle twice to a store that processes
conditional creates as a server does creates nothing the second time.
"""

from __future__ import annotations

import itertools
import json
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle as BundleR4B
from fhirclient.models.bundle import Bundle as BundleR4

from simulator.wire import frame_reply
from tests.unit.review.logbuild import LogSpec, build_log, library
from tests.unit.review.logs import SCENARIOS
from titrator.domain.gtin import gtins_from_ndcs
from titrator.interop.fhir.export import TRAINING_TAG, to_fhir
from titrator.interop.fhir.transaction import SYS_GTIN, SYS_HEAD_HASH, SYS_NDC, FhirSite
from titrator.review.model import load_review

SITE = FhirSite(
    patient_id_systems=("urn:oid:2.16.840.1.113883.3.999.1", "urn:oid:2.16.840.1.113883.3.999.2"),
    order_id_system="urn:oid:2.16.840.1.113883.3.999.3",
    product=library().product("privigen"),
)
"""A site that configured its identifier systems (made-up OIDs) and has the product file."""
_QUERY = re.compile(r"^(identifier|_tag)=([^|]+)\|(.+)$")


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", urllib.parse.unquote(text))


def _split_token(query: str) -> tuple[str, str, str]:
    """(parameter, system, value) of a conditional query, or fail the test."""
    match = _QUERY.fullmatch(query)
    assert match is not None, f"malformed ifNoneExist {query!r}"
    param, system, value = match.groups()
    assert not re.search(r"(?<!\\)\|", urllib.parse.unquote(value)), query
    return param, _unescape(system), _unescape(value)


def _tokens(resource: dict[str, Any], param: str) -> set[tuple[str, str]]:
    if param == "_tag":
        return {(t["system"], t["code"]) for t in resource.get("meta", {}).get("tag", [])}
    ident = resource.get("identifier", [])
    return {(i["system"], i["value"]) for i in (ident if isinstance(ident, list) else [ident])}


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def _rewrite(node: Any, ids: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: ids.get(v, v) if k == "reference" else _rewrite(v, ids) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite(item, ids) for item in node]
    return node


class ConditionalStore:
    """A FHIR server's store as far as a transaction of conditional creates goes.

    For each entry: search the entry's type with its `ifNoneExist`; one match is used as it is
    (nothing created), none creates the resource with a new id, more than one fails the
    transaction (412). Then every `urn:uuid:` reference is rewritten to the resource it became.
    """

    def __init__(self) -> None:
        self.resources: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)

    def search(self, kind: str, query: str) -> list[str]:
        """Ids of stored resources of `kind` that `query` finds."""
        param, system, value = _split_token(query)
        return [
            rid
            for rid, r in self.resources.items()
            if r["resourceType"] == kind and (system, value) in _tokens(r, param)
        ]

    def post(self, bundle: dict[str, Any]) -> int:
        """Process the transaction; the number of resources created."""
        assert bundle["type"] == "transaction"
        ids: dict[str, str] = {}
        new: dict[str, dict[str, Any]] = {}
        for entry in bundle["entry"]:
            request, resource = entry["request"], entry["resource"]
            kind = resource["resourceType"]
            found = self.search(kind, request["ifNoneExist"])
            assert len(found) <= 1, f"412: {request['ifNoneExist']} matches {len(found)}"
            if found:
                ids[entry["fullUrl"]] = found[0]
            else:
                rid = f"{kind}/{next(self._ids)}"
                ids[entry["fullUrl"]] = rid
                new[rid] = resource
        for rid, resource in new.items():
            self.resources[rid] = _rewrite(resource, ids)
        for resource in self.resources.values():
            for ref in _references(resource):
                assert ref in self.resources, f"dangling reference {ref}"
        return len(new)


@pytest.fixture(scope="module")
def pumped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A completed log with an order id and the pump's start-up `VER` exchange in its trace."""
    reply = frame_reply("00SNE1000V3.928", safe=True)
    wire = [
        {"kind": "pump_wire", "direction": "tx", "data_hex": "02 08 56 45 52 00 00 03",
         "monotonic_ms": 85000, "requester": "titrator", "reason": "start-up", "command": "VER"},
        {"kind": "pump_wire", "direction": "rx", "data_hex": reply.hex(" "),
         "monotonic_ms": 85100, "requester": "titrator", "reason": "start-up", "command": "VER"},
    ]  # fmt: skip
    spec = LogSpec(session_id="s-pumped", order_id="ORD 7781/2", early_records=tuple(wire))
    return build_log(tmp_path_factory.mktemp("pumped"), spec)


def _of(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


@pytest.mark.parametrize("name", [*SCENARIOS, "unfinished"])
def test_the_transaction_validates_as_r4_and_r4b(logs: dict[str, Path], name: str) -> None:
    bundle = to_fhir(load_review(logs[name]), SITE)
    assert bundle["type"] == "transaction"
    r4 = BundleR4(json.loads(json.dumps(bundle)), strict=True)
    assert len(r4.entry) == len(bundle["entry"])
    r4b = BundleR4B.model_validate(bundle)
    assert len(json.loads(r4b.model_dump_json())["entry"]) == len(bundle["entry"])


@pytest.mark.parametrize("name", [*SCENARIOS, "unfinished"])
def test_every_entry_is_a_conditional_create_that_finds_itself(
    logs: dict[str, Path], name: str
) -> None:
    bundle = to_fhir(load_review(logs[name]), SITE)
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(urls)) == len(urls)
    assert all(url.startswith("urn:uuid:") for url in urls)
    for entry in bundle["entry"]:
        resource, request = entry["resource"], entry["request"]
        assert "id" not in resource  # the server assigns it
        assert request["method"] == "POST"
        assert request["url"] == resource["resourceType"]
        param, system, value = _split_token(request["ifNoneExist"])
        assert (system, value) in _tokens(resource, param)
        for ref in _references(resource):
            assert ref in urls, f"{ref} is not an entry of the bundle"


def test_posting_twice_creates_nothing_new(logs: dict[str, Path]) -> None:
    store = ConditionalStore()
    first = to_fhir(load_review(logs["anaphylaxis"]), SITE)
    assert store.post(first) == len(first["entry"])
    assert store.post(first) == 0
    assert store.post(json.loads(json.dumps(first))) == 0
    # Another session of the same patient, product and lot: the patient, the medication and
    # the titrator device are found, not created again.
    other = to_fhir(load_review(logs["completed"]), SITE)
    created = store.post(other)
    assert created == len(other["entry"]) - 3
    assert len([r for r in store.resources.values() if r["resourceType"] == "Patient"]) == 1


def test_the_patient_is_identified_in_the_site_systems(logs: dict[str, Path]) -> None:
    (patient,) = _of(to_fhir(load_review(logs["completed"]), SITE), "Patient")
    assert [(i["system"], i["value"]) for i in patient["identifier"]] == [
        ("urn:oid:2.16.840.1.113883.3.999.1", "MRN-0001"),
        ("urn:oid:2.16.840.1.113883.3.999.2", "1970-01-01"),
    ]
    (default,) = _of(to_fhir(load_review(logs["completed"])), "Patient")
    assert default["identifier"][0]["system"] == "urn:titrator:site:patient-id-1"  # placeholder


def test_the_medication_is_coded_with_the_products_ndcs(logs: dict[str, Path]) -> None:
    product = library().product("privigen")
    assert product.codes is not None
    (medication,) = _of(to_fhir(load_review(logs["completed"]), SITE), "Medication")
    ndcs = [c["code"] for c in medication["code"]["coding"] if c["system"] == SYS_NDC]
    assert ndcs == list(product.codes.ndc)
    gtins = [c["code"] for c in medication["code"]["coding"] if c["system"] == SYS_GTIN]
    # each NDC's unit-of-sale GTIN (GS1: indicator 0, "03", the NDC, a check digit)
    assert gtins[0] == "00344206436059"  # NDC 44206-436-05
    listed = list(product.gtins.values) if product.gtins else []
    assert gtins == list(dict.fromkeys([*gtins_from_ndcs(product.codes.ndc), *listed]))
    assert medication["batch"] == {"lotNumber": "P100234"}
    (bare,) = _of(to_fhir(load_review(logs["completed"])), "Medication")
    assert bare["code"] == {"text": "Privigen"}  # no product file given: the name only


def test_the_order_is_the_request_of_every_ivig_administration(
    pumped: Path, logs: dict[str, Path]
) -> None:
    bundle = to_fhir(load_review(pumped), SITE)
    admins = _of(bundle, "MedicationAdministration")
    assert len(admins) > 2
    for admin in admins:
        assert admin["request"]["identifier"] == {
            "system": "urn:oid:2.16.840.1.113883.3.999.3",
            "value": "ORD 7781/2",
        }
    for admin in _of(to_fhir(load_review(logs["completed"]), SITE), "MedicationAdministration"):
        assert "request" not in admin  # no order entered at setup
    rates = [a["dosage"]["rateQuantity"] for a in admins if "rateQuantity" in a["dosage"]]
    assert {(q["system"], q["code"], q["unit"]) for q in rates} == {
        ("http://unitsofmeasure.org", "mL/h", "mL/h")
    }


def test_the_pump_and_titrator_are_devices(pumped: Path, logs: dict[str, Path]) -> None:
    bundle = to_fhir(load_review(pumped), SITE)
    software, pump = _of(bundle, "Device")
    assert software["version"] == [{"value": "0.1.0"}]
    assert pump["modelNumber"] == "NE1000"
    assert pump["version"] == [{"type": {"text": "firmware"}, "value": "3.928"}]
    assert "serialNumber" not in pump  # the protocol has no serial-number query
    pump_url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"] is pump)
    for admin in _of(bundle, "MedicationAdministration")[:2]:
        assert admin["device"] == [{"reference": pump_url}]
    plain = to_fhir(load_review(logs["completed"]), SITE)
    assert len(_of(plain, "Device")) == 1  # no VER reply in the log: no pump device


def test_the_provenance_targets_everything_with_the_head_hash(pumped: Path) -> None:
    review = load_review(pumped)
    bundle = to_fhir(review, SITE)
    (prov,) = _of(bundle, "Provenance")
    others = [e["fullUrl"] for e in bundle["entry"] if e["resource"] is not prov]
    assert [t["reference"] for t in prov["target"]] == others
    assert review.integrity.head_hash
    tags = {t["system"]: t["code"] for t in prov["meta"]["tag"]}
    assert tags[SYS_HEAD_HASH] == review.integrity.head_hash
    assert tags["urn:titrator:audit-integrity"] == review.integrity.status.value
    assert review.integrity.head_hash in prov["entity"][0]["what"]["display"]


def test_a_training_log_tags_every_entry(tmp_path: Path) -> None:
    log = build_log(tmp_path, LogSpec(session_id="s-drill", training=True))
    bundle = to_fhir(load_review(log), SITE)
    for entry in bundle["entry"]:
        assert TRAINING_TAG in entry["resource"]["meta"]["tag"]
