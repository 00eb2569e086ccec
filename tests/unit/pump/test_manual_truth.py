"""The manual pump never invents pump state (issue 12, item 1).

Every status the shell hands the engine from a manual pump is one the nurse typed: a status read
always asks her, a rate read back wrong is said plainly and asked again, and the volume (an
estimate from confirmed rates, never read) never goes into a status read.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.plans import at
from titrator.domain.decisions import PumpCommand, PumpCommandKind
from titrator.domain.events import PumpOutcome, PumpStatusRead
from titrator.pump.base import PumpLinkState, ReadbackMismatchError
from titrator.pump.manual import Answer, Instruction, ManualAction, ManualPump
from titrator.shell.controller import execute_command

WHO = {"requester": "titrator", "reason": "test"}


def _command(number: int, kind: PumpCommandKind, rate: int | None = None) -> PumpCommand:
    return PumpCommand(
        command_id=number, kind=kind, rate_ml_per_h=None if rate is None else Decimal(rate)
    )


def test_a_rate_read_back_wrong_is_said_plainly_and_asked_again() -> None:
    asked: list[Instruction] = []
    answers = iter(
        [
            Answer("n", True, Decimal(210), typed="210"),  # a slip: 210 for 21
            Answer("n", True, Decimal(21), typed="21"),  # corrected at the pump
        ]
    )

    def nurse(instruction: Instruction) -> Answer:
        asked.append(instruction)
        return next(answers)

    pump = ManualPump(confirmer=nurse)
    pump.connect(**WHO)
    status = pump.set_rate(Decimal(21), **WHO)
    assert status.rate_ml_per_h == Decimal(21)
    assert pump.link_state is PumpLinkState.CONNECTED
    assert [i.action for i in asked] == [ManualAction.SET_RATE, ManualAction.SET_RATE]
    assert asked[1].text == (
        "The pump shows 210 mL/h, ordered 21 mL/h: correct the pump to 21 mL/h, or stop it."
    )
    assert [r.answer.typed for r in pump.records if r.answer is not None] == ["210", "21"]


def test_the_link_stays_uncertain_while_the_pump_shows_the_wrong_rate() -> None:
    seen: list[PumpLinkState] = []

    def nurse(instruction: Instruction) -> Answer:
        seen.append(pump.link_state)
        if len(seen) == 1:
            return Answer("n", True, Decimal(210), typed="210")
        return Answer("n", False, note="cannot correct it")

    pump = ManualPump(confirmer=nurse)
    pump.connect(**WHO)
    with pytest.raises(ReadbackMismatchError) as caught:
        pump.set_rate(Decimal(21), **WHO)  # a rate never corrected is never taken as set
    assert caught.value.actual == Decimal(210)
    assert seen == [PumpLinkState.CONNECTED, PumpLinkState.UNCERTAIN]
    assert pump.link_state is PumpLinkState.UNCERTAIN


def test_a_status_read_always_asks_the_nurse_and_carries_no_estimated_volume() -> None:
    asked: list[ManualAction] = []

    def nurse(instruction: Instruction) -> Answer:
        asked.append(instruction.action)
        if instruction.action is ManualAction.READ_STATUS:
            return Answer("n", True, Decimal(21), infusing=True, typed="21")
        return Answer("n", True, instruction.rate_ml_per_h)

    pump = ManualPump(confirmer=nurse)
    pump.connect(**WHO)  # a fresh adapter, as after a resume: nothing is known of the pump
    inputs, _status = execute_command(pump, _command(1, PumpCommandKind.READ_STATUS), at(0))
    assert asked == [ManualAction.READ_STATUS]
    assert inputs == [
        PumpStatusRead(at=at(0), running=True, rate_ml_per_h=Decimal(21), volume_ml=None)
    ]


_KINDS = st.sampled_from(
    [PumpCommandKind.START, PumpCommandKind.SET_RATE, PumpCommandKind.STOP]
    + [PumpCommandKind.READ_STATUS] * 2
)


@settings(max_examples=60, deadline=None)
@given(
    commands=st.lists(st.tuples(_KINDS, st.sampled_from([21, 42, 84])), min_size=1, max_size=8),
    data=st.data(),
)
def test_every_status_read_is_one_the_nurse_typed(
    commands: list[tuple[PumpCommandKind, int]], data: st.DataObject
) -> None:
    """Over any command sequence and any answers: no pump_status the nurse did not give."""
    typed_reads: list[tuple[bool, Decimal]] = []
    count = [0]

    def nurse(instruction: Instruction) -> Answer:
        count[0] += 1
        tired = count[0] > 20  # bound the corrections: later answers are plain
        if not tired and data.draw(st.booleans(), label="decline"):
            return Answer("n", False, note="cannot")
        if instruction.action is ManualAction.READ_STATUS:
            running = data.draw(st.booleans(), label="running")
            rate = Decimal(data.draw(st.sampled_from([0, 21, 42, 210]), label="rate"))
            typed_reads.append((running, rate))
            return Answer("n", True, rate, infusing=running, typed=str(rate))
        if instruction.action is ManualAction.SET_RATE:
            ordered = instruction.rate_ml_per_h
            assert ordered is not None
            wrong = not tired and data.draw(st.booleans(), label="slip")
            shown = ordered * 10 if wrong else ordered
            return Answer("n", True, shown, typed=str(shown))
        return Answer("n", True)

    pump = ManualPump(confirmer=nurse)
    pump.connect(**WHO)
    reads: list[PumpStatusRead] = []
    for number, (kind, rate) in enumerate(commands, start=1):
        with_rate = kind in (PumpCommandKind.START, PumpCommandKind.SET_RATE)
        command = _command(number, kind, rate if with_rate else None)
        inputs, _status = execute_command(pump, command, at(number))
        for event in inputs:
            if isinstance(event, PumpStatusRead):
                reads.append(event)
            else:
                assert isinstance(event, PumpOutcome)
    said = [(r.running, r.rate_ml_per_h if r.running else None) for r in reads]
    typed = [(running, rate if running else None) for running, rate in typed_reads]
    assert said == typed
    assert all(r.volume_ml is None for r in reads)
