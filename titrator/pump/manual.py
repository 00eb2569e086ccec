"""The manual pump (the bedside default): the nurse programs the pump; the adapter records it.

The adapter says exactly what to program and records the nurse's confirmation.

Each operation creates one `Instruction` (held as `pending`), reports it through `on_event`
(kind INSTRUCTION) and blocks its worker thread until the nurse answers: the UI calls `confirm()`
or `decline()`, or a `confirmer` callback given to the constructor answers synchronously. Every
answer, and every instruction that timed out or was superseded by a stop, is kept in `records`.
A timeout leaves the link UNCERTAIN (the nurse may or may not have done it).

Nothing is invented: every status is what the nurse said. `status()` always asks the nurse to
read the pump (running or not, and the rate it shows); it never answers from memory. A rate
read back different from the one ordered is said plainly ("the pump shows 210 mL/h, ordered
21 mL/h: correct the pump to 21 mL/h, or stop it"), the link stays UNCERTAIN and the nurse is
asked again until the pump shows the ordered rate; if she cannot, the operation fails as a
mismatch and the engine's status read asks her what the pump shows.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from titrator.pump.base import (
    AlarmEvent,
    AlarmKind,
    ConfirmationTimeoutError,
    DeclinedError,
    EventHook,
    EventKind,
    LinkGuard,
    PumpEvent,
    PumpInfo,
    PumpLinkState,
    PumpState,
    PumpStatus,
    ReadbackMismatchError,
    check_positive_decimal,
)

_SECONDS_PER_HOUR = Decimal(3600)


class ManualAction(StrEnum):
    """What the nurse is asked to do."""

    SET_RATE = "set_rate"
    START = "start"
    STOP = "stop"
    SET_VTBI = "set_vtbi"
    READ_STATUS = "read_status"


class InstructionOutcome(StrEnum):
    """How an instruction to the nurse ended (kept in each `Record`)."""

    CONFIRMED = "confirmed"
    DECLINED = "declined"
    TIMED_OUT = "timed_out"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class Instruction:
    """One thing the nurse must do at the pump and confirm.

    Attributes:
        id: unique per adapter; pass it back to `confirm()`/`decline()`.
        action: what to do.
        text: exactly what to show the nurse.
        rate_ml_per_h: the rate to program (SET_RATE), else None.
        volume_ml: the VTBI to program (SET_VTBI), else None.
        requester: who asked.
        reason: why.
        issued_monotonic_s: when it was issued.
    """

    id: int
    action: ManualAction
    text: str
    rate_ml_per_h: Decimal | None
    volume_ml: Decimal | None
    requester: str
    reason: str
    issued_monotonic_s: float


@dataclass(frozen=True)
class Answer:
    """The nurse's answer to an instruction.

    Attributes:
        nurse: who answered.
        accepted: True to confirm, False to decline.
        displayed_rate_ml_per_h: the rate the pump displays, as read by the nurse (required to
            confirm SET_RATE and READ_STATUS).
        infusing: whether the pump shows it is infusing (required to confirm READ_STATUS).
        note: free text (the reason, for a decline).
        typed: the displayed rate exactly as the nurse typed it ("" when none was typed).
    """

    nurse: str
    accepted: bool
    displayed_rate_ml_per_h: Decimal | None = None
    infusing: bool | None = None
    note: str = ""
    typed: str = ""


@dataclass(frozen=True)
class Record:
    """An instruction and how it ended, for the audit log."""

    instruction: Instruction
    outcome: InstructionOutcome
    answer: Answer | None
    monotonic_s: float


READ_TEXT = (
    "Read the pump: is it infusing, and what rate does it show? Enter exactly what it shows."
)
"""The instruction of a status read."""


def _ml_per_h(value: Decimal) -> str:
    return f"{value.normalize():f} mL/h"


def mismatch_text(shown: Decimal | None, ordered: Decimal) -> str:
    """What the nurse is told when the rate she read back is not the rate ordered."""
    showing = f"shows {_ml_per_h(shown)}" if shown is not None else "rate was not read"
    return (
        f"The pump {showing}, ordered {_ml_per_h(ordered)}: "
        f"correct the pump to {_ml_per_h(ordered)}, or stop it."
    )


class ManualPump:
    """A pump the nurse operates. Implements `PumpAdapter`.

    Args:
        confirm_timeout_s: how long an operation waits for the nurse.
        confirmer: answers each instruction synchronously (on the calling thread); if None,
            the UI answers with `confirm()`/`decline()` from any thread.
        on_event: receives INSTRUCTION events (show `event.detail`) and link changes.
        clock: monotonic seconds.
    """

    def __init__(
        self,
        *,
        confirm_timeout_s: float = 600.0,
        confirmer: Callable[[Instruction], Answer] | None = None,
        on_event: EventHook | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.confirm_timeout_s = confirm_timeout_s
        self._confirmer, self._on_event, self._clock = confirmer, on_event, clock
        self._guard = LinkGuard()
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._pending: Instruction | None = None
        self._answers: dict[int, Answer | InstructionOutcome] = {}
        self.records: list[Record] = []
        """Every instruction and its outcome, in order."""
        self._state = PumpState.STOPPED
        self._rate: Decimal | None = None
        self._vtbi: Decimal | None = None
        self._volume_ml = Decimal(0)
        self._since_s = clock()
        self._alarms: list[AlarmEvent] = []

    @property
    def link_state(self) -> PumpLinkState:
        """The current link state."""
        return self._guard.state

    @property
    def pending(self) -> Instruction | None:
        """The instruction waiting for the nurse, if any."""
        with self._cond:
            return self._pending

    def confirm(
        self,
        instruction_id: int,
        *,
        nurse: str,
        displayed_rate_ml_per_h: Decimal | None = None,
        infusing: bool | None = None,
        typed: str = "",
    ) -> None:
        """The nurse confirms she did it (from the UI thread); `typed`: the rate as typed.

        Raises:
            KeyError: no such pending instruction (e.g. it timed out or was superseded).
        """
        answer = Answer(nurse, True, displayed_rate_ml_per_h, infusing, typed=typed)
        self._answer(instruction_id, answer)

    def decline(self, instruction_id: int, *, nurse: str, reason: str) -> None:
        """The nurse declines (from the UI thread); the operation raises DeclinedError."""
        self._answer(instruction_id, Answer(nurse, False, note=reason))

    def report_alarm(self, kind: AlarmKind) -> None:
        """The nurse reports an alarm shown by the pump."""
        with self._cond:
            self._accumulate()
            self._alarms.append(AlarmEvent(kind, self._clock(), solicited=False))
            if kind in (AlarmKind.STALL, AlarmKind.COMMS_TIMEOUT, AlarmKind.POWER_RESET):
                self._state = PumpState.STOPPED
        self._emit(EventKind.ALARM, f"nurse reported alarm: {kind}")

    def connect(self, *, requester: str, reason: str) -> PumpInfo:
        """Nothing to open: the link is the nurse."""
        self._guard.state = PumpLinkState.CONNECTED
        return PumpInfo("manual", "manually programmed pump", "", "", None, self._snapshot())

    def status(self, *, requester: str, reason: str) -> PumpStatus:
        """The nurse reads the pump's display: whether it is infusing and the rate it shows.

        Always asked, never answered from what was last confirmed: a manual pump's state is
        what the nurse says it is now.
        """
        self._guard.require("status")
        answer = self._instruct(ManualAction.READ_STATUS, READ_TEXT, None, None, requester, reason)
        if answer.displayed_rate_ml_per_h is None or answer.infusing is None:
            raise DeclinedError("a status read needs the displayed rate and running state")
        self._accumulate()
        self._rate = answer.displayed_rate_ml_per_h
        self._state = PumpState.INFUSING if answer.infusing else PumpState.STOPPED
        self._set_link(PumpLinkState.CONNECTED)
        return self._snapshot()

    def set_rate(self, rate_ml_per_h: Decimal, *, requester: str, reason: str) -> PumpStatus:
        """Ask the nurse to program `rate_ml_per_h`; she confirms with the rate the pump shows."""
        check_positive_decimal(rate_ml_per_h, "rate_ml_per_h")
        self._guard.require("set")
        text = f"Program the pump to {_ml_per_h(rate_ml_per_h)}, then confirm the rate it shows."
        while True:
            try:
                answer = self._instruct(
                    ManualAction.SET_RATE, text, rate_ml_per_h, None, requester, reason
                )
            except DeclinedError as declined:
                if self._guard.state is not PumpLinkState.UNCERTAIN:
                    raise  # nothing was read back wrong: the pump is as it was
                raise ReadbackMismatchError(
                    f"{text} Not corrected: {declined}", expected=rate_ml_per_h, actual=self._rate
                ) from declined
            shown = answer.displayed_rate_ml_per_h
            with self._cond:
                self._accumulate()
                self._rate = shown
            if shown == rate_ml_per_h:
                self._set_link(PumpLinkState.CONNECTED)
                return self._snapshot()
            # Read back wrong: the pump's state is uncertain until the nurse corrects it.
            self._set_link(PumpLinkState.UNCERTAIN)
            text = mismatch_text(shown, rate_ml_per_h)

    def start(self, *, requester: str, reason: str) -> PumpStatus:
        """Ask the nurse to start the pump."""
        self._guard.require("set")
        rate = _ml_per_h(self._rate) if self._rate is not None else "the programmed rate"
        self._instruct(
            ManualAction.START, f"Start the pump at {rate}.", None, None, requester, reason
        )
        self._accumulate()
        self._state = PumpState.INFUSING
        return self._snapshot()

    def stop(self, *, requester: str, reason: str) -> PumpStatus:
        """Ask the nurse to stop the pump (supersedes any pending instruction)."""
        self._guard.require("stop")
        self._instruct(ManualAction.STOP, "Stop the pump now.", None, None, requester, reason)
        with self._cond:
            self._accumulate()
            self._state = PumpState.STOPPED
        self._set_link(PumpLinkState.CONNECTED)  # the nurse confirmed it is stopped: known
        return self._snapshot()

    def volume_infused(self, *, requester: str, reason: str) -> Decimal:
        """An estimate in mL: confirmed rates integrated over time (the pump is not read)."""
        self._guard.require("read")
        with self._cond:
            self._accumulate()
            return self._volume_ml

    def set_volume_to_be_infused(
        self, volume_ml: Decimal, *, requester: str, reason: str
    ) -> PumpStatus:
        """Ask the nurse to program the volume to be infused (0 = continuous)."""
        if volume_ml != 0:
            check_positive_decimal(volume_ml, "volume_ml")
        self._guard.require("set")
        what = "no volume limit" if volume_ml == 0 else f"{volume_ml.normalize():f} mL"
        text = f"Program the volume to be infused: {what}."
        self._instruct(ManualAction.SET_VTBI, text, None, volume_ml, requester, reason)
        self._vtbi = volume_ml
        return self._snapshot()

    def alarms(self) -> tuple[AlarmEvent, ...]:
        """Return and forget the alarms the nurse reported."""
        with self._cond:
            out, self._alarms = tuple(self._alarms), []
            return out

    def close(self) -> None:
        """Disconnect; a pending instruction is superseded."""
        with self._cond:
            self._supersede()
        self._guard.state = PumpLinkState.DISCONNECTED

    # -- internals ------------------------------------------------------------------------------

    def _answer(self, instruction_id: int, answer: Answer) -> None:
        with self._cond:
            if self._pending is None or self._pending.id != instruction_id:
                raise KeyError(f"instruction {instruction_id} is not pending")
            self._answers[instruction_id] = answer
            self._cond.notify_all()

    def _supersede(self) -> None:
        if self._pending is not None:
            self._answers[self._pending.id] = InstructionOutcome.SUPERSEDED
            self._cond.notify_all()

    def _instruct(
        self,
        action: ManualAction,
        text: str,
        rate_ml_per_h: Decimal | None,
        volume_ml: Decimal | None,
        requester: str,
        reason: str,
    ) -> Answer:
        with self._cond:
            if action is ManualAction.STOP:
                self._supersede()
            instruction = Instruction(
                next(self._ids), action, text, rate_ml_per_h, volume_ml, requester, reason,
                self._clock(),
            )  # fmt: skip
            self._pending = instruction
        self._emit(EventKind.INSTRUCTION, text)
        if self._confirmer is not None:
            self._answer(instruction.id, self._confirmer(instruction))
        with self._cond:
            self._cond.wait_for(lambda: instruction.id in self._answers, self.confirm_timeout_s)
            result = self._answers.pop(instruction.id, InstructionOutcome.TIMED_OUT)
            if self._pending is instruction:
                self._pending = None
            answer = result if isinstance(result, Answer) else None
            outcome = result if isinstance(result, InstructionOutcome) else None
            if answer is not None:
                outcome = (
                    InstructionOutcome.CONFIRMED if answer.accepted else InstructionOutcome.DECLINED
                )
            assert outcome is not None
            self.records.append(Record(instruction, outcome, answer, self._clock()))
        if outcome is InstructionOutcome.TIMED_OUT:
            self._set_link(PumpLinkState.UNCERTAIN)
            raise ConfirmationTimeoutError(f"no confirmation within {self.confirm_timeout_s} s")
        if answer is None or not answer.accepted:
            note = answer.note if answer is not None else "superseded by a stop"
            raise DeclinedError(f"{action} not done: {note}")
        return answer

    def _accumulate(self) -> None:
        now_s = self._clock()
        if self._state is PumpState.INFUSING and self._rate is not None:
            elapsed = Decimal(repr(max(0.0, now_s - self._since_s)))
            self._volume_ml += self._rate * elapsed / _SECONDS_PER_HOUR
        self._since_s = now_s

    def _set_link(self, state: PumpLinkState) -> None:
        if self._guard.move(state):
            self._emit(EventKind.LINK_CHANGED, f"link {state}")

    def _snapshot(self) -> PumpStatus:
        return PumpStatus(
            pump_state=self._state,
            link_state=self._guard.state,
            rate_ml_per_h=self._rate,
            vtbi_ml=self._vtbi,
            monotonic_s=self._clock(),
        )

    def _emit(self, kind: EventKind, detail: str) -> None:
        if self._on_event is not None:
            self._on_event(PumpEvent(kind, self._snapshot(), detail))
