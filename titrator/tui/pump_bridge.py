"""The app's side of the pump: one worker thread, messages back to the UI, the pump line.

The worker connects, then sends the engine's commands one at a time, in order, for the life of
the app; each result comes back as a message and is fed to the engine on the UI thread (stamped
when it is fed, so time never runs backwards). Adapter hooks (wire bytes, link changes, alarms,
manual instructions) may fire on the adapter's threads; they only post messages.
"""

from __future__ import annotations

import queue

from textual import work
from textual.app import App
from textual.message import Message

from titrator.controller import (
    STATE_NEWS,
    InfusionController,
    execute_command,
    link_input,
    state_input,
    wire_record,
)
from titrator.domain.clock import Instant
from titrator.domain.decisions import Decision, PumpCommand
from titrator.domain.decisions import LinkState as EngineLink
from titrator.domain.events import InputEvent, PumpLinkChanged
from titrator.domain.setup import InfusionSetup
from titrator.domain.units import show_ml_per_h
from titrator.pump.base import (
    Direction,
    EventKind,
    LinkState,
    PumpAdapter,
    PumpError,
    PumpEvent,
    PumpStatus,
    WireRecord,
)
from titrator.pump.manual import ManualAction, ManualPump
from titrator.tui.screens.modals import ManualAnswer, ManualPumpModal
from titrator.tui.services import AppServices

_LINK_MARK = {
    LinkState.CONNECTED: "● CONNECTED",
    LinkState.UNCERTAIN: "▲ UNCERTAIN",
    LinkState.LOST: "✗ LINK LOST",
    LinkState.DISCONNECTED: "○ NOT CONNECTED",
}


class PumpWire(Message):
    """Bytes on the pump wire (posted from a pump thread)."""

    def __init__(self, record: WireRecord) -> None:
        super().__init__()
        self.record = record


class PumpNotice(Message):
    """An adapter event: link change, alarm, manual instruction (posted from a pump thread)."""

    def __init__(self, event: PumpEvent) -> None:
        super().__init__()
        self.event = event


class PumpResult(Message):
    """The engine inputs that follow from one pump command (posted by the pump worker)."""

    def __init__(
        self, inputs: list[InputEvent], link: LinkState, status: PumpStatus | None
    ) -> None:
        super().__init__()
        self.inputs = inputs
        self.link = link
        self.status = status


class PumpBridge(App[int]):
    """The pump worker and its messages; `TitratorApp` builds on it."""

    services: AppServices
    controller: InfusionController | None
    setup: InfusionSetup | None
    pump: PumpAdapter | None
    pump_link: LinkState
    pump_problem: str
    last_pump_status: PumpStatus | None
    _commands: queue.Queue[PumpCommand | None]
    _early_wire: list[WireRecord]
    _last_poll: dict[Direction, str]

    def now(self) -> Instant:
        """The clock's current instant."""
        return self.services.clock.now()

    def feed(self, event: InputEvent) -> Decision:
        """Feed one input to the engine (the app implements it)."""
        raise NotImplementedError

    def _restamped(self, event: InputEvent) -> InputEvent:
        """Pump results are stamped when they are fed, so time never runs backwards."""
        return event.model_copy(update={"at": self.now()})

    def _refresh_run(self) -> None:
        """Redraw the run screen (the app implements it)."""
        raise NotImplementedError

    def _on_wire(self, record: WireRecord) -> None:
        self.post_message(PumpWire(record))

    def _on_pump_event(self, event: PumpEvent) -> None:
        self.post_message(PumpNotice(event))

    @work(thread=True, group="pump", exit_on_error=False, name="pump")
    def _pump_worker(self) -> None:
        """Connect, then send commands one at a time, in order, for the life of the app."""
        pump = self.pump
        assert pump is not None
        try:
            info = pump.connect(requester="titrator", reason="start-up")
            self.last_pump_status = info.status
        except PumpError as error:
            self.pump_problem = f"{type(error).__name__}: {error}"
        self.pump_link = pump.link_state
        while True:
            command = self._commands.get()
            if command is None:
                return
            inputs, status = execute_command(pump, command, self.now())
            self.post_message(PumpResult(inputs, pump.link_state, status))

    def on_pump_result(self, message: PumpResult) -> None:
        """Feed a pump command's outcome (stamped now)."""
        self.pump_link = message.link
        if message.status is not None:
            self.last_pump_status = message.status
        for event in message.inputs:
            self.feed(self._restamped(event))

    def on_pump_wire(self, message: PumpWire) -> None:
        """Record the bytes in the audit log (kept until the log exists).

        The keepalive's routine status polls repeat every second; a poll is recorded when its
        bytes differ from the previous poll in the same direction or carry a note (unsolicited
        alarm, garbage, stale reply), so every change on the wire is kept without thousands of
        identical lines.
        """
        record = message.record
        if record.requester == "keepalive" and not record.note:
            if self._last_poll.get(record.direction) == record.data_hex:
                return
            self._last_poll[record.direction] = record.data_hex
        if self.controller is None:
            self._early_wire.append(message.record)
            return
        self.controller.record_extra(wire_record(message.record), self.now())

    def on_pump_notice(self, message: PumpNotice) -> None:
        """Link changes and alarms reach the engine at once; manual instructions are shown."""
        event = message.event
        self.pump_link = event.status.link_state
        self.last_pump_status = event.status
        if event.kind is EventKind.INSTRUCTION:
            self._show_instruction()
            return
        if self.controller is None:
            self._refresh_run()
            return
        link = link_input(event, self.now())
        if link is not None and self._link_news(link):
            self.feed(link)
        elif event.kind in STATE_NEWS:
            self.notify(f"PUMP: {event.detail}", severity="error")
            read = state_input(event, self.now())
            if read is not None:
                self.feed(read)
        self._refresh_run()

    def _link_news(self, link: InputEvent) -> bool:
        """Whether a link change is news to the engine.

        The adapter reports "connected" whenever its link settles, also after a status read has
        resolved UNCERTAIN; the engine only expects "link back" after it was told it was lost.
        """
        assert self.controller is not None
        lost = self.controller.session.link is EngineLink.LOST
        return isinstance(link, PumpLinkChanged) and link.up == lost

    def _show_instruction(self) -> None:
        pump = self.pump
        if not isinstance(pump, ManualPump):
            return
        instruction = pump.pending
        if instruction is None:
            return
        nurse = self.setup.nurse_id if self.setup else "nurse"
        ask_rate = instruction.action in (ManualAction.SET_RATE, ManualAction.READ_STATUS)
        ask_infusing = instruction.action is ManualAction.READ_STATUS

        def answered(answer: ManualAnswer | None) -> None:
            current = pump.pending
            if current is None or current.id != instruction.id:
                return  # superseded (STOP) or timed out: the pump recorded how it ended
            try:
                if answer is None:
                    pump.decline(instruction.id, nurse=nurse, reason="nurse could not do it")
                else:
                    pump.confirm(
                        instruction.id,
                        nurse=nurse,
                        displayed_rate_ml_per_h=answer.displayed_rate_ml_per_h,
                        infusing=answer.infusing,
                    )
            except KeyError:
                self.notify("That pump instruction is no longer pending.", severity="warning")

        self.push_screen(ManualPumpModal(instruction.text, ask_rate, ask_infusing), answered)

    def pump_text(self) -> str:
        """The pump line: kind, link and state as words and marks, never colour alone."""
        link = _LINK_MARK[self.pump_link]
        status = self.last_pump_status
        state = status.pump_state.value.upper() if status else "UNKNOWN"
        rate = (
            show_ml_per_h(status.rate_ml_per_h)
            if status and status.rate_ml_per_h is not None
            else "rate unknown"
        )
        problem = f" · {self.pump_problem}" if self.pump_problem else ""
        return f"PUMP ({self.services.pump_kind}) {link} · {state} · {rate}{problem}"

    def on_unmount(self) -> None:
        """Stop the pump worker (a manual instruction still waiting for the nurse is dropped)."""
        self._commands.put(None)
        if isinstance(self.pump, ManualPump):
            self.pump.close()  # supersedes a pending instruction; the worker would wait for it
