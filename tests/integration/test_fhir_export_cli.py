"""`titrator export --format fhir` with the site's identifier systems, `run --order-id`, and
the pump Device from the simulated pump's own `VER` reply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator import ModelConfig, Simulator
from tests.unit.review.logbuild import LogSpec, build_log
from titrator.cli.main import main
from titrator.interop.fhir.export import to_fhir
from titrator.pump.base import WireRecord
from titrator.pump.newera.driver import NewEraPump
from titrator.review.model import load_review
from titrator.shell.controller import wire_record

LOG = Path(__file__).resolve().parents[1] / "data" / "audit" / "uneventful.jsonl"


@pytest.fixture(autouse=True)
def no_site_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("TITRATOR_CONFIG", raising=False)


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_export_uses_the_configured_systems_and_the_product_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(
        tmp_path,
        'fhir_patient_id_system_1 = "urn:oid:1.2.36.146.595.217.0.1"\n'
        'fhir_patient_id_system_2 = "http://hospital.example/fhir/dob"\n',
    )
    log = build_log(tmp_path / "logs", LogSpec(session_id="s-cli"))
    assert main(["export", str(log), "--format", "fhir", "--config", str(config)]) == 0
    bundle = json.loads(capsys.readouterr().out)
    assert bundle["type"] == "transaction"
    (patient,) = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    systems = [i["system"] for i in patient["resource"]["identifier"]]
    assert systems == ["urn:oid:1.2.36.146.595.217.0.1", "http://hospital.example/fhir/dob"]
    assert patient["request"]["ifNoneExist"].startswith(
        "identifier=urn:oid:1.2.36.146.595.217.0.1|"
    )
    (medication,) = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Medication"]
    codes = {c["system"] for c in medication["resource"]["code"].get("coding", [])}
    assert "http://hl7.org/fhir/sid/ndc" in codes  # a Privigen infusion: its package NDCs


def test_a_bad_identifier_system_is_one_line_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, 'fhir_order_id_system = "orders at the desk"\n')
    assert main(["export", str(LOG), "--format", "fhir", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "fhir_order_id_system" in err
    assert "Traceback" not in err


def test_a_bad_order_id_option_is_one_line_and_not_echoed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["run", "--order-id", "ORD;4711"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("titrator run: error: --order-id: ")
    assert err.count("\n") == 1
    assert "4711" not in err  # it may identify the patient


def test_the_pump_device_is_what_the_simulated_pump_said_on_the_wire(tmp_path: Path) -> None:
    """The driver's real start-up exchange, recorded as the app records it, names the pump."""
    wire: list[WireRecord] = []
    config = ModelConfig(model="NE1010", firmware="V4.123", safe_timeout_s=10)
    with (
        Simulator(config) as sim,
        NewEraPump(sim.start_tcp(), on_wire=wire.append, keepalive_s=None) as pump,
    ):
        pump.connect(requester="rn-0042", reason="start-up")
    records = tuple(wire_record(r) for r in wire)
    assert any(r["command"] == "VER" and r["direction"] == "rx" for r in records)
    log = build_log(tmp_path, LogSpec(session_id="s-sim", early_records=records))
    bundle = to_fhir(load_review(log))
    pumps = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Device" and "modelNumber" in e["resource"]
    ]
    assert [(p["modelNumber"], p["version"][0]["value"]) for p in pumps] == [("NE1010", "4.123")]
