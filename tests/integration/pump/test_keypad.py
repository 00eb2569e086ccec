"""Someone at the pump's keypad: the background poll finds the change and the engine is told.

A start, a stop or a new rate that no command of titrator's made is reported by the New Era
driver as STATE_CHANGED (stop and start at the next poll, a rate change within
RATE_CHECK_EVERY polls). `controller.state_input` turns it into the engine's status read: the
engine follows a stopped or slower pump and sets a faster one back down.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from simulator import ModelConfig, PumpModel, Simulator
from simulator.clock import ManualClock
from tests.contract.harness import WHO, Harness, harness_for, wait_until
from tests.support.clinical import NORMAL, POLICY
from tests.support.plans import at, make_plan
from titrator.domain.checklist import all_confirmed
from titrator.domain.decisions import Choice, PumpCommandKind, SessionState
from titrator.domain.events import (
    ChecklistAnswered,
    InputEvent,
    NurseDecided,
    SessionOpened,
    VitalsEntered,
)
from titrator.domain.session.engine import InfusionSession
from titrator.pump.base import EventKind, PumpEvent
from titrator.pump.newera.driver import NewEraPump
from titrator.pump.newera.poller import RATE_CHECK_EVERY
from titrator.shell.controller import InfusionController, execute_command, state_input

POLL_S = 0.02
_BASIC = ModelConfig(safe_timeout_s=0, power_up_quirk=False)


def _changes(h: Harness) -> list[PumpEvent]:
    with h.lock:
        return [e for e in h.events if e.kind is EventKind.STATE_CHANGED]


def _infusing_at_5(h: Harness) -> None:
    h.adapter.set_rate(Decimal(5), **WHO)
    h.adapter.start(**WHO)
    with h.lock:
        h.events.clear()


# -- the simulated keypad -------------------------------------------------------------------


def test_the_keypad_pauses_then_stops_runs_and_sets_a_rate_without_feeding_the_watchdog() -> None:
    model = PumpModel(_BASIC, clock=ManualClock())
    model.handle("0RAT5MH")
    model.handle("0RUN")
    received = len(model.received)
    model.keypad("rate", Decimal(12))
    assert model.snapshot()["rate_ml_per_h"] == "12"
    model.keypad("stop")
    assert model.snapshot()["prompt"] == "P"
    model.keypad("stop")
    assert model.snapshot()["prompt"] == "S"
    model.keypad("run")
    assert model.snapshot()["prompt"] == "I"
    assert len(model.received) == received  # key presses are not packets


def test_a_key_press_during_an_alarm_only_acknowledges_it() -> None:
    model = PumpModel(_BASIC, clock=ManualClock())
    model.handle("0RAT5MH")
    model.handle("0RUN")
    model.raise_alarm("S")
    model.keypad("run")
    assert model.snapshot()["prompt"] == "S"
    assert model.snapshot()["alarm"] is None
    model.keypad("run")
    assert model.snapshot()["prompt"] == "I"


@pytest.mark.parametrize(
    ("key", "rate", "match"),
    [("reset", None, "unknown keypad key"), ("rate", None, "outside"), ("rate", 0, "outside")],
)
def test_a_bad_key_press_is_refused_by_name(key: str, rate: int | None, match: str) -> None:
    model = PumpModel(_BASIC, clock=ManualClock())
    with pytest.raises(ValueError, match=match):
        model.keypad(key, None if rate is None else Decimal(rate))


def test_the_control_channel_presses_keys() -> None:
    with Simulator(ModelConfig(safe_timeout_s=0), clock=ManualClock()) as sim:
        handlers = sim.control_handlers()
        handlers["keypad"]({"key": "rate", "rate_ml_per_h": "7.5"})
        assert sim.model.snapshot()["rate_ml_per_h"] == "7.5"


# -- the driver's background poll -----------------------------------------------------------


def test_a_stop_at_the_keypad_is_reported_at_the_next_poll() -> None:
    with harness_for("sim_tcp", keepalive_s=POLL_S) as h:
        _infusing_at_5(h)
        assert h.sim is not None
        h.sim.model.keypad("stop")
        wait_until(lambda: bool(_changes(h)))
        change = _changes(h)[0]
        assert not change.status.infusing
        assert "stopped outside titrator" in change.detail


def test_a_start_at_the_keypad_is_reported_with_the_rate_read_back() -> None:
    with harness_for("sim_tcp", keepalive_s=POLL_S) as h:
        _infusing_at_5(h)
        h.adapter.stop(**WHO)
        assert h.sim is not None
        h.sim.model.keypad("rate", Decimal(40))
        h.sim.model.keypad("run")
        wait_until(lambda: bool(_changes(h)))
        change = _changes(h)[0]
        assert change.status.infusing
        assert change.status.rate_ml_per_h == Decimal(40)


def test_a_rate_changed_at_the_keypad_while_running_is_found_by_the_rate_check() -> None:
    with harness_for("sim_tcp", keepalive_s=POLL_S) as h:
        _infusing_at_5(h)
        assert h.sim is not None
        h.sim.model.keypad("rate", Decimal(60))
        wait_until(lambda: bool(_changes(h)))
        change = _changes(h)[0]
        assert change.status.rate_ml_per_h == Decimal(60)
        assert "5 mL/h -> 60 mL/h" in change.detail
        rate_reads = [r for r in h.sim.received() if r.text == "0RAT"]
        assert rate_reads, "found by a RAT query"


def test_the_poll_reads_the_rate_only_every_few_polls_while_running() -> None:
    with harness_for("sim_tcp", keepalive_s=POLL_S) as h:
        _infusing_at_5(h)
        sim = h.sim
        assert sim is not None
        start = len(sim.received())
        wait_until(
            lambda: sum(r.text == "0" for r in sim.received()[start:]) >= 3 * RATE_CHECK_EVERY
        )
        window = sim.received()[start:]
        polls = sum(r.text == "0" for r in window)
        rate_reads = sum(r.text == "0RAT" for r in window)
        assert polls // RATE_CHECK_EVERY - 1 <= rate_reads <= polls // RATE_CHECK_EVERY + 1
        assert not _changes(h), "nothing changed, nothing reported"


def test_an_alarm_is_reported_as_an_alarm_not_also_as_a_state_change() -> None:
    with harness_for("sim_tcp", keepalive_s=POLL_S) as h:
        _infusing_at_5(h)
        h.stall()
        wait_until(lambda: any(e.kind is EventKind.ALARM for e in h.events))
        polls = len(h.sim.received()) if h.sim else 0
        wait_until(lambda: h.sim is not None and len(h.sim.received()) > polls + 5)
        assert not _changes(h)


# -- the engine is told ---------------------------------------------------------------------


class _Sink:
    def append(self, event: object, **_: object) -> None:
        return None

    def retry(self) -> None:
        return None

    healthy = True

    def close(self, event: object = None, **_: object) -> str:
        return "head"


def _running_engine(pump: NewEraPump) -> tuple[InfusionController, list[InputEvent]]:
    controller = InfusionController(InfusionSession(make_plan(), POLICY, "k1"), _Sink())
    fed: list[InputEvent] = []

    def feed(event: InputEvent) -> None:
        fed.append(event)
        for command in controller.feed(event).commands:
            for reply in execute_command(pump, command, event.at)[0]:
                feed(reply)

    s = controller.session
    feed(SessionOpened(at=at(-20), session_id="k1", plan=s.plan, policy=s.policy))
    feed(ChecklistAnswered(at=at(-19), answers=all_confirmed()))
    feed(VitalsEntered(at=at(-10), raw=dict(NORMAL)))
    feed(NurseDecided(at=at(0), choice=Choice.ACCEPT))
    assert controller.session.state is SessionState.RUNNING
    return controller, fed


@pytest.mark.parametrize(("key", "rate"), [("stop", None), ("rate", Decimal(300))])
def test_the_engine_follows_a_keypad_stop_and_sets_a_faster_pump_back(
    key: str, rate: Decimal | None
) -> None:
    with harness_for("sim_tcp", keepalive_s=POLL_S) as h:
        assert isinstance(h.adapter, NewEraPump)
        assert h.sim is not None
        controller, _fed = _running_engine(h.adapter)
        planned = h.true_rate()
        with h.lock:
            h.events.clear()
        h.sim.model.keypad(key, rate)
        wait_until(lambda: bool(_changes(h)))
        read = state_input(_changes(h)[0], at(5))
        assert read is not None
        applied = controller.feed(read)
        kinds = [c.kind for c in applied.commands]
        if key == "stop":
            assert not read.running
            assert kinds == []
            assert controller.session.state is SessionState.STOPPED
        else:
            assert read.rate_ml_per_h == Decimal(300)
            assert kinds == [PumpCommandKind.SET_RATE]
            assert applied.commands[0].rate_ml_per_h == planned
