"""One behaviour contract, run against the fake pump and the driver to the simulator (pty, TCP)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.contract.harness import KINDS, WHO, Harness, harness_for
from titrator.pump.base import (
    AlarmKind,
    NotConnectedError,
    OutOfRangeError,
    PumpAlarmError,
    PumpLinkState,
    PumpState,
    RateNotRepresentableError,
    UncertainStateError,
    WireDirection,
)


@pytest.fixture(params=KINDS)
def h(request: pytest.FixtureRequest) -> Iterator[Harness]:
    with harness_for(request.param) as harness:
        yield harness


def test_connecting_gives_a_connected_link_and_a_stopped_pump(h: Harness) -> None:
    status = h.adapter.status(**WHO)
    assert h.adapter.link_state is PumpLinkState.CONNECTED
    assert status.pump_state is PumpState.STOPPED


def test_a_rate_set_while_stopped_is_read_back(h: Harness) -> None:
    status = h.adapter.set_rate(Decimal("42.5"), **WHO)
    assert status.rate_ml_per_h == Decimal("42.5")
    assert h.true_rate() == Decimal("42.5")
    assert h.set_rate_frames() == 1


def test_start_then_change_the_rate_while_infusing(h: Harness) -> None:
    h.adapter.set_rate(Decimal(5), **WHO)
    assert h.adapter.start(**WHO).pump_state is PumpState.INFUSING
    status = h.adapter.set_rate(Decimal(10), **WHO)
    assert status.rate_ml_per_h == Decimal(10)
    assert status.infusing
    assert h.true_infusing()
    assert h.true_rate() == Decimal(10)


def test_stop_leaves_the_pump_not_infusing(h: Harness) -> None:
    h.adapter.set_rate(Decimal(5), **WHO)
    h.adapter.start(**WHO)
    status = h.adapter.stop(**WHO)
    assert not status.infusing
    assert not h.true_infusing()


def test_an_out_of_range_rate_is_refused_and_never_clamped(h: Harness) -> None:
    h.adapter.set_rate(Decimal(5), **WHO)
    with pytest.raises(OutOfRangeError):
        h.adapter.set_rate(Decimal(5000), **WHO)
    assert h.true_rate() == Decimal(5)
    assert h.adapter.link_state is PumpLinkState.CONNECTED


@pytest.mark.parametrize("bad", ["12.3456", "12345", "0", "-1", "NaN", "Infinity"])
def test_a_rate_the_wire_cannot_carry_exactly_is_never_sent(h: Harness, bad: str) -> None:
    with pytest.raises(RateNotRepresentableError):
        h.adapter.set_rate(Decimal(bad), **WHO)
    assert h.set_rate_frames() == 0


def test_a_float_rate_is_a_type_error(h: Harness) -> None:
    with pytest.raises(TypeError):
        h.adapter.set_rate(5.0, **WHO)  # type: ignore[arg-type]


def test_volume_infused_follows_rate_and_time(h: Harness) -> None:
    h.adapter.set_rate(Decimal(100), **WHO)
    h.adapter.start(**WHO)
    before_ml = h.adapter.volume_infused(**WHO)
    h.advance(36.0)
    after_ml = h.adapter.volume_infused(**WHO)
    assert after_ml - before_ml == Decimal("1.000")


def test_the_pump_stops_itself_when_the_vtbi_is_reached(h: Harness) -> None:
    status = h.adapter.set_volume_to_be_infused(Decimal("0.5"), **WHO)
    assert status.vtbi_ml == Decimal("0.5")
    h.adapter.set_rate(Decimal(100), **WHO)
    h.adapter.start(**WHO)
    h.advance(60.0)
    status = h.adapter.status(**WHO)
    assert status.pump_state is PumpState.STOPPED
    assert status.vtbi_complete
    assert status.alarm is None


def test_an_occlusion_alarm_is_reported_by_the_next_status_read(h: Harness) -> None:
    h.adapter.set_rate(Decimal(5), **WHO)
    h.adapter.start(**WHO)
    h.stall()
    status = h.adapter.status(**WHO)
    assert status.alarm is AlarmKind.STALL
    assert not status.infusing
    assert [a.kind for a in h.adapter.alarms()] == [AlarmKind.STALL]


def test_a_command_after_an_alarm_only_acknowledges_it(h: Harness) -> None:
    h.adapter.set_rate(Decimal(5), **WHO)
    h.stall()
    with pytest.raises(PumpAlarmError) as caught:
        h.adapter.set_rate(Decimal(10), **WHO)
    assert caught.value.alarm is AlarmKind.STALL
    assert h.true_rate() == Decimal(5)
    assert h.link() is PumpLinkState.UNCERTAIN
    with pytest.raises(UncertainStateError):
        h.adapter.start(**WHO)
    status = h.adapter.status(**WHO)
    assert h.link() is PumpLinkState.CONNECTED
    assert status.rate_ml_per_h == Decimal(5)
    assert h.adapter.set_rate(Decimal(10), **WHO).rate_ml_per_h == Decimal(10)


def test_every_exchange_is_on_the_wire_record_with_requester_and_reason(h: Harness) -> None:
    h.adapter.set_rate(Decimal(7), requester="nurse:ab", reason="step 2")
    mine = [r for r in h.wire if r.requester == "nurse:ab"]
    assert {r.direction for r in mine} == {WireDirection.TX, WireDirection.RX}
    assert all(r.reason == "step 2" and bytes.fromhex(r.data_hex) for r in mine)


def test_after_close_every_call_needs_a_connect(h: Harness) -> None:
    h.adapter.close()
    with pytest.raises(NotConnectedError):
        h.adapter.status(**WHO)
    h.adapter.connect(**WHO)
    assert h.adapter.status(**WHO).pump_state is PumpState.STOPPED
