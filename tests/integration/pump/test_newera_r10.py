"""R10 cases on their own, through the real driver: duplicate reply, reply from another address,
a reply that does not fit its command, a short write, and late replies (no sequence numbers).

Each set-rate case asserts: at most one set-rate frame went out, the link is UNCERTAIN (LOST for a
short write), the caller got the typed error, nothing was clamped (the pump holds 5 or 10 mL/h,
nothing else), and the wire trace (on_wire) holds the hex of what was sent and received.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from simulator import ModelConfig, Simulator
from simulator.faults import FaultKind
from simulator.wire import frame_reply
from tests.contract.harness import WHO, Harness, harness_for, inject, wait_until
from tests.unit.pump.scripted_port import install
from titrator.pump.base import (
    EventKind,
    FramingError,
    LinkLostError,
    PumpEvent,
    PumpLinkState,
    PumpState,
    WireDirection,
    WireRecord,
)
from titrator.pump.newera.codec import encode_safe
from titrator.pump.newera.driver import NewEraPump

SET_10_RUNNING = encode_safe(b"0RAT10").hex(" ")


def _hex(frame: bytes) -> str:
    return frame.hex(" ")


def _rx(wire: list[WireRecord]) -> list[WireRecord]:
    return [r for r in wire if r.direction is WireDirection.RX]


def _set_rate_tx(wire: list[WireRecord]) -> list[WireRecord]:
    return [r for r in wire if r.direction is WireDirection.TX and r.command.startswith("RAT1")]


def _infusing_at_5(h: Harness) -> tuple[int, int]:
    h.adapter.set_rate(Decimal(5), **WHO)
    h.adapter.start(**WHO)
    assert h.sim is not None
    return len(h.wire), len(h.sim.received())


def _late(sim: Simulator) -> list[bytes]:
    """What the simulator has written as late replies so far."""
    return [s.data for s in sim.sent() if s.fault is FaultKind.LATE_REPLY]


def _reached_pump(h: Harness, since: int) -> list[str]:
    assert h.sim is not None
    return [r.text for r in h.sim.received()[since:] if r.text and "RAT1" in r.text]


# -- over the simulator on loopback TCP ------------------------------------------------------


def test_a_duplicated_reply_to_set_rate_is_stale_and_leaves_the_link_uncertain() -> None:
    with harness_for("sim_tcp") as h:
        wire_before, received_before = _infusing_at_5(h)
        inject(h, FaultKind.DUPLICATE_REPLY, "RAT")

        with pytest.raises(FramingError, match="out of step"):
            h.adapter.set_rate(Decimal(10), **WHO)

        wire = h.wire[wire_before:]
        assert [r.data_hex for r in _set_rate_tx(wire)] == [SET_10_RUNNING]
        assert _reached_pump(h, received_before) == ["0RAT10"]
        assert h.link() is PumpLinkState.UNCERTAIN
        assert h.true_rate() == Decimal(10)  # carried out once, as sent: not clamped
        reply = _hex(frame_reply("00I", safe=True))
        assert [(r.data_hex, r.note) for r in _rx(wire)][:2] == [(reply, ""), (reply, "stale")]
        status = h.adapter.status(**WHO)
        assert h.link() is PumpLinkState.CONNECTED
        assert status.rate_ml_per_h == Decimal(10)


def test_a_reply_from_another_address_leaves_the_link_uncertain() -> None:
    with harness_for("sim_tcp") as h:
        wire_before, received_before = _infusing_at_5(h)
        inject(h, FaultKind.OTHER_ADDRESS, "RAT")

        with pytest.raises(FramingError, match="address 01"):
            h.adapter.set_rate(Decimal(10), **WHO)

        wire = h.wire[wire_before:]
        assert [r.data_hex for r in _set_rate_tx(wire)] == [SET_10_RUNNING]
        assert _reached_pump(h, received_before) == ["0RAT10"]
        assert h.link() is PumpLinkState.UNCERTAIN
        assert h.true_rate() == Decimal(10)
        assert _hex(frame_reply("01I", safe=True)) in [r.data_hex for r in _rx(wire)]
        assert any(e.kind is EventKind.COMMS_FAULT and "address" in e.detail for e in h.events)
        assert h.adapter.status(**WHO).rate_ml_per_h == Decimal(10)
        assert h.link() is PumpLinkState.CONNECTED


def test_a_late_reply_arriving_while_idle_is_drained_as_stale_before_the_next_command() -> None:
    with harness_for("sim_tcp", reply_timeout_s=0.25) as h:
        sim = h.sim
        assert sim is not None
        # Late by more than 2x the reply timeout: after the retry's settle window has closed.
        inject(h, FaultKind.LATE_REPLY, "STATUS", delay_s=0.8)
        h.adapter.status(**WHO)  # the retry answers; the late reply is still on its way
        wait_until(lambda: len(_late(sim)) == 1)
        late = _hex(_late(sim)[0])
        events_before = len(h.events)

        status = h.adapter.status(**WHO)  # its drain finds the late reply before sending

        assert (late, "stale") in [(r.data_hex, r.note) for r in _rx(h.wire)]
        changes = [e.detail for e in h.events[events_before:] if e.kind is EventKind.LINK_CHANGED]
        assert any("uncertain" in d and "out of step" in d for d in changes)
        assert status.link_state is PumpLinkState.CONNECTED  # status() re-read everything
        assert status.pump_state is PumpState.STOPPED


def test_a_late_reply_taken_as_the_next_answer_is_caught_by_the_following_drain() -> None:
    # The residual New Era ambiguity (no sequence numbers): a late status reply lands inside the
    # retry's reply window and is taken as its answer. The retry's own answer then arrives
    # unasked, and the drain before the following command finds it: UNCERTAIN until re-read.
    with harness_for("sim_tcp", reply_timeout_s=0.5) as h:
        sim = h.sim
        assert sim is not None
        inject(h, FaultKind.LATE_REPLY, "STATUS", delay_s=1.2)  # attempt 1 at 0 s: lands 1.2 s
        inject(h, FaultKind.LATE_REPLY, "STATUS", delay_s=0.6)  # attempt 2 at 1.0 s: lands 1.6 s
        wire_before = len(h.wire)
        h.adapter.status(**WHO)  # times out at 0.5 s, settles to 1.0 s, takes the 1.2 s reply
        assert [r.note for r in _rx(h.wire[wire_before:])] == [""]  # one reply, taken
        assert h.link() is PumpLinkState.CONNECTED  # nothing could tell yet
        wait_until(lambda: len(_late(sim)) == 2)
        displaced = _hex(_late(sim)[1])
        events_before = len(h.events)

        status = h.adapter.status(**WHO)

        assert (displaced, "stale") in [(r.data_hex, r.note) for r in _rx(h.wire)]
        new = h.events[events_before:]
        assert any(e.kind is EventKind.LINK_CHANGED and "out of step" in e.detail for e in new)
        assert status.link_state is PumpLinkState.CONNECTED


# -- over a scripted serial port -------------------------------------------------------------


def _scripted_driver(wire: list[WireRecord]) -> NewEraPump:
    return NewEraPump(
        "scripted://pump", reply_timeout_s=0.05, keepalive_s=None, on_wire=wire.append
    )


def test_a_short_write_of_set_rate_is_a_lost_link_and_the_pump_never_gets_the_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = install(monkeypatch)
    wire: list[WireRecord] = []
    with _scripted_driver(wire) as pump:
        pump.connect(**WHO)
        pump.set_rate(Decimal(5), **WHO)
        pump.start(**WHO)
        before = len(wire)
        port.accept.append(5)  # the port takes 5 of the frame's 11 bytes

        with pytest.raises(LinkLostError, match="accepted 5 of 11 bytes"):
            pump.set_rate(Decimal(10), **WHO)

        assert pump.link_state is PumpLinkState.LOST
        sent = _set_rate_tx(wire[before:])
        assert [(r.data_hex, r.note) for r in sent] == [
            (SET_10_RUNNING, ""),
            (_hex(encode_safe(b"0RAT10")[:5]), "short write: 5 of 11 bytes"),
        ]
        assert port.written[-1] == encode_safe(b"0RAT10")[:5]
        assert not any(r.text and "RAT10" in r.text for r in port.model.received)
        assert port.model.snapshot()["rate_ml_per_h"] == "5"  # untouched, not clamped

        port.line_clock.advance(0.6)  # the pump drops the torn packet after 0.5 s
        pump.connect(**WHO)
        status = pump.status(**WHO)
        assert status.link_state is PumpLinkState.CONNECTED
        assert status.rate_ml_per_h == Decimal(5)
        assert status.infusing


def test_a_reply_that_does_not_fit_the_command_is_not_its_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = install(monkeypatch, ModelConfig(safe_timeout_s=10, power_up_quirk=False))
    wire: list[WireRecord] = []
    with _scripted_driver(wire) as pump:
        pump.connect(**WHO)
        pump.set_rate(Decimal(5), **WHO)
        port.replace.append("00S5.000MH")  # an answer to a RAT query, not to RAT10MH

        with pytest.raises(FramingError, match="does not fit"):
            pump.set_rate(Decimal(10), **WHO)

        assert pump.link_state is PumpLinkState.UNCERTAIN
        assert len(_set_rate_tx(wire)) == 1
        assert _hex(frame_reply("00S5.000MH", safe=True)) in [r.data_hex for r in _rx(wire)]
        assert pump.status(**WHO).rate_ml_per_h == Decimal(10)  # the pump did carry it out


@pytest.mark.parametrize("code", ["S", "T", "R"])
def test_an_unsolicited_alarm_found_before_a_command_says_the_pump_stopped(
    monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    """The Safe-mode alarm packet is already waiting when the next poll goes out (it is drained
    before the command). The alarm event must already say the pump is not infusing: a listener
    that follows the pump's state (the engine) learns of the stop from that one event, because
    the acknowledgement that follows is the same alarm within 2 s and is not reported again."""
    port = install(monkeypatch, ModelConfig(safe_timeout_s=10, power_up_quirk=False))
    events: list[PumpEvent] = []
    with NewEraPump(
        "scripted://pump", reply_timeout_s=0.05, keepalive_s=None, on_event=events.append
    ) as pump:
        pump.connect(**WHO)
        pump.set_rate(Decimal(5), **WHO)
        pump.start(**WHO)
        events.clear()
        if code == "R":
            port.model.power_reset()
        else:
            port.model.raise_alarm(code)

        status = pump.status(**WHO)

        alarms = [e for e in events if e.kind is EventKind.ALARM]
        assert len(alarms) == 1
        assert not alarms[0].status.infusing
        assert alarms[0].status.pump_state is PumpState.ALARM
        assert not status.infusing
        assert port.model.snapshot()["prompt"] == "S"
