"""Crash and resume in the app: the state is rebuilt from the log, the nurse confirms, the pump
is read first, and no increase is ever re-sent."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.support.app import AppFactory
from tests.tui.harness import (
    accept,
    advance,
    burst,
    decision,
    on_screen,
    prompt_kind,
    queue_keys,
    quick_start,
    record_vitals,
    screen_text,
    settle,
    wait_for,
)
from titrator.audit.log_replay import replay_log
from titrator.audit.reader import read_records
from titrator.audit.verify import Outcome, verify_log
from titrator.domain.decisions import AlarmCode, PromptKind, SessionState
from titrator.pump.base import PumpState
from titrator.tui.screens.resume import ResumeScreen
from titrator.tui.screens.run import RunScreen


async def test_a_crashed_session_resumes_after_the_nurse_confirms_and_reads_the_pump_first(
    make_app: AppFactory,
) -> None:
    first = make_app()
    async with first.app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        await advance(pilot, first, minutes=15)
        await record_vitals(pilot)
        await advance(pilot, first, minutes=15)
        if prompt_kind(first.app) is PromptKind.VITALS_DUE:
            await record_vitals(pilot)
        assert prompt_kind(first.app) is PromptKind.STEP_UP
        await accept(pilot)
        await settle(pilot)
        before = decision(first.app)
        assert before.step == 2
        rate = before.rate_ml_per_h
        assert first.fake_pump.true_rate_ml_per_h == rate
        # The crash: the process dies without closing anything; its file lock goes with it.
        controller = first.app.controller
        assert controller is not None
        controller.audit.release()  # type: ignore[union-attr]
    assert verify_log(first.log_path).outcome is Outcome.UNFINISHED

    # A new process, six minutes later; the pump kept running at the step-2 rate.
    second = make_app(start=datetime(2026, 11, 20, 9, 36, tzinfo=UTC))
    app = second.app
    async with app.run_test(size=(80, 24)) as pilot:
        pump = second.fake_pump
        pump.true_state, pump.true_rate_ml_per_h = PumpState.INFUSING, rate
        await on_screen(pilot, ResumeScreen)
        shown = screen_text(pilot)
        assert "step 2" in shown.lower()
        assert "DEMO-0001" in shown
        # Nothing happens without the nurse's id and a deliberate F2.
        await pilot.press("f2")
        await wait_for(pilot, lambda: "nurse ID" in screen_text(pilot), "the id is asked for")
        assert isinstance(app.screen, ResumeScreen)
        await pilot.press(*"RN-2", "f2")
        await on_screen(pilot, RunScreen)
        await settle(pilot)
        after = decision(app)
        assert after.state is SessionState.VITALS_DUE  # infusing; fresh vitals demanded
        assert after.step == 2
        assert after.rate_ml_per_h == rate
        assert AlarmCode.PUMP_UNCERTAIN not in after.alarms  # resolved by the status read
        # Fresh vitals first: the patient was not watched while titrator was down.
        assert after.prompt is not None
        assert after.prompt.kind is PromptKind.VITALS_DUE
    # The new process only read the pump: no rate was set, nothing was started.
    assert not [c for c in pump.sent if c.startswith(("RAT", "RUN"))]
    kinds = [line for line in second.log_path.read_text().splitlines() if "log_resumed" in line]
    assert kinds, "the log records the take-over"
    assert replay_log(second.log_path).equal


async def test_the_nurse_id_typed_then_f2_is_who_takes_over(make_app: AppFactory) -> None:
    # F2 is a priority key here: it must wait for the id typed just before it (one burst).
    first = make_app()
    async with first.app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        rate = decision(first.app).rate_ml_per_h
        controller = first.app.controller
        assert controller is not None
        controller.audit.release()  # type: ignore[union-attr]
    second = make_app(start=datetime(2026, 11, 20, 9, 10, tzinfo=UTC))
    async with second.app.run_test(size=(80, 24)) as pilot:
        second.fake_pump.true_state = PumpState.INFUSING
        second.fake_pump.true_rate_ml_per_h = rate
        await on_screen(pilot, ResumeScreen)
        burst(pilot, "RN-42")
        queue_keys(pilot, "f2")
        await on_screen(pilot, RunScreen)
        await settle(pilot)
    resumed = [r for r in read_records(second.log_path) if r.kind == "log_resumed"]
    assert [r.nurse_id for r in resumed] == ["RN-42"]
