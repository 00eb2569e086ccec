"""Exports: CSV round trip, FHIR validated with fhir.resources (R4B), HTML self-contained."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from tests.support import paths as support_paths
from tests.unit.review.logbuild import LogSpec, build_log
from tests.unit.review.logs import SCENARIOS
from titrator.interop.fhir.export import to_fhir, to_fhir_json
from titrator.review.export_csv import COLUMNS, to_csv
from titrator.review.export_html import to_html
from titrator.review.model import load_review

LOINC = "http://loinc.org"


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("name", [*SCENARIOS, "unfinished"])
def test_csv_round_trips_every_record(logs: dict[str, Path], name: str) -> None:
    review = load_review(logs[name])
    text = to_csv(review)
    reader = csv.reader(io.StringIO(text, newline=""))
    assert tuple(next(reader)) == COLUMNS
    rows = _rows(text)
    assert rows[0]["row_type"] == "integrity"
    assert rows[0]["outcome"] == review.integrity.status.value
    records = rows[1:]
    assert len(records) == len(review.timeline)
    for row, entry in zip(records, review.timeline, strict=True):
        assert row["seq"] == str(entry.seq)
        assert row["kind"] == entry.kind
        assert json.loads(row["payload_json"]) == entry.payload
        assert row["time_utc"].endswith("+00:00")


def test_csv_columns_carry_values_with_units_in_their_names(logs: dict[str, Path]) -> None:
    rows = _rows(to_csv(load_review(logs["fever"])))
    rates = [r["rate_ml_per_h"] for r in rows if r["kind"] == "rate_changed"]
    assert rates == ["21", "42", "84", "0", "42", "0"]
    vitals = [r for r in rows if r["kind"] == "vitals_accepted"]
    assert vitals[0]["temp_c"] == "36.6"
    assert vitals[0]["spo2_pct"] == "99"
    reaction = next(r for r in rows if r["kind"] == "reaction_opened")
    assert (reaction["severity"], reaction["rule_ids"]) == ("mild", "SYM-MILD")


def test_csv_states_the_damage(damaged: Path) -> None:
    rows = _rows(to_csv(load_review(damaged)))
    assert rows[0]["outcome"] == "damaged"
    assert "line 60" in rows[0]["summary"]
    assert [r["vouched"] for r in rows[59:62]] == ["yes", "no", "no"]


@pytest.mark.parametrize("name", [*SCENARIOS, "unfinished"])
def test_fhir_bundle_validates_against_r4b(logs: dict[str, Path], name: str) -> None:
    bundle = to_fhir(load_review(logs[name]))
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "transaction"
    back = json.loads(parsed.model_dump_json())
    assert len(back["entry"]) == len(bundle["entry"])  # nothing dropped by the models


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_fhir_rate_segments_are_part_of_the_infusion(logs: dict[str, Path]) -> None:
    bundle = to_fhir(load_review(logs["completed"]))
    admins = _resources(bundle, "MedicationAdministration")
    parent, segments = admins[0], admins[1:]
    assert parent["status"] == "completed"
    assert "partOf" not in parent
    assert parent["dosage"]["dose"] == {
        "value": 280,
        "unit": "mL",
        "system": "http://unitsofmeasure.org",
        "code": "mL",
    }
    assert [s["dosage"]["rateQuantity"]["value"] for s in segments] == [21, 42, 84, 168, 252]
    parent_url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"] is parent)
    for s in segments:
        assert s["partOf"] == [{"reference": parent_url}]
        assert s["dosage"]["rateQuantity"]["code"] == "mL/h"
        assert s["effectivePeriod"]["start"].endswith("+00:00")
        assert s["performer"][0]["actor"]["identifier"]["value"] == "rn-0042"
    (medication,) = _resources(bundle, "Medication")
    assert medication["batch"] == {"lotNumber": "P100234"}
    (patient,) = _resources(bundle, "Patient")
    assert [i["value"] for i in patient["identifier"]] == ["MRN-0001", "1970-01-01"]


def test_fhir_vital_signs_use_the_loinc_codes(logs: dict[str, Path]) -> None:
    observations = _resources(to_fhir(load_review(logs["completed"])), "Observation")
    codes = {tuple(c["code"] for c in o["code"]["coding"]) for o in observations}
    assert codes == {("8310-5",), ("8867-4",), ("9279-1",), ("2708-6", "59408-5"), ("85354-9",)}
    bp = next(o for o in observations if o["code"]["coding"][0]["code"] == "85354-9")
    assert [c["code"]["coding"][0]["code"] for c in bp["component"]] == ["8480-6", "8462-4"]
    assert bp["component"][0]["valueQuantity"]["code"] == "mm[Hg]"
    temp = next(o for o in observations if o["code"]["coding"][0]["code"] == "8310-5")
    assert temp["valueQuantity"]["code"] == "Cel"
    assert all(o["category"][0]["coding"][0]["code"] == "vital-signs" for o in observations)
    assert all(c["system"] == LOINC for o in observations for c in o["code"]["coding"])


def test_fhir_reactions_are_adverse_events(logs: dict[str, Path]) -> None:
    bundle = to_fhir(load_review(logs["anaphylaxis"]))
    (event,) = _resources(bundle, "AdverseEvent")
    assert event["severity"]["coding"][0]["code"] == "severe"
    assert "SYM-SEVERE" in [c["code"] for c in event["event"]["coding"]]
    assert "STOP the infusion" in event["event"]["text"]
    parent = _resources(bundle, "MedicationAdministration")[0]
    assert parent["status"] == "stopped"
    parent_url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"] is parent)
    assert event["suspectEntity"][0]["instance"]["reference"] == parent_url


def test_fhir_export_is_deterministic_and_carries_the_integrity(
    logs: dict[str, Path], damaged: Path
) -> None:
    review = load_review(logs["override"])
    assert to_fhir_json(review) == to_fhir_json(load_review(logs["override"]))
    assert to_fhir(review)["meta"]["tag"][0]["code"] == "chain-only"  # read without a key
    notes = " ".join(
        n["text"] for n in _resources(to_fhir(review), "MedicationAdministration")[0]["note"]
    )
    assert "patient_request" in notes
    assert (review.integrity.head_hash or "no head") in notes
    broken = to_fhir(load_review(damaged))
    assert broken["meta"]["tag"][0]["code"] == "damaged"
    assert "line 60" in broken["meta"]["tag"][0]["display"]
    Bundle.model_validate(broken)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.styles if self._in_style else self.text).append(data)


EXTERNAL_TAGS = {
    "script",
    "link",
    "img",
    "iframe",
    "object",
    "embed",
    "audio",
    "video",
    "source",
    "base",
    "form",
}
EXTERNAL_ATTRS = {"src", "href", "srcset", "action", "xlink:href", "data", "poster", "background"}


@pytest.mark.parametrize("name", [*SCENARIOS, "unfinished"])
def test_html_report_is_self_contained(logs: dict[str, Path], name: str) -> None:
    review = load_review(logs[name])
    page = _Collector()
    page.feed(to_html(review))
    page.close()
    assert not EXTERNAL_TAGS & set(page.tags)
    assert not [a for a, _ in page.attrs if a in EXTERNAL_ATTRS]
    css = "".join(page.styles)
    assert "url(" not in css
    assert "@import" not in css
    assert "svg" in page.tags
    text = " ".join(page.text)
    assert review.integrity.head_hash is not None
    assert review.integrity.head_hash in text
    assert review.integrity.status.label.upper() in text


def test_html_escapes_what_the_nurse_typed(tmp_path: Path) -> None:
    script = (support_paths.DATA / "review" / "override.jsonl").read_text()
    script = script.replace("anxious; stay at this rate for now", "<script>alert(1)</script>")
    log = build_log(tmp_path, LogSpec(session_id="s-x", script=script, auto_accept=False))
    html = to_html(load_review(log))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_html_states_the_damage(damaged: Path) -> None:
    html = to_html(load_review(damaged))
    assert "DAMAGED at line 60" in html
    assert 'class="unvouched"' in html


def test_decimal_values_are_exact_in_fhir(logs: dict[str, Path]) -> None:
    obs = _resources(to_fhir(load_review(logs["fever"])), "Observation")
    temps = [o["valueQuantity"]["value"] for o in obs if o["code"]["coding"][0]["code"] == "8310-5"]
    assert Decimal(str(temps[5])) == Decimal("37.7")
