"""Every scenario, start to finish, headless: a perfect trainee scores 100 %, a careless one
is caught. The runs use the real engine, audit writer and New Era driver over the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.scenario import scenario_paths
from titrator.audit.verify import verify_log
from titrator.domain.events import SessionOpened
from titrator.files.library import Library
from titrator.files.policy import LoadedPolicy
from titrator.training.debrief import Status
from titrator.training.records import TrainingEventRecord, read_training_log
from titrator.training.runner import TODAY, HeadlessRun, RunResult
from titrator.training.scenarios import load_training_scenario
from titrator.training.trainees import CarelessTrainee, PerfectTrainee, Trainee

IDS = [path.stem for path in scenario_paths()]


def play(
    scenario_id: str,
    trainee: Trainee,
    library: Library,
    policy: LoadedPolicy,
    tmp_path: Path,
    transport: str = "tcp",
) -> RunResult:
    training = load_training_scenario(scenario_id, library, policy.policy, TODAY)
    run = HeadlessRun(
        training,
        trainee,
        library=library,
        policy=policy,
        data_dir=tmp_path,
        transport=transport,
        sync_each_record=False,
    )
    return run.run()


@pytest.mark.parametrize("scenario_id", IDS)
def test_a_perfect_trainee_scores_full_marks(
    scenario_id: str, library: Library, policy: LoadedPolicy, tmp_path: Path
) -> None:
    result = play(scenario_id, PerfectTrainee(), library, policy, tmp_path)
    debrief = result.debrief
    assert [r.status for r in debrief.results] == [Status.ON_TIME] * len(debrief.results)
    assert debrief.score_pct == 100
    assert not debrief.unsafe
    # The only overrides a perfect trainee makes are the deliberate restarts a scenario expects.
    expects_restart = any(r.expectation_id == "restart" for r in debrief.results)
    assert all("restart after stop" in o.text for o in debrief.overrides)
    assert bool(debrief.overrides) == expects_restart
    assert result.state.value == "closed"
    assert verify_log(result.audit_path).ok
    assert debrief.training_marked


@pytest.mark.parametrize("scenario_id", IDS)
def test_a_careless_trainee_is_caught(
    scenario_id: str, library: Library, policy: LoadedPolicy, tmp_path: Path
) -> None:
    result = play(scenario_id, CarelessTrainee(), library, policy, tmp_path)
    debrief = result.debrief
    assert debrief.missed, "the careless trainee's misses were not found"
    assert debrief.score_pct < 100
    assert verify_log(result.audit_path).ok


def test_the_log_is_marked_training_throughout(
    library: Library, policy: LoadedPolicy, tmp_path: Path
) -> None:
    result = play("mild-headache-flushing", PerfectTrainee(), library, policy, tmp_path)
    items = read_training_log(result.audit_path)
    assert all(item.station_id == "TRAINING-headless" for item in items)
    opened = next(item.event for item in items if item.kind == "session_opened")
    assert isinstance(opened, SessionOpened)
    assert opened.setup is not None
    assert opened.setup.raw["training"] == "true"
    assert opened.setup.raw["scenario_id"] == "mild-headache-flushing"
    kinds = [item.kind for item in items]
    opened_at = kinds.index("session_opened")
    assert opened_at < kinds.index("training_scenario") < kinds.index("checklist_answered")
    assert "input_refused" not in kinds
    happenings = [
        item.training.happening for item in items if isinstance(item.training, TrainingEventRecord)
    ]
    assert happenings == ["started", "onset", "settled"]


@pytest.mark.parametrize("scenario_id", ["occlusion", "comms-loss", "power-reset"])
def test_a_pump_fault_reaches_the_engine_which_follows_the_stopped_pump(
    scenario_id: str, library: Library, policy: LoadedPolicy, tmp_path: Path
) -> None:
    result = play(scenario_id, CarelessTrainee(), library, policy, tmp_path)
    items = read_training_log(result.audit_path)
    followed = [
        item.event
        for item in items
        if item.event is not None
        and item.event.kind == "rate_changed"
        and "stopped by itself" in getattr(item.event, "cause", "")
    ]
    assert followed, "the engine learned that the pump stopped by itself"
    assert getattr(followed[0], "to_ml_per_h", None) == 0
    assert result.debrief.score_pct < 100, "the careless trainee never restarts deliberately"


def test_the_real_protocol_over_a_pty(
    library: Library, policy: LoadedPolicy, tmp_path: Path
) -> None:
    result = play("occlusion", PerfectTrainee(), library, policy, tmp_path, transport="pty")
    assert result.debrief.score_pct == 100
    wire = [item for item in read_training_log(result.audit_path) if item.kind == "pump_command"]
    assert wire
