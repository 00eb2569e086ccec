"""Driver behaviour that needs time or the line: keepalive, link loss, watchdog, mode switching."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from simulator import ModelConfig, Simulator
from simulator.clock import ManualClock
from simulator.control import send_control
from simulator.faults import Fault, FaultKind
from tests.contract.harness import WHO, Harness, harness_for, make_driver, wait_until
from titrator.pump.base import (
    AlarmKind,
    ConnectError,
    EventKind,
    LinkLostError,
    PumpLinkState,
    PumpState,
)
from titrator.pump.newera.codec import Framing


def test_link_loss_is_detected_by_the_keepalive_and_raised() -> None:
    with harness_for("sim_tcp", keepalive_s=0.1, link_loss_after_s=1.0) as h:
        assert h.sim is not None
        h.sim.inject(Fault(FaultKind.NO_REPLY, on="STATUS", count=10_000, execute=False))
        wait_until(lambda: h.link() is PumpLinkState.LOST, timeout_s=10)
        assert any(e.kind is EventKind.LINK_CHANGED and "lost" in e.detail for e in h.events)
        with pytest.raises(LinkLostError):
            h.adapter.set_rate(Decimal(5), **WHO)
        h.sim.faults.clear()
        h.adapter.connect(**WHO)
        assert h.adapter.status(**WHO).pump_state is PumpState.STOPPED


def test_an_unsolicited_alarm_is_reported_by_the_keepalive() -> None:
    with harness_for("sim_tcp", keepalive_s=0.1) as h:
        h.adapter.set_rate(Decimal(5), **WHO)
        h.adapter.start(**WHO)
        h.stall()
        wait_until(lambda: any(e.alarm is AlarmKind.STALL for e in h.events))
        wait_until(lambda: not h.true_infusing())
        kinds = [a.kind for a in h.adapter.alarms()]
        assert kinds == [AlarmKind.STALL]


def test_the_keepalive_feeds_the_pump_watchdog_and_closing_lets_it_stop_the_pump() -> None:
    clock = ManualClock()
    with Simulator(ModelConfig(safe_timeout_s=10), clock=clock) as sim:
        url = sim.start_tcp()
        h = Harness("sim_tcp", None, sim.rate_ml_per_h, lambda: False, lambda: None, clock.advance)  # type: ignore[arg-type]
        driver = make_driver(url, h, keepalive_s=0.1, safe_timeout_s=1)
        driver.connect(**WHO)
        driver.set_rate(Decimal(5), **WHO)
        driver.start(**WHO)
        polls_before = len(sim.received())
        wait_until(lambda: len(sim.received()) > polls_before + 15)  # > 1 s of polls
        assert sim.model.snapshot()["prompt"] == "I"
        driver.close()
        wait_until(lambda: sim.model.snapshot()["prompt"] == "S", timeout_s=10)
        assert sim.model.snapshot()["alarm"] == "T"


def test_a_pty_hangup_is_a_lost_link() -> None:
    with harness_for("sim_pty") as h:
        assert h.sim is not None
        h.sim.trigger(FaultKind.DISCONNECT)
        with pytest.raises(LinkLostError):
            h.adapter.status(**WHO)
        assert h.link() is PumpLinkState.LOST


@pytest.mark.parametrize("framing", list(Framing))
def test_the_driver_switches_a_pump_into_its_mode(framing: Framing) -> None:
    start_safe = 0 if framing is Framing.SAFE else 10
    with Simulator(ModelConfig(safe_timeout_s=start_safe)) as sim:
        url = sim.start_tcp()
        h = Harness("sim_tcp", None, sim.rate_ml_per_h, lambda: False, lambda: None, lambda s: None)  # type: ignore[arg-type]
        driver = make_driver(url, h, framing=framing)
        with driver:
            info = driver.connect(**WHO)
            assert info.model == "NE1000"
            assert sim.model.safe_mode is (framing is Framing.SAFE)
            assert driver.set_rate(Decimal(12), **WHO).rate_ml_per_h == Decimal(12)


def test_the_control_channel_injects_faults_and_reports_state() -> None:
    with harness_for("sim_tcp") as h:
        assert h.sim is not None
        control = h.sim.start_control()

        def send(request: dict[str, object]) -> Any:
            return send_control(control.host, control.port, request, token=control.token)

        assert send({"op": "fault", "kind": "no_reply"}) == {"ok": True}
        assert send({"op": "faults"})["armed"] == ["no_reply"]
        bad = send({"op": "fault", "kind": "nonsense"})
        assert bad["ok"] is False
        state = send({"op": "state"})
        assert state["prompt"] == "S"
        assert "stall" in send({"op": "help"})["ops"]


def test_a_failed_reconnect_leaves_the_link_lost_and_a_stop_still_goes_out_on_the_wire() -> None:
    with harness_for("sim_tcp", keepalive_s=0.1, link_loss_after_s=1.0) as h:
        assert h.sim is not None
        h.adapter.set_rate(Decimal(5), **WHO)
        h.adapter.start(**WHO)
        h.sim.inject(Fault(FaultKind.NO_REPLY, count=10_000, execute=False))
        wait_until(lambda: h.link() is PumpLinkState.LOST, timeout_s=10)

        with pytest.raises(ConnectError):
            h.adapter.connect(**WHO)

        assert h.link() is PumpLinkState.LOST, "no pump heard: lost, not merely disconnected"
        assert h.true_infusing()
        h.sim.faults.clear()  # the pump can hear again, before anyone has reconnected
        h.adapter.stop(**WHO)
        assert not h.true_infusing()
        assert h.link() is PumpLinkState.LOST, "a stop never clears LOST"
