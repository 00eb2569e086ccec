"""The driver with `locate` finds its port again at every connect (the simulator's pty moves)."""

from __future__ import annotations

import pytest

from simulator import ModelConfig, Simulator
from simulator.faults import FaultKind
from tests.contract.harness import WHO
from titrator.pump.base import ConnectError, LinkLostError, PumpLinkState
from titrator.pump.newera.driver import NewEraPump


def test_a_pulled_cable_on_the_simulators_pty_reconnects_at_the_new_path() -> None:
    with Simulator(ModelConfig(safe_timeout_s=10)) as sim:
        sim.start_pty()
        first = sim.url
        with NewEraPump(
            first, locate=lambda: sim.url, reply_timeout_s=0.25, keepalive_s=None
        ) as pump:
            pump.connect(**WHO)
            sim.trigger(FaultKind.DISCONNECT)
            with pytest.raises(LinkLostError):
                pump.status(**WHO)
            assert sim.url != first, "the simulator reopened its pty elsewhere"

            pump.connect(requester="rn-1", reason="reconnect after lost link")

            assert pump.url == sim.url
            assert pump.status(**WHO).link_state is PumpLinkState.CONNECTED


def test_a_driver_that_keeps_the_old_path_cannot_come_back() -> None:
    """Why the app gives the driver `locate`: without it, the old pty path is gone."""
    with (
        Simulator(ModelConfig(safe_timeout_s=10)) as sim,
        NewEraPump(sim.start_pty(), reply_timeout_s=0.25, keepalive_s=None) as pump,
    ):
        pump.connect(**WHO)
        sim.trigger(FaultKind.DISCONNECT)
        with pytest.raises(LinkLostError):
            pump.status(**WHO)
        with pytest.raises(ConnectError):
            pump.connect(**WHO)
