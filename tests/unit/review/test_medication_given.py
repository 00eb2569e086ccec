"""Issue 13 item 2 in the review: each medicine given is its own record, shown in the timeline,
the HTML report and the FHIR export (one MedicationAdministration each, valid R4B)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from tests.unit.review.logbuild import ORIGIN_MS, LogSpec, _parsed, _setup, make_plan, policy
from titrator.audit.writer import AuditWriter
from titrator.domain.clock import MS_PER_MIN, Clock, Instant
from titrator.domain.events import MedicationGiven
from titrator.domain.session.engine import InfusionSession
from titrator.interop.fhir.export import to_fhir
from titrator.review.export_html import to_html
from titrator.review.model import load_review
from titrator.review.timeline import Category
from titrator.shell.controller import InfusionController
from titrator.shell.headless import Runner
from titrator.shell.opening import Opening

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def record_anaphylaxis_with_medicines(data_dir: Path, session_id: str = "med-0001") -> Path:
    """The review's anaphylaxis script, with two adrenaline doses recorded after the stop."""
    spec = LogSpec(session_id=session_id, script="anaphylaxis")
    plan = make_plan(spec)
    controller = InfusionController(InfusionSession(plan, policy(), session_id), None)
    runner = Runner(controller, Instant(wall_utc=START, mono_ms=ORIGIN_MS))
    writers: list[AuditWriter] = []

    def open_log(clock: Clock) -> AuditWriter:
        writer = AuditWriter.create(
            session_id, station_id="bay-3", nurse_id="rn-0042", data_dir=data_dir, clock=clock
        )
        writers.append(writer)
        return writer

    doses = {40: ("39", "RN Okafor"), 46: ("45", "RN Okafor")}
    opened = False
    for line in _parsed(spec):
        if not opened:
            opened = True
            runner.open(
                runner.instant(min(line.t_ms, ORIGIN_MS)),
                Opening(setup=_setup(spec, plan)),
                open_log,
            )
        for minute, (given_min, by) in list(doses.items()):
            at_ms = ORIGIN_MS + minute * MS_PER_MIN
            if line.t_ms > at_ms:
                runner.advance(at_ms, inclusive=False)
                now = runner.instant(at_ms)
                runner.feed(
                    MedicationGiven(
                        at=now,
                        drug="adrenaline (epinephrine) 1 mg/mL",
                        dose=Decimal("0.5"),
                        unit="mg",
                        route="IM",
                        given_at=START + timedelta(minutes=int(given_min)),
                        given_by=by,
                    ),
                    "medication",
                )
                del doses[minute]
        runner.run_line(line)
    runner.finish()
    for writer in writers:
        if not writer.closed:
            writer.release()
    assert not doses
    return data_dir / f"{session_id}.jsonl"


def test_each_medicine_is_a_timeline_line(tmp_path: Path) -> None:
    review = load_review(record_anaphylaxis_with_medicines(tmp_path))
    lines = [e for e in review.timeline if e.kind == "medication_given"]
    assert [e.summary for e in lines] == [
        "medicine given: adrenaline (epinephrine) 1 mg/mL 0.5 mg IM at 08:39 UTC by RN Okafor",
        "medicine given: adrenaline (epinephrine) 1 mg/mL 0.5 mg IM at 08:45 UTC by RN Okafor",
    ]
    assert {e.category for e in lines} == {Category.REACTION}


def test_the_html_report_lists_the_medicines_given(tmp_path: Path) -> None:
    html = to_html(load_review(record_anaphylaxis_with_medicines(tmp_path)))
    section = html.split("<h2>Medicines given</h2>", 1)[1].split("<h2>", 1)[0]
    assert section.count("<tr>") == 3  # the header row and two doses
    assert "08:39" in section
    assert "08:45" in section
    assert "0.5 mg" in section
    assert "IM" in section
    assert "RN Okafor" in section


def _meds(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "MedicationAdministration"
        and "medicationCodeableConcept" in e["resource"]
    ]


def test_fhir_has_one_medication_administration_per_dose(tmp_path: Path) -> None:
    bundle = to_fhir(load_review(record_anaphylaxis_with_medicines(tmp_path)))
    parsed = Bundle.model_validate(bundle)
    back = json.loads(parsed.model_dump_json())
    assert len(back["entry"]) == len(bundle["entry"])
    meds = _meds(bundle)
    assert len(meds) == 2
    first = meds[0]
    assert first["status"] == "completed"
    assert first["medicationCodeableConcept"]["text"] == "adrenaline (epinephrine) 1 mg/mL"
    assert first["effectiveDateTime"].startswith("2026-01-05T08:39:00")
    assert first["dosage"]["dose"] == {
        "value": 0.5,
        "unit": "mg",
        "system": "http://unitsofmeasure.org",
        "code": "mg",
    }
    assert first["dosage"]["route"] == {"text": "IM"}
    assert first["performer"][0]["actor"]["display"] == "RN Okafor"
    assert "partOf" not in first  # not part of the IVIG administration
    assert len({m["identifier"][0]["value"] for m in meds}) == 2
