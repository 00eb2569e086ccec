"""The pump as the app knows it, on the UI thread: the pump line, its news, and reconnecting.

`PumpLink` takes what the pump worker (`titrator.tui.pump_worker`) posts and turns it into
engine inputs: a command's outcome (stamped when it is fed), a link change or an alarm reported
by the adapter, and how a reconnect ended. It keeps what the adapter last said (link, state,
rate, a problem) for the run screen's pump line, and it takes the nurse's reconnect request
after a lost link (`titrator.tui.reconnect`): one attempt at a time, queued for the worker like
a command, every request, refusal and outcome recorded in the audit log.

It reaches the engine through the app's narrow `Engine` interface; it never touches the pump.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from textual.notifications import SeverityLevel

from titrator.domain.decisions import LinkState as EngineLink
from titrator.domain.units import show_ml_per_h
from titrator.pump.base import EventKind, PumpEvent, PumpLinkState, PumpStatus
from titrator.pump.manual import ManualPump
from titrator.tui.engine_feed import EngineFeed
from titrator.tui.pump_worker import PumpConnected, PumpResult, PumpWorker
from titrator.tui.reconnect import Outcome, ReconnectDone, reconnect_record

if TYPE_CHECKING:
    # The engine's inputs and the controller load with the session (issue 17, start-up): a
    # link change before a session opens is only shown, never fed.
    from titrator.domain.events import InputEvent
    from titrator.domain.setup import InfusionSetup
    from titrator.shell.controller import Applied

_LINK_MARK = {
    PumpLinkState.CONNECTED: "● CONNECTED",
    PumpLinkState.UNCERTAIN: "▲ UNCERTAIN",
    PumpLinkState.LOST: "✗ LINK LOST",
    PumpLinkState.DISCONNECTED: "○ NOT CONNECTED",
}


class Engine(EngineFeed, Protocol):
    """What `PumpLink` needs of the app: the session, the one engine feed and the screen."""

    @property
    def setup(self) -> InfusionSetup | None:
        """The setup (who the nurse is, when the log does not say)."""
        ...

    def adopt(self, applied: Applied) -> None:
        """Take a decision and commands that did not come from `feed` (a failed record)."""
        ...

    def refresh_run(self) -> None:
        """Redraw the run screen."""
        ...

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
    ) -> None:
        """Show a notice."""
        ...


class PumpLink:
    """What the adapter last said, what it means for the engine, and the nurse's reconnect.

    Args:
        engine: the app, seen through `Engine`.
        worker: the pump worker (reconnect requests go on its queue).
        pump_kind: "manual", "serial" or "simulator", shown on the pump line.
    """

    def __init__(self, engine: Engine, worker: PumpWorker, pump_kind: str) -> None:
        self._engine = engine
        self._worker = worker
        self._pump_kind = pump_kind
        self.link = PumpLinkState.DISCONNECTED
        """The adapter's link state, as last reported."""
        self.problem = ""
        """What went wrong connecting ('' when nothing did), shown on the pump line."""
        self.last_status: PumpStatus | None = None
        """The pump's status, as last reported."""
        self.reconnecting = False
        """A reconnect request is queued or under way (one at a time)."""

    # -- the worker's messages ------------------------------------------------------------------

    def on_connected(self, message: PumpConnected) -> None:
        """Keep how the start-up connect ended (the pump line shows it).

        The adapter's own events while connecting (its link coming up, with nothing read yet)
        were posted before this message: the connect's link state and its status read come
        after them and stand (a status the connect did not read leaves the last one shown).
        """
        self.link = message.link
        if message.status is not None:
            self.last_status = message.status
        if message.problem:
            self.problem = message.problem

    def on_result(self, message: PumpResult) -> None:
        """Feed a pump command's outcome (stamped now).

        An adapter left without a link (its reconnect failed, or it never connected) fails
        every command with "not connected": for the engine that is a lost link, so the nurse
        is offered the reconnect rather than left with a status read that can never come.
        """
        engine = self._engine
        self.link = message.link
        if message.status is not None:
            self.last_status = message.status
        for event in message.inputs:
            engine.feed(event.model_copy(update={"at": engine.now()}))
        from titrator.domain.events import PumpLinkChanged

        unlinked = message.link in (PumpLinkState.LOST, PumpLinkState.DISCONNECTED)
        if unlinked and self._reconnectable() and not self._engine_link_lost():
            detail = f"the pump adapter is {message.link.value}: only a reconnect brings it back"
            engine.feed(PumpLinkChanged(at=engine.now(), up=False, detail=detail))

    def on_notice(self, event: PumpEvent) -> None:
        """Link changes and alarms reach the engine at once (a manual instruction is the app's).

        An alarm, the end of the VTBI or a change at the keypad is shown and fed as the status
        read it amounts to; a link change is fed when it is news to the engine.
        """
        engine = self._engine
        self.link = event.status.link_state
        self.last_status = event.status
        if event.kind is EventKind.INSTRUCTION:
            return
        if engine.controller is None:
            engine.refresh_run()
            return
        from titrator.shell.controller import STATE_NEWS, link_input, state_input

        link = link_input(event, engine.now())
        if link is not None and self._link_news(link):
            engine.feed(link)
        elif event.kind in STATE_NEWS:
            engine.notify(f"PUMP: {event.detail}", severity="error")
            read = state_input(event, engine.now())
            # While the engine's link is lost it refuses a status read (an alarm seen while
            # reconnecting): the read that follows the reconnect says what the pump does.
            if read is not None and not self._engine_link_lost():
                engine.feed(read)
        engine.refresh_run()

    def on_reconnect_done(self, message: ReconnectDone) -> None:
        """Record how the attempt ended and show it.

        On success the engine has been told the link is back (by the adapter's link event, or
        here when the adapter sent none) and its status read decides what the pump is doing.
        """
        engine = self._engine
        self.reconnecting = False
        self.link = message.link
        self._record(message.requester, "connected" if message.ok else "failed", message.detail)
        if not message.ok:
            self.problem = f"reconnect failed: {message.detail}"
            engine.notify(
                f"Reconnect failed: {message.detail}\nThe link is still lost: check the pump "
                "and its cable, then press c to try again.",
                severity="error",
                timeout=20,
            )
            engine.refresh_run()
            return
        self.problem = ""
        if message.status is not None:
            self.last_status = message.status
        engine.notify("Pump reconnected: reading its status before anything else.")
        if self._engine_link_lost() and message.link is PumpLinkState.CONNECTED:
            # The adapter connected without reporting it (its link-changed event is what
            # normally tells the engine): tell the engine now, so it asks for the status read.
            from titrator.domain.events import PumpLinkChanged

            engine.feed(PumpLinkChanged(at=engine.now(), up=True, detail="reconnected"))
        engine.refresh_run()

    def _link_news(self, link: InputEvent) -> bool:
        """Whether a link change is news to the engine.

        The adapter reports "connected" whenever its link settles, also after a status read has
        resolved UNCERTAIN; the engine only expects "link back" after it was told it was lost.
        """
        from titrator.domain.events import PumpLinkChanged

        return isinstance(link, PumpLinkChanged) and link.up == self._engine_link_lost()

    def _engine_link_lost(self) -> bool:
        controller = self._engine.controller
        return controller is not None and controller.session.link is EngineLink.LOST

    # -- what the run screen shows and asks -----------------------------------------------------

    def pump_text(self) -> str:
        """The pump line: kind, link and state as words and marks, never colour alone.

        A manual pump has no link: it says so, and shows only what the nurse last confirmed
        (UNCERTAIN while what she read back is not what was ordered). A pump that is not
        infusing delivers 0 mL/h, as the session says; the rate it is set to is shown beside.
        """
        status = self.last_status
        if self._is_manual():
            head = "PUMP MANUAL (no link)"
            if self.link is PumpLinkState.UNCERTAIN:
                head += " · ▲ UNCERTAIN"
            if status is None or status.rate_ml_per_h is None:
                return f"{head} · nothing confirmed yet"
        else:
            head = f"PUMP ({self._pump_kind}) {_LINK_MARK[self.link]}"
        problem = f" · {self.problem}" if self.problem else ""
        if status is None:
            return f"{head} · state unknown{problem}"
        state = status.pump_state.value.upper()
        rate = status.rate_ml_per_h
        if status.infusing:
            shown = show_ml_per_h(rate) if rate is not None else "rate unknown"
        else:
            set_to = f" (set to {show_ml_per_h(rate)})" if rate else ""
            shown = f"not infusing · {show_ml_per_h(Decimal(0))}{set_to}"
        return f"{head} · {state} · {shown}{problem}"

    def _is_manual(self) -> bool:
        return isinstance(self._worker.pump, ManualPump) or self._pump_kind == "manual"

    def _reconnectable(self) -> bool:
        """A session is open on a pump with a link (serial or simulator; not the manual pump)."""
        pump = self._worker.pump
        return (
            self._engine.controller is not None
            and pump is not None
            and not isinstance(pump, ManualPump)
        )

    def reconnect_refusal(self) -> str | None:
        """Why the nurse cannot ask for a reconnect now; None when it is on offer."""
        controller = self._engine.controller
        if not self._reconnectable():
            if isinstance(self._worker.pump, ManualPump):
                return "The manual pump has no link to reconnect."
            return "No infusion has started: there is no pump link to reconnect."
        if self.reconnecting:
            return "A reconnect is already under way: wait for its result."
        if not self._engine_link_lost():
            assert controller is not None
            link = controller.session.link.value.upper()
            return f"The pump link is not lost (it is {link}): there is nothing to reconnect."
        return None

    def reconnect_hint(self) -> str:
        """What the nurse should do about a lost link ('' when the link is not lost)."""
        if self.reconnecting:
            return "PUMP ▶ reconnecting… titrator reads the pump before it sends anything else."
        if self.reconnect_refusal() is not None:
            return ""
        again = "try again" if self.problem.startswith("reconnect failed") else "reconnect"
        return (
            f"PUMP LINK LOST ▶ check the pump and its cable, then press c to {again}; "
            "titrator reads the pump before it sends anything else."
        )

    def request_reconnect(self) -> None:
        """The nurse's reconnect key: queue one attempt for the pump worker, or say why not."""
        engine = self._engine
        nurse = self._nurse()
        refusal = self.reconnect_refusal()
        if refusal is not None:
            self._record(nurse, "refused", refusal)
            engine.notify(refusal, severity="warning")
            return
        self.reconnecting = True
        self._record(nurse, "requested", f"adapter link {self.link.value}")
        self.problem = "reconnecting…"
        self._worker.reconnect(nurse)
        engine.notify("Reconnecting to the pump: it is read before anything else is sent.")
        engine.refresh_run()

    def _nurse(self) -> str:
        """Who is signed in: the audit writer's nurse (also after a resume), else the setup's."""
        controller = self._engine.controller
        audit: Any = controller.audit if controller is not None else None
        nurse = getattr(audit, "nurse_id", None)
        if isinstance(nurse, str) and nurse:
            return nurse
        setup = self._engine.setup
        return setup.nurse_id if setup is not None else "nurse"

    def _record(self, requester: str, outcome: Outcome, detail: str) -> None:
        """Record one reconnect step; a failed write is taken like any decision."""
        engine = self._engine
        controller = engine.controller
        if controller is None:
            return
        record = reconnect_record(requester, outcome, detail)
        applied = controller.record_extra(record, engine.now())
        if applied is None:
            return
        engine.adopt(applied)  # the log failed: the engine now blocks increases
        engine.notify(f"Audit log write failed: {applied.audit_error}", severity="error")
