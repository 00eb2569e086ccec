"""The manual pump: instructions, the nurse's confirmation, decline, timeout and stop."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from tests.contract.harness import wait_until
from titrator.pump.base import (
    ConfirmationTimeoutError,
    DeclinedError,
    EventKind,
    PumpAdapter,
    PumpEvent,
    PumpLinkState,
    PumpState,
    ReadbackMismatchError,
    UncertainStateError,
)
from titrator.pump.manual import Answer, Instruction, InstructionOutcome, ManualAction, ManualPump

WHO = {"requester": "engine", "reason": "step 2"}


def _agree(instruction: Instruction) -> Answer:
    return Answer("nurse:ab", True, instruction.rate_ml_per_h, infusing=False)


def test_it_is_a_pump_adapter() -> None:
    assert isinstance(ManualPump(), PumpAdapter)


def test_a_callback_confirmation_is_recorded_with_the_instruction() -> None:
    pump = ManualPump(confirmer=_agree)
    pump.connect(**WHO)
    status = pump.set_rate(Decimal("42.5"), **WHO)
    assert status.rate_ml_per_h == Decimal("42.5")
    [record] = pump.records
    assert record.outcome is InstructionOutcome.CONFIRMED
    assert record.instruction.text == (
        "Program the pump to 42.5 mL/h, then confirm the rate it shows."
    )
    assert record.answer is not None
    assert record.answer.nurse == "nurse:ab"


def test_the_ui_confirms_from_another_thread() -> None:
    events: list[PumpEvent] = []
    pump = ManualPump(on_event=events.append, confirm_timeout_s=10)
    pump.connect(**WHO)
    results: list[object] = []
    worker = threading.Thread(target=lambda: results.append(pump.set_rate(Decimal(60), **WHO)))
    worker.start()
    wait_until(lambda: pump.pending is not None)
    pending = pump.pending
    assert pending is not None
    assert pending.action is ManualAction.SET_RATE
    assert any(e.kind is EventKind.INSTRUCTION for e in events)
    pump.confirm(pending.id, nurse="nurse:ab", displayed_rate_ml_per_h=Decimal(60))
    worker.join(timeout=10)
    assert len(results) == 1
    assert pump.pending is None


def test_a_different_displayed_rate_is_a_mismatch_not_a_success() -> None:
    answers = iter([Answer("n", True, Decimal(600)), Answer("n", False, note="cannot")])
    pump = ManualPump(confirmer=lambda i: next(answers))
    pump.connect(**WHO)
    with pytest.raises(ReadbackMismatchError) as caught:
        pump.set_rate(Decimal(60), **WHO)  # read back 600, then not corrected
    assert caught.value.actual == Decimal(600)
    assert pump.link_state is PumpLinkState.UNCERTAIN


def test_a_declined_instruction_changes_nothing() -> None:
    pump = ManualPump(confirmer=lambda i: Answer("n", False, note="patient in bathroom"))
    pump.connect(**WHO)
    with pytest.raises(DeclinedError):
        pump.set_rate(Decimal(60), **WHO)
    assert pump.link_state is PumpLinkState.CONNECTED
    assert pump.records[0].outcome is InstructionOutcome.DECLINED


def test_no_confirmation_in_time_leaves_the_state_uncertain_until_the_nurse_reads_it() -> None:
    pump = ManualPump(confirm_timeout_s=0.05)
    pump.connect(**WHO)
    with pytest.raises(ConfirmationTimeoutError):
        pump.set_rate(Decimal(60), **WHO)
    assert pump.link_state is PumpLinkState.UNCERTAIN
    with pytest.raises(UncertainStateError):
        pump.set_rate(Decimal(90), **WHO)
    pump._confirmer = lambda i: Answer("n", True, Decimal(60), infusing=True)
    status = pump.status(**WHO)
    assert (status.rate_ml_per_h, status.pump_state) == (Decimal(60), PumpState.INFUSING)
    assert pump.status(**WHO).link_state is PumpLinkState.CONNECTED


def test_stop_supersedes_a_pending_instruction() -> None:
    pump = ManualPump(confirm_timeout_s=10)
    pump.connect(**WHO)
    errors: list[Exception] = []

    def increase() -> None:
        try:
            pump.set_rate(Decimal(90), **WHO)
        except DeclinedError as exc:
            errors.append(exc)

    worker = threading.Thread(target=increase)
    worker.start()
    wait_until(lambda: pump.pending is not None)
    stopper = threading.Thread(target=lambda: pump.stop(**WHO))
    stopper.start()
    wait_until(lambda: (p := pump.pending) is not None and p.action is ManualAction.STOP)
    worker.join(timeout=10)
    assert len(errors) == 1
    stop = pump.pending
    assert stop is not None
    pump.confirm(stop.id, nurse="n")
    stopper.join(timeout=10)
    assert [r.outcome for r in pump.records] == [
        InstructionOutcome.SUPERSEDED,
        InstructionOutcome.CONFIRMED,
    ]


def test_volume_is_estimated_from_confirmed_rates_and_time() -> None:
    now = [0.0]
    pump = ManualPump(confirmer=_agree, clock=lambda: now[0])
    pump.connect(**WHO)
    pump.set_rate(Decimal(100), **WHO)
    pump.start(**WHO)
    now[0] = 36.0
    assert pump.volume_infused(**WHO) == Decimal(1)
