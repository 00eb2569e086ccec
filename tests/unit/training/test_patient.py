"""The simulated patient on the pump model and a manual clock: no real waiting."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from simulator.clock import ManualClock
from simulator.control import ControlServer, send_control
from simulator.model import ModelConfig, PumpModel
from simulator.patient import SimulatedPatient
from simulator.scenario import SCENARIO_DIR, Scenario, load_scenario

MILD = SCENARIO_DIR / "mild-headache-flushing.toml"


def scenario(path: Path = MILD) -> Scenario:
    return load_scenario(path)


def pump_and_patient(path: Path = MILD) -> tuple[PumpModel, SimulatedPatient, ManualClock]:
    clock = ManualClock(100.0)
    pump = PumpModel(ModelConfig(power_up_quirk=False), clock=clock)
    return pump, SimulatedPatient(scenario(path), pump, clock), clock


def run_at(pump: PumpModel, rate_ml_per_h: str) -> None:
    running = pump.snapshot()["prompt"] == "I"
    assert pump.handle(f"0RAT{rate_ml_per_h}" + ("" if running else "MH")) is not None
    if not running:
        assert pump.handle("0RUN") == "00I"


def minutes(clock: ManualClock, patient: SimulatedPatient, count: float) -> None:
    clock.advance(count * 60)
    patient.update()


def test_before_the_start_the_monitor_shows_the_baseline() -> None:
    _pump, patient, clock = pump_and_patient()
    minutes(clock, patient, 30)
    assert patient.monitor() == {
        "temp_c": "36.7",
        "hr_bpm": "76",
        "sbp_mmhg": "128",
        "dbp_mmhg": "80",
        "rr_bpm": "15",
        "spo2_pct": "98",
    }
    assert patient.complaints() == []
    assert not patient.started


def test_the_start_is_seen_on_the_pump_and_drift_follows() -> None:
    path = SCENARIO_DIR / "uneventful-first.toml"
    pump, patient, clock = pump_and_patient(path)
    run_at(pump, "21")
    patient.update()
    assert patient.started
    minutes(clock, patient, 60)
    assert patient.monitor()["temp_c"] == "36.7"  # +0.1 per hour
    assert patient.monitor()["hr_bpm"] == "73"


def reaction_started(slow_to: str | None) -> tuple[PumpModel, SimulatedPatient, ManualClock]:
    pump, patient, clock = pump_and_patient()
    run_at(pump, "78")
    patient.update()
    patient.on_step(3)  # the headache comes 5 min after step 3
    minutes(clock, patient, 5)
    assert patient.symptom_ids() == ["headache", "flushing"]
    assert patient.complaints() == ["My head has started to throb and my face feels hot."]
    assert patient.monitor()["temp_c"] == "37.0"
    if slow_to == "0":
        assert pump.handle("0STP") == "00P"
    elif slow_to is not None:
        assert pump.handle(f"0RAT{slow_to}") == "00I"
    patient.update()
    return pump, patient, clock


@pytest.mark.parametrize("slow_to", ["0", "39"])
def test_slowing_or_pausing_settles_a_mild_reaction(slow_to: str) -> None:
    _pump, patient, clock = reaction_started(slow_to)
    minutes(clock, patient, 10)
    assert patient.symptom_ids() == ["headache", "flushing"]
    assert patient.monitor()["temp_c"] == "36.9"  # half settled
    minutes(clock, patient, 10)
    assert patient.symptom_ids() == []
    assert patient.monitor()["temp_c"] == "36.7"
    assert [h.kind for h in patient.happenings()] == ["started", "onset", "settled"]


def test_ignoring_a_reaction_escalates_it() -> None:
    _pump, patient, clock = reaction_started(None)
    assert patient.next_change_s() == pytest.approx(clock() + 15 * 60)
    minutes(clock, patient, 15)
    assert patient.symptom_ids() == ["headache", "flushing", "chills"]
    assert patient.complaints() == ["The headache is much worse now and I'm shivering."]
    assert Decimal(patient.monitor()["temp_c"]) == Decimal("38.3")


def test_an_increase_during_a_reaction_escalates_at_once() -> None:
    pump, patient, _clock = reaction_started(None)
    assert pump.handle("0RAT156") == "00I"
    patient.update()
    assert "chills" in patient.symptom_ids()


def test_an_escalated_reaction_settles_only_when_stopped() -> None:
    pump, patient, clock = reaction_started(None)
    minutes(clock, patient, 15)
    assert pump.handle("0RAT39") == "00I"
    minutes(clock, patient, 60)
    assert "chills" in patient.symptom_ids()
    assert pump.handle("0STP") == "00P"
    patient.update()
    minutes(clock, patient, 40)
    assert patient.symptom_ids() == []


def test_a_scripted_occlusion_stops_the_pump() -> None:
    pump, patient, clock = pump_and_patient(SCENARIO_DIR / "occlusion.toml")
    run_at(pump, "192")
    patient.update()
    patient.on_step(3)
    minutes(clock, patient, 10)
    snapshot = pump.snapshot()
    assert snapshot["prompt"] == "S"
    assert snapshot["alarm"] == "S"
    assert patient.take_cues() == [
        "The pump is beeping: OCCLUSION. The line is kinked under Mr Novak's arm."
    ]
    assert patient.take_cues() == []


def test_the_patient_op_over_the_control_channel() -> None:
    pump, patient, clock = pump_and_patient()
    control = ControlServer()
    control.register("patient", patient.handle_control)
    control.start()
    try:
        run_at(pump, "78")
        answer = send_control(
            control.host, control.port, {"op": "patient", "step": 3}, token=control.token
        )
        assert answer["ok"] is True
        assert answer["monitor"]["hr_bpm"] == "76"
        clock.advance(5 * 60)
        answer = send_control(control.host, control.port, {"op": "patient"}, token=control.token)
        assert answer["complaints"] == ["My head has started to throb and my face feels hot."]
        assert [h["kind"] for h in answer["happenings"]] == ["started", "onset"]
        bad = control.dispatch({"op": "patient", "step": "three"})
        assert bad["ok"] is False
        assert "step" in bad["error"]
    finally:
        control.stop()
