"""The debrief never marks a response "on time" when the trainee broke the rule it scores.

Found in a headless run: the careless trainee overrode two recommendations to stop, ramped to
234 mL/h while the patient's headache had not settled, and was still told "Finish the dose at
the slower rate: on time".
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from simulator.scenario import scenario_paths
from titrator.domain.decisions import Choice, OverrideReason, PromptKind
from titrator.domain.events import InputEvent, NurseDecided, RateChanged
from titrator.files.library import Library
from titrator.files.policy import LoadedPolicy
from titrator.training.debrief import Status
from titrator.training.records import read_training_log
from titrator.training.runner import TODAY, HeadlessRun, RunResult
from titrator.training.scenarios import load_training_scenario
from titrator.training.trainees import Bedside, CarelessTrainee, PerfectTrainee, Trainee

IDS = [path.stem for path in scenario_paths()]
RATE_ACTIONS = ("complete", "reach_step", "resume", "restart", "accept_lot_restart")


def play(
    scenario_id: str, trainee: Trainee, library: Library, policy: LoadedPolicy, tmp_path: Path
) -> RunResult:
    training = load_training_scenario(scenario_id, library, policy.policy, TODAY)
    run = HeadlessRun(
        training,
        trainee,
        library=library,
        policy=policy,
        data_dir=tmp_path,
        sync_each_record=False,
    )
    return run.run()


def test_ramping_up_through_a_reaction_is_not_finishing_at_the_slower_rate(
    library: Library, policy: LoadedPolicy, tmp_path: Path
) -> None:
    result = play("mild-headache-flushing", CarelessTrainee(), library, policy, tmp_path)
    complete = next(r for r in result.debrief.results if r.expectation_id == "complete")
    assert complete.done is not None, "the careless trainee does give the whole dose"
    assert complete.status is not Status.ON_TIME
    assert complete.status is Status.UNSAFE
    assert complete.points == 0
    assert any("234" in note for note in complete.notes), complete.notes


@pytest.mark.parametrize("scenario_id", IDS)
def test_no_rate_response_is_on_time_after_an_unsafe_act_in_its_window(
    scenario_id: str, library: Library, policy: LoadedPolicy, tmp_path: Path
) -> None:
    debrief = play(scenario_id, CarelessTrainee(), library, policy, tmp_path).debrief
    expected = {e.id: e for e in load_scenario_expectations(scenario_id)}
    for result in debrief.results:
        if expected[result.expectation_id].action not in RATE_ACTIONS:
            continue
        if result.status is not Status.ON_TIME:
            continue
        assert result.anchor_ms is not None
        assert result.done is not None
        inside = [u for u in debrief.unsafe if result.anchor_ms <= u.mono_ms <= result.done.mono_ms]
        assert not inside, f"{result.what}: on time despite {[u.text for u in inside]}"


def load_scenario_expectations(scenario_id: str) -> tuple:  # type: ignore[type-arg]
    from simulator.scenario import find_scenario, load_scenario

    return load_scenario(find_scenario(scenario_id)).expect


@dataclass
class ClearsTheHoldOnceSettled(PerfectTrainee):
    """Does everything right, then clears the hold once the reaction settles and ramps on.

    No reaction is open when the rate goes up and the prescriber ordered it, so no unsafe act is
    found; but the scenario asks to finish at the slower rate, and that was not done.
    """

    name: str = "clears-the-hold"
    _settled: bool = False
    _cleared: bool = False

    def act(self, bedside: Bedside) -> list[InputEvent]:
        """As the perfect trainee, except the first hold after the reaction settled."""
        if any(h.kind == "settled" for h in bedside.new):
            self._settled = True
        prompt = bedside.decision.prompt
        if (
            self._settled
            and not self._cleared
            and prompt is not None
            and prompt.kind is PromptKind.HOLDING
            and prompt.override
        ):
            self._cleared = True
            return [
                NurseDecided(
                    at=bedside.now,
                    choice=Choice.OVERRIDE,
                    prompt_id=prompt.prompt_id,
                    reason=OverrideReason.PRESCRIBER_ORDER,
                    note="headache gone, doctor says go on up",
                )
            ]
        return super().act(bedside)


def test_going_back_up_after_the_reaction_settled_breaks_the_slower_rate_rule(
    library: Library, policy: LoadedPolicy, tmp_path: Path
) -> None:
    result = play("mild-headache-flushing", ClearsTheHoldOnceSettled(), library, policy, tmp_path)
    items = read_training_log(result.audit_path)
    rates = [i.event.to_ml_per_h for i in items if isinstance(i.event, RateChanged)]
    onset = Decimal(78)  # step 3, where the headache began
    assert max(rates) > onset, "the trainee did ramp past the rate of the reaction"
    assert not result.debrief.unsafe  # the reaction had settled: no unsafe act as such
    complete = next(r for r in result.debrief.results if r.expectation_id == "complete")
    assert complete.done is not None
    assert complete.status is Status.MISSED
    assert complete.points == 0
    assert any("after the 'headache' reaction" in note for note in complete.notes), complete.notes


def test_finishing_at_the_slower_rate_is_still_on_time(
    library: Library, policy: LoadedPolicy, tmp_path: Path
) -> None:
    result = play("mild-headache-flushing", PerfectTrainee(), library, policy, tmp_path)
    complete = next(r for r in result.debrief.results if r.expectation_id == "complete")
    assert complete.status is Status.ON_TIME
    assert complete.notes == ()
