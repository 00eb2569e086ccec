"""The app's side of the pump: one worker thread, messages back to the UI, the pump line.

The worker connects, then sends the engine's commands one at a time, in order, for the life of
the app; each result comes back as a message and is fed to the engine on the UI thread (stamped
when it is fed, so time never runs backwards). Adapter hooks (wire bytes, link changes, alarms,
manual instructions) may fire on the adapter's threads; they only post messages. After a lost
link the nurse's reconnect request goes through the same queue (`titrator.tui.reconnect`).
"""

from __future__ import annotations

import queue

from textual import work
from textual.app import App
from textual.message import Message

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
from titrator.shell.controller import (
    STATE_NEWS,
    InfusionController,
    execute_command,
    link_input,
    state_input,
    wire_record,
)
from titrator.tui.dialogs.manual_pump import ManualAnswer, ManualPumpModal
from titrator.tui.reconnect import (
    Outcome,
    ReconnectDone,
    ReconnectRequest,
    attempt,
    reconnect_record,
)
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
    decision: Decision | None
    setup: InfusionSetup | None
    pump: PumpAdapter | None
    pump_link: LinkState
    pump_problem: str
    last_pump_status: PumpStatus | None
    _commands: queue.Queue[PumpCommand | ReconnectRequest | None]
    _reconnecting: bool
    """A reconnect request is queued or under way (one at a time)."""
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
            item = self._commands.get()
            if item is None:
                return
            if isinstance(item, ReconnectRequest):
                self.post_message(attempt(pump, item))
                continue
            inputs, status = execute_command(pump, item, self.now())
            self.post_message(PumpResult(inputs, pump.link_state, status))

    def on_pump_result(self, message: PumpResult) -> None:
        """Feed a pump command's outcome (stamped now).

        An adapter left without a link (its reconnect failed, or it never connected) fails
        every command with "not connected": for the engine that is a lost link, so the nurse
        is offered the reconnect rather than left with a status read that can never come.
        """
        self.pump_link = message.link
        if message.status is not None:
            self.last_pump_status = message.status
        for event in message.inputs:
            self.feed(self._restamped(event))
        unlinked = message.link in (LinkState.LOST, LinkState.DISCONNECTED)
        if unlinked and self._reconnectable() and not self._engine_link_lost():
            detail = f"the pump adapter is {message.link.value}: only a reconnect brings it back"
            self.feed(PumpLinkChanged(at=self.now(), up=False, detail=detail))

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
            # While the engine's link is lost it refuses a status read (an alarm seen while
            # reconnecting): the read that follows the reconnect says what the pump does.
            if read is not None and not self._engine_link_lost():
                self.feed(read)
        self._refresh_run()

    def _link_news(self, link: InputEvent) -> bool:
        """Whether a link change is news to the engine.

        The adapter reports "connected" whenever its link settles, also after a status read has
        resolved UNCERTAIN; the engine only expects "link back" after it was told it was lost.
        """
        return isinstance(link, PumpLinkChanged) and link.up == self._engine_link_lost()

    def _engine_link_lost(self) -> bool:
        return self.controller is not None and self.controller.session.link is EngineLink.LOST

    # -- reconnecting after a lost link (the nurse's key on the run screen) ----------------------

    def _reconnectable(self) -> bool:
        """A session is open on a pump with a link (serial or simulator; not the manual pump)."""
        return (
            self.controller is not None
            and self.pump is not None
            and not isinstance(self.pump, ManualPump)
        )

    def reconnect_refusal(self) -> str | None:
        """Why the nurse cannot ask for a reconnect now; None when it is on offer."""
        if not self._reconnectable():
            if isinstance(self.pump, ManualPump):
                return "The manual pump has no link to reconnect."
            return "No infusion has started: there is no pump link to reconnect."
        if self._reconnecting:
            return "A reconnect is already under way: wait for its result."
        if not self._engine_link_lost():
            assert self.controller is not None
            link = self.controller.session.link.value.upper()
            return f"The pump link is not lost (it is {link}): there is nothing to reconnect."
        return None

    def reconnect_key(self) -> bool:
        """Whether the run screen's reconnect key is live (a refused press still says why)."""
        return self.reconnect_refusal() is None

    def reconnect_hint(self) -> str:
        """What the nurse should do about a lost link ('' when the link is not lost)."""
        if self._reconnecting:
            return "PUMP ▶ reconnecting… titrator reads the pump before it sends anything else."
        if self.reconnect_refusal() is not None:
            return ""
        again = "try again" if self.pump_problem.startswith("reconnect failed") else "reconnect"
        return (
            f"PUMP LINK LOST ▶ check the pump and its cable, then press c to {again}; "
            "titrator reads the pump before it sends anything else."
        )

    def request_reconnect(self) -> None:
        """The nurse's reconnect key: queue one attempt for the pump worker, or say why not."""
        nurse = self._nurse()
        refusal = self.reconnect_refusal()
        if refusal is not None:
            self._record_reconnect(nurse, "refused", refusal)
            self.notify(refusal, severity="warning")
            return
        self._reconnecting = True
        self._record_reconnect(nurse, "requested", f"adapter link {self.pump_link.value}")
        self.pump_problem = "reconnecting…"
        self._commands.put(ReconnectRequest(nurse))
        self.notify("Reconnecting to the pump: it is read before anything else is sent.")
        self._refresh_run()

    def on_reconnect_done(self, message: ReconnectDone) -> None:
        """Record how the attempt ended and show it.

        On success the engine has been told the link is back (by the adapter's link event, or
        here when the adapter sent none) and its status read decides what the pump is doing.
        """
        self._reconnecting = False
        self.pump_link = message.link
        self._record_reconnect(
            message.requester, "connected" if message.ok else "failed", message.detail
        )
        if not message.ok:
            self.pump_problem = f"reconnect failed: {message.detail}"
            self.notify(
                f"Reconnect failed: {message.detail}\nThe link is still lost: check the pump "
                "and its cable, then press c to try again.",
                severity="error",
                timeout=20,
            )
            self._refresh_run()
            return
        self.pump_problem = ""
        if message.status is not None:
            self.last_pump_status = message.status
        self.notify("Pump reconnected: reading its status before anything else.")
        if self._engine_link_lost() and message.link is LinkState.CONNECTED:
            # The adapter connected without reporting it (its link-changed event is what
            # normally tells the engine): tell the engine now, so it asks for the status read.
            self.feed(PumpLinkChanged(at=self.now(), up=True, detail="reconnected"))
        self._refresh_run()

    def _nurse(self) -> str:
        """Who is signed in: the audit writer's nurse (also after a resume), else the setup's."""
        audit = self.controller.audit if self.controller is not None else None
        nurse = getattr(audit, "nurse_id", None)
        if isinstance(nurse, str) and nurse:
            return nurse
        return self.setup.nurse_id if self.setup is not None else "nurse"

    def _record_reconnect(self, requester: str, outcome: Outcome, detail: str) -> None:
        if self.controller is None:
            return
        record = reconnect_record(requester, outcome, detail)
        applied = self.controller.record_extra(record, self.now())
        if applied is None:
            return
        self.decision = applied.decision  # the log failed: the engine now blocks increases
        for command in applied.commands:
            self._commands.put(command)
        self.notify(f"Audit log write failed: {applied.audit_error}", severity="error")

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
