"""Every simulator fault during set rate, start, stop and status, through the real driver.

Run over both transports the simulator offers (loopback TCP and a pty). For each case: at most
one set-rate frame went out (and reached the pump), the fault reached the caller (an exception,
an alarm in the status, or an event), nothing was clamped, and once the driver has re-synced
(status read, or reconnect after loss) its view matches the pump's truth.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from simulator.faults import FaultKind
from tests.contract.harness import WHO, Harness, harness_for, inject, reconnect
from titrator.pump.base import (
    ChecksumError,
    EventKind,
    FramingError,
    LinkLostError,
    PumpAlarmError,
    PumpError,
    PumpLinkState,
    PumpStatus,
    ReplyTimeoutError,
)

OPS = {"set_rate": "RAT", "start": "RUN", "stop": "STP", "status": "STATUS"}
FAULT_OPTIONS: dict[FaultKind, dict[str, object]] = {FaultKind.LATE_REPLY: {"delay_s": 0.4}}
EXPECTED_ON_COMMAND: dict[FaultKind, type[PumpError]] = {
    FaultKind.NO_REPLY: ReplyTimeoutError,
    FaultKind.LATE_REPLY: ReplyTimeoutError,
    FaultKind.GARBAGE: FramingError,
    FaultKind.PARTIAL: FramingError,
    FaultKind.BAD_CRC: ChecksumError,
    FaultKind.DUPLICATE_REPLY: FramingError,
    FaultKind.OTHER_ADDRESS: FramingError,
    FaultKind.DISCONNECT: LinkLostError,
    FaultKind.STALL: PumpAlarmError,
    FaultKind.POWER_RESET: PumpAlarmError,
    FaultKind.COMMS_TIMEOUT: PumpAlarmError,
}
PUMP_SET_RATE = re.compile(r"\d*RAT\d")


def _prepare(h: Harness, op: str) -> None:
    h.adapter.set_rate(Decimal(5), **WHO)
    if op != "start":
        h.adapter.start(**WHO)


def _run(h: Harness, op: str) -> PumpStatus:
    if op == "set_rate":
        return h.adapter.set_rate(Decimal(10), **WHO)  # an increase: never resent blindly
    if op == "start":
        return h.adapter.start(**WHO)
    if op == "stop":
        return h.adapter.stop(**WHO)
    return h.adapter.status(**WHO)


@pytest.mark.parametrize("fault", list(FaultKind), ids=str)
@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("transport", ["sim_tcp", "sim_pty"])
def test_fault_during_operation(transport: str, op: str, fault: FaultKind) -> None:
    with harness_for(transport) as h:
        assert h.sim is not None
        _prepare(h, op)
        frames_before, events_before = h.set_rate_frames(), len(h.events)
        received_before = len(h.sim.received())
        inject(h, fault, OPS[op], **FAULT_OPTIONS.get(fault, {}))

        raised: PumpError | None = None
        result: PumpStatus | None = None
        try:
            result = _run(h, op)
        except PumpError as exc:
            raised = exc

        # (a) at most one set-rate frame went out, and at most one reached the pump
        assert h.set_rate_frames() - frames_before <= (1 if op == "set_rate" else 0)
        reached = [r.text for r in h.sim.received()[received_before:]]
        assert sum(1 for t in reached if t and PUMP_SET_RATE.match(t)) <= 1

        # (b) the fault reached the caller
        new_events = {e.kind for e in h.events[events_before:]}
        if op in ("set_rate", "start"):
            assert isinstance(raised, EXPECTED_ON_COMMAND[fault]), raised
        elif fault is FaultKind.DISCONNECT:
            assert isinstance(raised, LinkLostError)
        elif (op, fault) != ("status", FaultKind.DUPLICATE_REPLY):
            reported = result is not None and result.alarm is not None
            assert raised is not None or reported or EventKind.COMMS_FAULT in new_events
        if isinstance(raised, LinkLostError):
            assert h.adapter.link_state is PumpLinkState.LOST

        # (c) the pump was never given anything but 5 or 10 mL/h: nothing clamped
        assert h.sim.rate_ml_per_h() in (Decimal(5), Decimal(10))

        # (d) after a re-sync, the driver's view is the pump's truth
        if h.adapter.link_state is PumpLinkState.LOST:
            reconnect(h)
        status = h.adapter.status(**WHO)
        assert h.adapter.link_state is PumpLinkState.CONNECTED
        if (op, fault) == ("status", FaultKind.DUPLICATE_REPLY):
            # A status read's duplicate is only noticed before the next command (as stale).
            assert EventKind.COMMS_FAULT in {e.kind for e in h.events[events_before:]}
        truth = h.sim.model.snapshot()
        assert status.infusing == (truth["prompt"] == "I")
        assert status.rate_ml_per_h in (None, h.sim.rate_ml_per_h())
        if op == "stop" and fault is not FaultKind.DISCONNECT:
            assert not status.infusing
