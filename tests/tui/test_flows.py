"""Whole infusions driven through the real app with Pilot: screen, engine, pump and audit log agree.

Each test walks setup -> checklist -> preview -> run with keys, moves a `ManualClock`, and checks
four things: what is on screen, the engine's decision (`app.decision`), what the FakePump was
sent (and is really doing), and the session's audit log (read back through the event schema and
verified).
"""

from __future__ import annotations

from decimal import Decimal

from textual.widgets import Digits

from tests.support.app import FEVER_VITALS, AppFactory, Built
from tests.tui.harness import (
    accept,
    advance,
    decision,
    kinds,
    log_events,
    on_screen,
    prompt_kind,
    quick_start,
    record_symptoms,
    record_vitals,
    screen_text,
    settle,
    start_infusion,
    static_text,
    to_run_screen,
    to_step_up,
    wait_for,
)
from titrator.audit.verify import Outcome, verify_log
from titrator.domain.decisions import AlarmCode, PromptKind, SessionState
from titrator.domain.events import (
    InputRefused,
    NurseDecided,
    PumpCommandIssued,
    RateChanged,
    ReactionOpened,
    VitalsAccepted,
)
from titrator.pump.base import PumpState
from titrator.pump.fake import FakeFault, FakePump
from titrator.tui.screens.run import RunScreen
from titrator.tui.screens.summary import SummaryScreen

PLAN_RATES = [Decimal(21), Decimal(42), Decimal(84)]
"""The demo patient's ramp (Privigen, 70 kg, 0.4 g/kg, first infusion: at most 2 mg/kg/min),
in mL/h."""


def delivering(pump: FakePump) -> bool:
    """Whether the fake pump is really infusing now."""
    return pump.true_state is PumpState.INFUSING


def next_deadline_ms(built: Built) -> int:
    """The engine's next deadline after now (vitals, dwell end, dose given, observation end)."""
    due = decision(built.app).due
    now_ms = built.clock.now().mono_ms
    times = [
        t
        for t in (
            due.vitals_ms,
            due.step_up_ms,
            due.pause_end_ms,
            due.volume_complete_ms,
            due.observation_end_ms,
        )
        if t is not None and t > now_ms
    ]
    assert times, f"nothing is due: {decision(built.app)}"
    return min(times)


async def test_an_uneventful_first_infusion_runs_to_the_end_and_the_summary_anchors_the_log(
    make_app: AppFactory,
) -> None:
    built = make_app()
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await to_run_screen(pilot, typed=True)
        await start_infusion(pilot)
        pump = built.fake_pump
        assert delivering(pump)
        assert pump.true_rate_ml_per_h == PLAN_RATES[0]
        for _ in range(40):
            state = decision(app).state
            if state is SessionState.CLOSED:
                break
            kind = prompt_kind(app)
            if kind is PromptKind.VITALS_DUE:
                await record_vitals(pilot)
            elif kind in (PromptKind.STEP_UP, PromptKind.CLOSE):
                await accept(pilot)
            else:
                now_ms = built.clock.now().mono_ms
                await advance(pilot, built, seconds=(next_deadline_ms(built) - now_ms) / 1000)
        else:
            raise AssertionError(f"the infusion did not finish: {decision(app)}")

        await on_screen(pilot, SummaryScreen)
        summary = app.screen
        head_hash = static_text(summary, "#head-hash")
        assert len(head_hash) == 64
        assert "Session closed." in screen_text(pilot)
        # The verify command on screen is one that works when typed (the prefix is one argument).
        command = static_text(summary, "#verify-command")
        assert command.endswith(f"--expect-head {head_hash[:16]}")

    # The pump walked the plan one step at a time, then stopped at the end of the dose.
    sets = [c for c in pump.sent if c.startswith("RAT")]
    assert sets == [f"RAT{int(rate)}" for rate in PLAN_RATES]
    assert pump.sent.count("RUN") == 1
    assert pump.sent[-1] == "STP" or "STP" in pump.sent
    assert not delivering(pump)

    events = log_events(built.log_path)
    assert events[0].kind == "session_opened"
    assert events[-1].kind == "session_closed"
    assert not [e for e in events if isinstance(e, InputRefused)]
    ups = [e for e in events if isinstance(e, RateChanged) and e.to_ml_per_h > e.from_ml_per_h]
    assert [e.to_ml_per_h for e in ups] == PLAN_RATES
    vitals = [e for e in events if isinstance(e, VitalsAccepted)]
    for up in ups:  # every increase had a vitals set no older than 15 minutes
        before = [v for v in vitals if v.at.mono_ms <= up.at.mono_ms]
        assert before
        assert up.at.mono_ms - before[-1].at.mono_ms <= 15 * 60_000
    assert "end of infusion" in {v.purpose for v in vitals} or len(vitals) > len(ups)
    assert "observation" in [getattr(e, "to_state", "") for e in events]

    result = verify_log(built.log_path, expect_head=head_hash)
    assert result.outcome is Outcome.OK, result.summary()
    assert result.closed
    assert built.log_path.stat().st_mode & 0o777 == 0o600


async def test_a_mild_reaction_pauses_then_resumes_lower_and_never_increases_until_cleared(
    make_app: AppFactory,
) -> None:
    built = make_app()
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await to_step_up(pilot, built)
        await accept(pilot)
        assert decision(app).rate_ml_per_h == 42
        await advance(pilot, built, minutes=5)

        # Headache and flushing: the recommendation, its reason and rule ids are on screen.
        await record_symptoms(pilot, ["headache", "flushing"])
        d = decision(app)
        assert d.state is SessionState.ASSESSMENT
        assert d.prompt is not None
        assert d.prompt.kind is PromptKind.REACTION
        assert d.prompt.recommendation is not None
        assert d.prompt.recommendation.action.value == "pause"
        next_text = static_text(app.screen, "#next")
        assert "SYM-MILD" in next_text
        assert "Recommendation: PAUSE (SYM-MILD)" in next_text
        assert "headache" in next_text
        assert "a = accept" in next_text
        assert d.rate_ml_per_h == 42  # nothing changes before the nurse decides

        await accept(pilot)
        d = decision(app)
        assert d.state is SessionState.PAUSED
        assert d.rate_ml_per_h == 0
        assert not delivering(built.fake_pump)
        assert "STP" in built.fake_pump.sent

        # During the pause: the symptoms resolve, vitals are normal.
        await advance(pilot, built, minutes=15)
        await record_symptoms(pilot, [])
        await record_vitals(pilot)
        await advance(pilot, built, minutes=15)
        if prompt_kind(app) is PromptKind.VITALS_DUE:
            await record_vitals(pilot)
        d = decision(app)
        assert d.prompt is not None
        assert d.prompt.kind is PromptKind.RESUME, d.prompt
        assert d.prompt.proposed_rate_ml_per_h == 21  # the last tolerated rate, lower than 42
        assert not d.prompt.override

        await accept(pilot)
        d = decision(app)
        assert d.state in (SessionState.SLOWED, SessionState.VITALS_DUE)
        assert d.rate_ml_per_h == 21
        assert built.fake_pump.true_rate_ml_per_h == 21
        assert delivering(built.fake_pump)

        # Well past the dwell, with fresh vitals: no increase is offered while the reaction is open.
        for _ in range(3):
            await advance(pilot, built, minutes=15)
            if prompt_kind(app) is PromptKind.VITALS_DUE:
                await record_vitals(pilot)
            d = decision(app)
            assert d.prompt is not None
            assert d.prompt.kind is PromptKind.HOLDING, d.prompt
            assert not d.prompt.accept
            assert d.rate_ml_per_h == 21
        assert "no increase" in static_text(app.screen, "#next")
        screen = app.screen
        assert isinstance(screen, RunScreen)
        assert screen.check_action("accept", ()) is None  # greyed out

        # Pressing accept anyway is refused by the engine and recorded.
        await pilot.press("a")
        await settle(pilot)
        assert decision(app).rate_ml_per_h == 21

    events = log_events(built.log_path)
    ups_after_reaction = []
    opened = False
    for e in events:
        opened = opened or isinstance(e, ReactionOpened)
        if opened and isinstance(e, RateChanged) and e.to_ml_per_h > e.from_ml_per_h:
            ups_after_reaction.append(e)
    assert [e.to_ml_per_h for e in ups_after_reaction] == [21]  # only the resume from 0
    assert "reaction_opened" in kinds(events)
    assert "reaction_cleared" not in kinds(events)
    refused = [e for e in events if isinstance(e, InputRefused)]
    assert [e.input_kind for e in refused] == ["nurse_decided"]
    rates = [c for c in built.fake_pump.sent if c.startswith("RAT")]
    assert rates == ["RAT21", "RAT42", "RAT21"]
    assert verify_log(built.log_path).outcome is Outcome.UNFINISHED


async def test_a_temperature_rise_is_a_mild_reaction_with_its_rule_on_screen(
    make_app: AppFactory,
) -> None:
    built = make_app()
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        await advance(pilot, built, minutes=15)
        await record_vitals(pilot, FEVER_VITALS)
        d = decision(app)
        assert d.prompt is not None
        assert d.prompt.kind is PromptKind.REACTION
        assert d.prompt.recommendation is not None
        rules = d.prompt.recommendation.rule_ids
        assert "TEMP-ABS-38" in rules
        next_text = static_text(app.screen, "#next")
        for rule in rules:
            assert rule in next_text
        assert d.state is SessionState.ASSESSMENT
        # No increase while assessing, even after the dwell.
        await advance(pilot, built, minutes=15)
        assert decision(app).rate_ml_per_h == 21
        assert prompt_kind(app) is PromptKind.REACTION
    assert [c for c in built.fake_pump.sent if c.startswith("RAT")] == ["RAT21"]


async def test_a_severe_reaction_stops_at_once_and_no_restart_or_override_is_possible(
    make_app: AppFactory,
) -> None:
    built = make_app()
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        await advance(pilot, built, minutes=5)
        await record_symptoms(pilot, ["stridor", "wheeze", "chest_tightness"])
        d = decision(app)
        assert d.prompt is not None
        assert d.prompt.kind is PromptKind.REACTION
        assert d.prompt.recommendation is not None
        assert d.prompt.recommendation.action.value == "emergency_stop"
        assert not d.prompt.override
        next_text = static_text(app.screen, "#next")
        assert "EMERGENCY STOP" in next_text
        assert "SYM-SEVERE" in next_text
        assert "o = override" not in next_text
        screen = app.screen
        assert isinstance(screen, RunScreen)
        assert screen.check_action("override", ()) is None

        # An override attempt is refused as a hard limit, and recorded.
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, RunScreen)  # no override dialog opened

        await accept(pilot)  # the emergency stop
        d = decision(app)
        assert d.state is SessionState.STOPPED
        assert d.rate_ml_per_h == 0
        assert not delivering(built.fake_pump)
        assert d.prompt is not None
        assert d.prompt.kind is PromptKind.STOPPED
        assert not d.prompt.override  # no restart offered
        assert "restart" not in d.prompt.text.lower()
        assert screen.check_action("override", ()) is None
        await pilot.press("o")
        await settle(pilot)
        assert decision(app).rate_ml_per_h == 0
        assert built.fake_pump.sent.count("RUN") == 1

    events = log_events(built.log_path)
    refused = [e for e in events if isinstance(e, InputRefused)]
    assert len(refused) == 2
    assert all(e.hard_limit for e in refused)
    assert all(e.input_kind == "nurse_decided" for e in refused)
    decided = [e for e in events if isinstance(e, NurseDecided)]
    assert [e.choice.value for e in decided] == ["accept", "override", "accept", "override"]
    opened = [e for e in events if isinstance(e, ReactionOpened)]
    assert opened
    assert opened[0].never_restart
    starts = [
        e for e in events if isinstance(e, PumpCommandIssued) and e.command.kind.value == "start"
    ]
    assert len(starts) == 1


async def test_a_lost_reply_makes_the_pump_uncertain_until_a_status_read_and_is_never_resent(
    make_app: AppFactory,
) -> None:
    built = make_app()
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await to_step_up(pilot, built)
        pump = built.fake_pump
        pump.script("set_rate", FakeFault.NO_REPLY)  # carried out, reply lost
        pump.gate.clear()  # hold the status read that will resolve it
        try:
            await pilot.press("a", "enter", "c")

            def uncertain() -> bool:
                return AlarmCode.PUMP_UNCERTAIN in decision(app).alarms

            await wait_for(pilot, uncertain, "the pump-uncertain alarm")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, RunScreen)
            alarm = static_text(screen, "#alarms")
            assert alarm.startswith("!! ALARM:")  # a priority marker and words, not colour alone
            assert "UNCERTAIN" in alarm
            assert "only STOP" in alarm
            assert screen.query_one("#alarms").display
            assert "UNCERTAIN" in static_text(screen, "#pump-line")
            # Nothing that changes the rate is offered meanwhile; only STOP would be sent.
            assert screen.check_action("accept", ()) is None
            assert not decision(app).commands or all(
                c.kind.value in ("read_status", "stop") for c in decision(app).commands
            )
            await pilot.press("a")  # greyed out: refused, and nothing is sent
            assert pump.sent.count("RAT42") == 1
        finally:
            pump.gate.set()
        await wait_for(pilot, lambda: not decision(app).alarms, "the status read to resolve it")
        await settle(pilot)
        assert decision(app).rate_ml_per_h == 42
        assert "UNCERTAIN" not in static_text(app.screen, "#pump-line")

        # Later steps go on normally; the lost-reply increase was never sent again.
        await advance(pilot, built, minutes=1)
        assert pump.sent.count("RAT42") == 1
        assert pump.true_rate_ml_per_h == 42

    events = log_events(built.log_path)
    names = kinds(events)
    assert "pump_outcome" in names
    outcomes = [getattr(e, "outcome", None) for e in events if e.kind == "pump_outcome"]
    assert "uncertain" in outcomes
    assert names.count("alarm_raised") == 1
    assert names.count("alarm_cleared") == 1
    assert "pump_status" in names
    set_rates = [
        e.command
        for e in events
        if isinstance(e, PumpCommandIssued) and e.command.kind.value == "set_rate"
    ]
    assert [c.rate_ml_per_h for c in set_rates] == [Decimal(42)]
    # The adapter's "link connected" after the status read is not fed as news (no refusal).
    assert not [e for e in events if isinstance(e, InputRefused) and e.input_kind == "pump_link"]


async def test_a_redraw_that_arrives_before_the_run_screen_is_composed_waits_for_its_mount(
    make_app: AppFactory,
) -> None:
    """On a busy machine a pump result or a tick can reach a run screen whose widgets are not
    composed yet; the redraw is skipped (not a crash) and the screen draws itself on mount."""
    built = make_app()
    app = built.app
    async with app.run_test(size=(80, 24)) as pilot:
        await quick_start(pilot)
        early = RunScreen()
        mounted = app.push_screen(early)
        early.refresh_view()  # before compose: no widgets yet
        await mounted
        await settle(pilot)
        shown = early.query_one("#rate-digits", Digits).value
        assert Decimal(shown) == decision(app).rate_ml_per_h
        assert "step 1 of" in static_text(early, "#step")
