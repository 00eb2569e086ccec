"""Sessions the generated-session test found (tests/unit/domain/test_stateful.py), kept as
fixed cases so that they run every time, whatever hypothesis draws."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.clinical import NORMAL, POLICY
from tests.unit.domain.test_stateful import PLANS, REESCALATE, SessionMachine
from titrator.domain.events import RateChanged
from titrator.domain.policy import Policy

Step = tuple[str, dict[str, Any]]

NURSE_PAUSE_DURING_A_REACTION: list[Step] = [
    ("link_change", {"up": False}),
    ("link_change", {"up": True}),
    ("symptoms", {"symptoms": ["headache"]}),  # a reaction opens: pause recommended
    ("clear_symptoms", {}),
    ("follow_the_protocol", {}),
    ("nurse_pause", {"roll": 0}),  # the nurse pauses for a reason of her own
    ("follow_the_protocol", {}),
    ("accept", {}),  # was: resumed at the same 35 mL/h
]
PAUSE_ENDS_BETWEEN_INPUTS: list[Step] = [
    ("symptoms", {"symptoms": ["headache"]}),
    ("accept", {}),  # paused for 30 min
    ("clear_symptoms", {}),
    ("restart", {"down_min": 28, "jump_h": 0, "reboot": False}),
    ("time_passes", {"minutes": 2, "seconds": 0}),  # the pause ends on a tick nobody logs
    ("vitals", {"raw": {**NORMAL, "temp_c": "38.2"}}),  # was: replay decided otherwise
]


def play(steps: list[Step], policy: Policy) -> SessionMachine:
    machine = SessionMachine()
    machine.open_session(PLANS[0], policy, True)
    for name, kwargs in steps:
        getattr(machine, name)(**kwargs)
        machine.engine_agrees_with_the_model()
    machine.teardown()  # the log replays to the same decisions
    return machine


@pytest.mark.parametrize("policy", [POLICY, REESCALATE], ids=["default", "reescalate"])
def test_a_nurse_pause_while_a_reaction_is_open_is_that_reactions_pause(policy: Policy) -> None:
    machine = play(NURSE_PAUSE_DURING_A_REACTION, policy)
    pauses = [e for e in machine.log if isinstance(e, RateChanged) and e.to_ml_per_h == 0]
    assert pauses[-1].cause == "pause: generated (a reaction is open)"
    assert machine.session.rate_ml_per_h == 0  # the minimum pause has not run out yet


@pytest.mark.parametrize("policy", [POLICY, REESCALATE], ids=["default", "reescalate"])
def test_a_pause_that_ends_between_logged_inputs_replays_the_same(policy: Policy) -> None:
    play(PAUSE_ENDS_BETWEEN_INPUTS, policy)
