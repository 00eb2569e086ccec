"""TitratorApp: wiring only. Every decision comes from the session engine.

Flow: setup -> checklist -> pre-infusion documentation -> plan preview -> run -> summary. Each
input goes to the one engine feed (`TitratorApp.feed`: `InfusionController.feed`, that is the
engine, then the audit log, fsynced), then the released pump commands go to the one `PumpWorker`
thread, in order; what it learns comes back as messages, which `PumpLink` turns into engine inputs
on this thread. The run screen owns the nurse's keys and sees the app through `RunHost`; a manual
pump's instructions are shown by `ManualInstructions`. STOP (F9) is the app's priority binding: no
focused input can swallow it, and it works on every screen and inside every dialog.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import App
from textual.binding import Binding, BindingType

from titrator.audit.unfinished import find_unfinished
from titrator.domain.decisions import SessionState
from titrator.files.crash import crash_message, write_crash_file
from titrator.pump.base import EventKind, WireRecord
from titrator.pump.manual import ManualPump
from titrator.tui.manual_instructions import ManualInstructions
from titrator.tui.pump_link import PumpLink
from titrator.tui.pump_worker import PollFilter, PumpWorker
from titrator.tui.screens.setup import SetupScreen
from titrator.tui.ward_shipping import WardShipping

if TYPE_CHECKING:
    # Start-up (issue 17): only what the first screen needs is imported with the app; the
    # session engine, the audit writer's callers and the later screens load when first used.
    from titrator.domain.checklist import ItemAnswer
    from titrator.domain.clock import Instant
    from titrator.domain.events import InputEvent
    from titrator.domain.lot_scan import LotScan
    from titrator.domain.plan_model import Plan
    from titrator.domain.preinfusion import PreInfusion
    from titrator.domain.session.decision import Decision
    from titrator.domain.setup import InfusionSetup
    from titrator.shell.controller import Applied, InfusionController
    from titrator.tui.pump_worker import PumpConnected, PumpNotice, PumpResult, PumpWire
    from titrator.tui.reconnect import ReconnectDone
    from titrator.tui.screens.resume import ResumeChoice
    from titrator.tui.screens.setup import SetupResult
    from titrator.tui.services import AppServices
    from titrator.tui.training_cues import TrainingCues
    from titrator.tui.ward_shipping import ShippingNews


class TitratorApp(App[int]):
    """The nurse's app for one infusion.

    Args:
        services: everything it needs from outside (clock, pump factory, audit, library...).
    """

    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = False
    """No palette: nothing may change the rate except the confirmed paths on the run screen."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f9", "stop", "STOP", priority=True, id="stop", key_display="F9"),
    ]

    def __init__(self, services: AppServices) -> None:
        super().__init__()
        self.services = services
        self.controller: InfusionController | None = None
        self.decision: Decision | None = None
        self.plan: Plan | None = None
        self.setup: InfusionSetup | None = None
        self.checklist: tuple[ItemAnswer, ...] = ()
        self.scan: LotScan | None = None
        """The GS1 barcode the setup's lot was scanned from (None: typed)."""
        self.preinfusion: PreInfusion | None = None
        """The pre-infusion documentation (recorded right after the session opens)."""
        self.pump_worker = PumpWorker(self, services.clock)
        """The one thread that talks to the pump, and its command queue."""
        self.pump_link = PumpLink(self, self.pump_worker, services.pump_kind)
        """The pump as this thread knows it: the pump line, its news, the reconnect."""
        self.manual: ManualInstructions | None = None
        """A manual pump's instructions on screen (None for a pump with a link)."""
        self.cues: TrainingCues | None = None
        """A training scenario's cues (None outside training)."""
        self._early_wire: list[WireRecord] = []
        """Wire records that arrived before the audit log existed."""
        self._polls = PollFilter()
        self.ward_shipping = WardShipping(self, services.shipping)
        """Background shipping to the ward store (a quiet line on the summary, never a wait)."""

    # -- start-up ------------------------------------------------------------------------------

    def title_text(self) -> str:
        """The header title (TRAINING is marked everywhere in training)."""
        base = "titrator"
        if self.plan is not None and self.setup is not None:
            base += f" — {self.plan.product_name} · {self.setup.patient_id_1}"
        return f"TRAINING — {base} — TRAINING" if self.services.training else base

    def on_mount(self) -> None:
        """Build the pump, start its worker, and open the setup."""
        self.title = self.title_text()
        pump = self.pump_worker.start(self.services.pump_factory)
        if isinstance(pump, ManualPump):
            self.manual = ManualInstructions(self, pump, self._nurse, self.record_extra)
        if self.services.training_hooks is not None:
            from titrator.tui.training_cues import TrainingCues

            self.cues = TrainingCues(self, self.services.training_hooks)
        self.ward_shipping.start()
        if not self._offer_resume():
            self._open_setup()

    # -- resuming an unfinished session ----------------------------------------------------------

    def _offer_resume(self) -> bool:
        """Show the resume screen if there is something to resume; True when shown."""
        services = self.services
        wanted = services.resume_session_id
        if not services.offer_resume and wanted is None:
            return False
        sessions = find_unfinished(services.data_dir, key_file=services.key_file)
        if wanted is not None:
            sessions = [s for s in sessions if s.session_id == wanted]
        if not any(s.resumable for s in sessions):
            if wanted is not None:
                self.notify(f"Session {wanted} cannot be resumed.", severity="error")
            return False
        from titrator.tui.screens.resume import ResumeScreen

        screen = ResumeScreen(sessions, key_file=services.key_file, allow_new=wanted is None)
        self.push_screen(screen, self._resume_chosen)
        return True

    def _resume_chosen(self, choice: ResumeChoice | None) -> None:
        if choice is None:
            self._open_setup()
            return
        from titrator.audit.errors import AuditError
        from titrator.audit.reconstruct import ResumeError
        from titrator.shell.resume import resume_session
        from titrator.tui.screens.run import RunScreen

        services = self.services
        try:
            resumed = resume_session(
                choice.session_id,
                station_id=services.config.station_id,
                nurse_id=choice.nurse_id,
                data_dir=services.data_dir,
                key_file=services.key_file,
                clock=services.clock,
                detail=f"resumed by {choice.nurse_id} on {services.config.station_id}",
                sync_each_record=services.sync_each_record,
                spool_dir=services.spool_dir,
            )
        except (ResumeError, AuditError, OSError) as error:
            self.notify(f"Cannot resume {choice.session_id}: {error}", severity="error")
            if not self._offer_resume():
                self._open_setup()
            return
        opened = resumed.reconstructed.opened
        self.controller = resumed.controller
        self.plan, self.setup = opened.plan, opened.setup
        self.adopt(resumed.applied)  # its command: the status read (never a re-sent increase)
        self.push_screen(RunScreen())
        self.title = self.title_text()
        self.set_interval(1.0, self.tick)
        self.notify("Session resumed: reading the pump before anything else.", severity="warning")

    def _open_setup(self) -> None:
        defaults = dict(self.services.setup_defaults)
        if self.setup is not None:
            defaults = dict(self.setup.raw)
        hooks = self.services.training_hooks
        screen = SetupScreen(
            self.services.library.products,
            self.services.site,
            self.services.today(),
            initial=defaults,
            risks=hooks.risk_factors() if hooks is not None else (),
        )
        self.push_screen(screen, self._setup_done)
        if hooks is not None and self.setup is None:
            from titrator.tui.screens.text import TextScreen

            self.push_screen(TextScreen("Training briefing", hooks.briefing(), "Enter: to setup"))

    def _setup_done(self, result: SetupResult | None) -> None:
        if result is None:
            return
        from titrator.tui.screens.checklist import ChecklistScreen

        self.setup, self.plan, self.scan = result.setup, result.plan, result.scan
        self.push_screen(ChecklistScreen(), self._checklist_done)

    def _checklist_done(self, answers: tuple[ItemAnswer, ...] | None) -> None:
        if answers is None or self.plan is None or self.setup is None:
            return
        from titrator.tui.screens.preinfusion import PreInfusionScreen

        self.checklist = answers
        product = self.services.library.product(self.plan.product_id)
        screen = PreInfusionScreen(
            product,
            self.setup.lot,
            self.scan,
            self.services.today(),
            self.now,
            initial=self.services.setup_defaults,
            others=self.services.library.products.values(),
        )
        self.push_screen(screen, self._preinfusion_done)

    def _preinfusion_done(self, record: PreInfusion | None) -> None:
        if record is None or self.plan is None or self.setup is None:
            self._open_setup()  # Esc: back to the setup (another product or lot)
            return
        from titrator.tui.screens.preview import PlanPreviewScreen

        self.preinfusion = record
        product = self.services.library.product(self.plan.product_id)
        preview = PlanPreviewScreen(self.plan, product, self.setup.first_infusion_reasons)
        self.push_screen(preview, self._preview_done)

    def _preview_done(self, confirmed: bool | None) -> None:
        if not confirmed:
            self._open_setup()  # with the values typed before; the checklist is asked again
            return
        # Start after the preview has finished closing (its dismissal is still in progress).
        self.call_after_refresh(self.start_session)

    def start_session(self) -> None:
        """Open the audit log and the session, record setup and checklist, show the run screen."""
        from titrator.domain.session.engine import InfusionSession
        from titrator.shell.controller import InfusionController, wire_record
        from titrator.shell.opening import Opening, open_session
        from titrator.tui.screens.run import RunScreen

        assert self.plan is not None
        assert self.setup is not None
        now = self.services.clock.now()
        session_id = self.services.session_id(now.wall_utc)
        writer = self.services.open_audit(session_id, self.setup.nurse_id)
        session = InfusionSession(self.plan, self.services.policy, session_id)
        controller = self.controller = InfusionController(session, writer)
        hooks = self.services.training_hooks
        if hooks is not None:
            self.setup = hooks.mark_setup(self.setup)

        def attach(at: Instant) -> None:
            if hooks is not None:
                hooks.attach(controller, at)
            for record in self._early_wire:
                controller.record_extra(wire_record(record), at)
            self._early_wire.clear()

        open_session(
            controller,
            self.feed,
            self.services.clock,
            Opening(
                policy_sha256=self.services.policy_sha256,
                library_sha256=self.services.library.sha256.get(self.plan.product_id, ""),
                setup=self.setup,
                training=self.services.training,
            ),
            checklist=self.checklist,
            attach=attach,
            preinfusion=self.preinfusion,
        )
        self.push_screen(RunScreen())
        self.title = self.title_text()
        self.set_interval(1.0, self.tick)

    # -- feeding the engine --------------------------------------------------------------------

    def now(self) -> Instant:
        """The clock's current instant."""
        return self.services.clock.now()

    def feed(self, event: InputEvent) -> Decision:
        """Feed one input: engine, audit log, then queue the released pump commands."""
        assert self.controller is not None
        applied = self.controller.feed(event)
        self.adopt(applied)
        self._log_events(applied.decision)
        if self.cues is not None:
            self.cues.after(applied.decision, self.now())
        if applied.audit_error:
            self.notify(f"Audit log write failed: {applied.audit_error}", severity="error")
        self.refresh_run()
        ended = applied.decision.state in (SessionState.CLOSED, SessionState.ABORTED)
        if ended and self.controller.head is not None:
            self._show_summary()
        return applied.decision

    def submit(self, event: InputEvent) -> str | None:
        """Feed an input from a dialog; the engine's refusal reason, or None if accepted."""
        return self.feed(event).refusal

    def adopt(self, applied: Applied) -> None:
        """Take an applied decision: it is the latest, and its commands go to the pump worker.

        `feed` adopts each decision it gets; so do a resume, a retried audit log and a failed
        record, whose audit events are already written.
        """
        self.decision = applied.decision
        self.pump_worker.send(applied.commands)

    def tick(self) -> None:
        """Let time pass: retry a failing audit log, then feed a Tick at the clock's time.

        Runs every second on a timer; tests that move a `ManualClock` call it directly.
        """
        if self.controller is None:
            return
        now = self.now()
        recovered = self.controller.retry_audit(now)
        if recovered is not None:
            self.adopt(recovered)
        from titrator.domain.events import Tick

        self.feed(Tick(at=now))
        if self.cues is not None:
            self.cues.tick(now)

    def refresh_run(self) -> None:
        """Redraw the run screen, on top or under a dialog (when there is one)."""
        from titrator.tui.screens.run import RunScreen

        if isinstance(self.screen, RunScreen):
            self.screen.refresh_view()
        else:
            for screen in self.screen_stack:
                if isinstance(screen, RunScreen):
                    screen.refresh_view()

    def audit_notice(self) -> str:
        """While the audit log cannot be written: where the records are, and paper ('' else)."""
        from titrator.shell.paper import paper_notice

        return paper_notice(self.controller.audit if self.controller is not None else None)

    def _log_events(self, decision: Decision) -> None:
        from titrator.tui.screens.run import RunScreen

        runs = [s for s in self.screen_stack if isinstance(s, RunScreen)]
        if runs and runs[0].is_mounted:
            runs[0].log_events(decision, self.now())

    # -- the pump worker's messages (`PumpLink` turns them into engine inputs) ------------------

    def on_pump_connected(self, message: PumpConnected) -> None:
        """The start-up connect ended: the pump line shows how."""
        self.pump_link.on_connected(message)

    def on_pump_result(self, message: PumpResult) -> None:
        """A pump command's outcome: fed to the engine."""
        self.pump_link.on_result(message)

    def on_pump_notice(self, message: PumpNotice) -> None:
        """An adapter event: a link change or alarm for the engine, a manual instruction shown."""
        self.pump_link.on_notice(message.event)
        if message.event.kind is EventKind.INSTRUCTION and self.manual is not None:
            self.manual.show()

    def on_reconnect_done(self, message: ReconnectDone) -> None:
        """A reconnect attempt ended: recorded and shown; on success the engine reads the pump."""
        self.pump_link.on_reconnect_done(message)

    def on_pump_wire(self, message: PumpWire) -> None:
        """Record bytes on the wire in the audit log (kept until the log exists).

        Repeated identical keepalive polls are left out (`PollFilter`).
        """
        if not self._polls.worth_recording(message.record):
            return
        if self.controller is None:
            self._early_wire.append(message.record)
            return
        from titrator.shell.controller import wire_record

        self.record_extra(wire_record(message.record))

    def record_extra(self, record: dict[str, Any]) -> None:
        """Record something that is not an engine event (wire bytes, a manual pump answer).

        A failed write is taken like any decision: the engine is told the log is failing, its
        decision is adopted, and the nurse sees it.
        """
        if self.controller is None:
            return
        applied = self.controller.record_extra(record, self.now())
        if applied is None:
            return
        self.adopt(applied)
        self.notify(f"Audit log write failed: {applied.audit_error}", severity="error")
        self.refresh_run()

    # -- STOP, quitting, the end ---------------------------------------------------------------

    def action_stop(self) -> None:
        """STOP: accepted in every state, recorded; before a session there is nothing to stop.

        A rate change on screen is void once STOP is pressed, and a manual-pump instruction
        the nurse has not answered is superseded, so the stop does not wait behind it.
        """
        if self.controller is None:
            self.notify("No infusion has started: nothing to stop.", severity="warning")
            return
        from titrator.domain.events import StopRequested
        from titrator.tui.dialogs.rate_confirm import RateConfirmModal

        if isinstance(self.screen, RateConfirmModal):
            self.screen.dismiss(False)
        if self.manual is not None:
            self.manual.supersede()
        self.feed(StopRequested(at=self.now(), reason="STOP key (F9)"))
        self.notify("STOP recorded: the pump is being stopped.", severity="error")

    def _nurse(self) -> str:
        """Who answers a manual pump's instructions: the setup's nurse."""
        return self.setup.nurse_id if self.setup else "nurse"

    @property
    def infusion_active(self) -> bool:
        """A session is open and not yet closed or aborted."""
        return self.decision is not None and self.decision.state not in (
            SessionState.CLOSED,
            SessionState.ABORTED,
        )

    async def action_quit(self) -> None:
        """Quit; while an infusion is active, only after a deliberate confirmation.

        Never while records are held only in memory (the log and the spool both failing):
        quitting would lose them.
        """
        from titrator.shell.paper import held_in_memory

        if self.controller is not None and held_in_memory(self.controller.audit):
            recovered = self.controller.retry_audit(self.now())  # one more try first
            if recovered is not None:
                self.adopt(recovered)
            held = held_in_memory(self.controller.audit)
            if held:
                self.notify(
                    f"Cannot quit: {held} audit record(s) are held in memory only (the log and "
                    "the spool cannot be written); quitting would lose them. Free disk space. "
                    "Document on paper meanwhile.",
                    severity="error",
                )
                return
        if not self.infusion_active:
            self.exit(0)
            return

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.exit(3)  # unfinished: `titrator resume` picks it up

        from titrator.tui.dialogs.quit import QuitFacts, QuitModal

        assert self.controller is not None
        session = self.controller.session
        facts = QuitFacts(
            pump_kind=self.services.pump_kind,
            started=session.infusion_started,
            start_pending=session.start_pending,
            rate_ml_per_h=session.rate_ml_per_h,
            link=session.link,
        )
        self.push_screen(QuitModal(facts), answered)

    def _show_summary(self) -> None:
        from titrator.tui.screens.summary import SummaryScreen
        from titrator.tui.screens.text import TextScreen

        assert self.controller is not None
        assert self.plan is not None
        if any(isinstance(s, SummaryScreen) for s in self.screen_stack):
            return
        audit = self.controller.audit
        path = str(getattr(audit, "path", ""))
        discharge = self.controller.session.policy.discharge
        session_id = self.controller.session.session_id
        shipping = self.ward_shipping.closed(session_id, Path(path), self.controller.head)
        head = self.controller.head
        self.push_screen(SummaryScreen(self.plan, self.decision, head, path, discharge, shipping))
        hooks = self.services.training_hooks
        if hooks is not None and path:
            log = Path(path)
            text = hooks.debrief_text(log, log.with_suffix(".debrief.html"))
            self.push_screen(TextScreen("Debrief (TRAINING)", text, "Enter: to the summary"))

    def on_shipping_news(self, message: ShippingNews) -> None:
        """The shipping thread's news: the summary's ward-store line, nothing else."""
        from titrator.tui.screens.summary import SummaryScreen

        line = self.ward_shipping.line_for(message.news)
        if self.controller is not None and message.news.session_id == (
            self.controller.session.session_id
        ):
            for screen in self.screen_stack:
                if isinstance(screen, SummaryScreen):
                    screen.show_ward_store(line)

    def on_unmount(self) -> None:
        """Stop the pump worker (a manual instruction still waiting for the nurse is dropped).

        Background shipping is asked to stop and never waited for.
        """
        self.pump_worker.close()
        self.ward_shipping.stop()

    # -- an unexpected error: a short notice, the traceback (no locals) in a private file -------

    crash_notice: str | None = None
    """Set when the app stopped on an unexpected error: what is printed instead of a traceback."""

    def _handle_exception(self, error: Exception) -> None:
        if self.crash_notice is None:
            session = self.controller.session.session_id if self.controller else None
            self.crash_notice = crash_message("titrator", write_crash_file(error), error, session)
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        """Exit with the crash notice (textual's own traceback would print local variables)."""
        self.bell()
        self.panic(Text(self.crash_notice or "titrator: error: stopped on an unexpected error"))
