"""The manual pump's instructions on screen: what to do at the pump, and what it reads back.

The manual pump (`titrator.pump.manual.ManualPump`) turns every command into an instruction for
the nurse and waits on the pump worker's thread for the answer. `ManualInstructions` shows the
pending instruction as `ManualPumpModal` and hands the nurse's answer back to the pump, and on
STOP declines an instruction still waiting, so the stop does not queue behind it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, Final

from textual.app import App

from titrator.pump.manual import Instruction, ManualAction, ManualPump
from titrator.tui.dialogs.manual_pump import ManualAnswer, ManualPumpModal

RECORD_KIND: Final = "manual_pump"
"""The audit record kind of the nurse's answer to a manual pump instruction."""

DECLINED: Final = "nurse could not do it"
SUPERSEDED: Final = "superseded by STOP"


def answer_record(
    instruction: Instruction, nurse: str, answer: ManualAnswer | None, why: str = DECLINED
) -> dict[str, Any]:
    """An audit record of what the nurse was asked, and exactly what she typed and chose.

    Not an engine event (replay skips it, review shows it from its raw payload).
    """
    ordered = instruction.rate_ml_per_h
    infusing = None if answer is None or answer.infusing is None else answer.infusing
    return {
        "kind": RECORD_KIND,
        "instruction_id": instruction.id,
        "action": instruction.action.value,
        "instruction": instruction.text,
        "ordered_ml_per_h": None if ordered is None else f"{ordered.normalize():f}",
        "nurse": nurse,
        "choice": "confirmed" if answer is not None else "declined",
        "typed_rate": None if answer is None else answer.typed,
        "infusing": infusing,
        "note": "" if answer is not None else why,
    }


class ManualInstructions:
    """Shows a manual pump's pending instruction and answers it for the nurse.

    Args:
        app: the app the dialog is shown on.
        pump: the manual pump.
        nurse: who is answering (the signed-in nurse).
        record: writes one audit record (each answer, as typed and chosen).
    """

    def __init__(
        self,
        app: App[Any],
        pump: ManualPump,
        nurse: Callable[[], str],
        record: Callable[[dict[str, Any]], None],
    ) -> None:
        self._app = app
        self._pump = pump
        self._nurse = nurse
        self._record = record

    def show(self) -> None:
        """Show the pending instruction (nothing when none is pending)."""
        pump = self._pump
        instruction = pump.pending
        if instruction is None:
            return
        nurse = self._nurse()
        ask_rate = instruction.action in (ManualAction.SET_RATE, ManualAction.READ_STATUS)
        ask_infusing = instruction.action is ManualAction.READ_STATUS

        def answered(answer: ManualAnswer | None) -> None:
            current = pump.pending
            if current is None or current.id != instruction.id:
                return  # superseded (STOP) or timed out: the pump recorded how it ended
            try:
                if answer is None:
                    pump.decline(instruction.id, nurse=nurse, reason=DECLINED)
                else:
                    pump.confirm(
                        instruction.id,
                        nurse=nurse,
                        displayed_rate_ml_per_h=answer.displayed_rate_ml_per_h,
                        infusing=answer.infusing,
                        typed=answer.typed,
                    )
            except KeyError:
                self._app.notify("That pump instruction is no longer pending.", severity="warning")
                return
            self._record(answer_record(instruction, nurse, answer))

        self._app.push_screen(ManualPumpModal(instruction.text, ask_rate, ask_infusing), answered)

    def supersede(self) -> None:
        """STOP must not wait behind an instruction the nurse has not answered.

        The pending instruction is declined (its command is reported as not done) and its
        dialog closed, so the worker goes straight on to the stop instruction.
        """
        pump = self._pump
        instruction = pump.pending
        if instruction is None:
            return
        # KeyError: answered or timed out meanwhile, so nothing is blocking the stop.
        with contextlib.suppress(KeyError):
            pump.decline(instruction.id, nurse=self._nurse(), reason=SUPERSEDED)
            self._record(answer_record(instruction, self._nurse(), None, SUPERSEDED))
        screen = self._app.screen
        if isinstance(screen, ManualPumpModal):
            screen.dismiss(None)  # its instruction is no longer pending: nothing to answer
