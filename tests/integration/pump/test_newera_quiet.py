"""Before each command the driver asks whether anything arrived unasked (issue 17's short cut).

An exchange drains the line only when the link is not quiet: a frame left over from the last
read, part of a frame held, or bytes waiting at the port. A duplicated reply reaches the check
by either road: in Safe mode the reply is read by its length and the copy stays at the port; in
Basic mode the reply is read with whatever is waiting, so the copy is read with it and left over
in the link. Either way the next command is not sent and the link is UNCERTAIN.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from simulator import ModelConfig, Simulator
from simulator.faults import Fault, FaultKind
from simulator.wire import frame_reply
from titrator.pump.base import FramingError, PumpLinkState, WireDirection, WireRecord
from titrator.pump.newera.codec import Framing
from titrator.pump.newera.driver import NewEraPump

WHO = {"requester": "test", "reason": "quiet check"}


@pytest.mark.parametrize(
    ("framing", "copy_note"),
    [(Framing.SAFE, "stale"), (Framing.BASIC, "")],
    ids=["safe: the copy waits at the port", "basic: the copy is left over in the link"],
)
def test_a_duplicated_status_reply_stops_the_next_command(framing: Framing, copy_note: str) -> None:
    safe = framing is Framing.SAFE
    config = ModelConfig(safe_timeout_s=10 if safe else 0, power_up_quirk=False)
    with Simulator(config) as sim:
        sim.start_pty()
        wire: list[WireRecord] = []
        with NewEraPump(
            sim.url, framing=framing, keepalive_s=None, reply_timeout_s=2.0, on_wire=wire.append
        ) as pump:
            pump.connect(**WHO)
            rate_before = sim.model.snapshot()["rate"]
            sim.faults.arm(Fault(FaultKind.DUPLICATE_REPLY, on="STATUS"))
            before = len(wire)

            assert pump.status(**WHO).link_state is PumpLinkState.CONNECTED
            with pytest.raises(FramingError, match="RAT7MH not sent"):
                pump.set_rate(Decimal(7), **WHO)

            assert pump.link_state is PumpLinkState.UNCERTAIN
        sent = [r.command for r in wire[before:] if r.direction is WireDirection.TX]
        assert sent == [""], "the set-rate command never went out"
        assert sim.model.snapshot()["rate"] == rate_before
        reply = frame_reply("00S", safe=safe).hex(" ")
        received = [(r.data_hex, r.note) for r in wire[before:] if r.direction is WireDirection.RX]
        assert received == [(reply, ""), (reply, copy_note)]
