"""TitratorApp: wiring only. Every decision comes from the session engine.

Flow: setup -> checklist -> plan preview -> run -> summary. Each input goes to
`InfusionController.feed` (engine, then the audit log, fsynced), then the released pump commands
go to one pump worker thread, in order; their results come back as messages and are fed in turn.
STOP (F9) is a priority binding: no focused input can swallow it, and it works on every screen.
"""

from __future__ import annotations

import queue
from pathlib import Path
from typing import ClassVar

from textual.binding import Binding, BindingType

from titrator.audit.errors import AuditError
from titrator.audit.reconstruct import ResumeError
from titrator.audit.unfinished import find_unfinished
from titrator.domain.checklist import ItemAnswer
from titrator.domain.clock import Instant
from titrator.domain.decisions import (
    Decision,
    PumpCommand,
    SessionState,
)
from titrator.domain.events import (
    ChecklistAnswered,
    InputEvent,
    SessionOpened,
    Tick,
)
from titrator.domain.plan_model import Plan
from titrator.domain.session.engine import InfusionSession
from titrator.domain.setup import InfusionSetup
from titrator.pump.base import (
    Direction,
    LinkState,
    PumpAdapter,
    PumpStatus,
    WireRecord,
)
from titrator.shell.controller import InfusionController, wire_record
from titrator.shell.resume import resume_session
from titrator.tui.dialogs.quit import QuitModal
from titrator.tui.nurse_actions import NurseActions
from titrator.tui.reconnect import ReconnectRequest
from titrator.tui.screens.checklist import ChecklistScreen
from titrator.tui.screens.preview import PlanPreviewScreen
from titrator.tui.screens.resume import ResumeChoice, ResumeScreen
from titrator.tui.screens.run import RunScreen, describe_event
from titrator.tui.screens.setup import SetupResult, SetupScreen
from titrator.tui.screens.summary import SummaryScreen
from titrator.tui.screens.text import TextScreen
from titrator.tui.services import AppServices


class TitratorApp(NurseActions):
    """The nurse's app for one infusion."""

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
        self.pump: PumpAdapter | None = None
        self.pump_link = LinkState.DISCONNECTED
        self.pump_problem = ""
        self.last_pump_status: PumpStatus | None = None
        self._commands: queue.Queue[PumpCommand | ReconnectRequest | None] = queue.Queue()
        self._reconnecting = False
        self._early_wire: list[WireRecord] = []
        self._last_poll: dict[Direction, str] = {}
        self._complaints = ""

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
        self.pump = self.services.pump_factory(self._on_wire, self._on_pump_event)
        self._pump_worker()
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
        screen = ResumeScreen(sessions, key_file=services.key_file, allow_new=wanted is None)
        self.push_screen(screen, self._resume_chosen)
        return True

    def _resume_chosen(self, choice: ResumeChoice | None) -> None:
        if choice is None:
            self._open_setup()
            return
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
            )
        except (ResumeError, AuditError, OSError) as error:
            self.notify(f"Cannot resume {choice.session_id}: {error}", severity="error")
            if not self._offer_resume():
                self._open_setup()
            return
        opened = resumed.reconstructed.opened
        self.controller = resumed.controller
        self.plan, self.setup = opened.plan, opened.setup
        self.decision = resumed.applied.decision
        for command in resumed.applied.commands:  # the status read (never a re-sent increase)
            self._commands.put(command)
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
            self.push_screen(TextScreen("Training briefing", hooks.briefing(), "Enter: to setup"))

    def _setup_done(self, result: SetupResult | None) -> None:
        if result is None:
            return
        self.setup, self.plan = result.setup, result.plan
        self.push_screen(ChecklistScreen(), self._checklist_done)

    def _checklist_done(self, answers: tuple[ItemAnswer, ...] | None) -> None:
        if answers is None or self.plan is None or self.setup is None:
            return
        self.checklist = answers
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
        assert self.plan is not None
        assert self.setup is not None
        now = self.services.clock.now()
        session_id = self.services.session_id(now.wall_utc)
        writer = self.services.open_audit(session_id, self.setup.nurse_id)
        session = InfusionSession(self.plan, self.services.policy, session_id)
        self.controller = InfusionController(session, writer)
        hooks = self.services.training_hooks
        if hooks is not None:
            self.setup = hooks.mark_setup(self.setup)
        library = self.services.library
        self.feed(
            SessionOpened(
                at=now,
                session_id=session_id,
                plan=self.plan,
                policy=self.services.policy,
                policy_sha256=self.services.policy_sha256,
                library_sha256=library.sha256.get(self.plan.product_id, ""),
                setup=self.setup,
            )
        )
        if hooks is not None:
            hooks.attach(self.controller, now)
        for record in self._early_wire:
            self.controller.record_extra(wire_record(record), now)
        self._early_wire.clear()
        self.feed(ChecklistAnswered(at=self.services.clock.now(), answers=self.checklist))
        self.push_screen(RunScreen())
        self.title = self.title_text()
        self.set_interval(1.0, self.tick)

    # -- feeding the engine --------------------------------------------------------------------

    def feed(self, event: InputEvent) -> Decision:
        """Feed one input: engine, audit log, then queue the released pump commands."""
        assert self.controller is not None
        applied = self.controller.feed(event)
        self.decision = applied.decision
        for command in applied.commands:
            self._commands.put(command)
        self._log_events(applied.decision)
        hooks = self.services.training_hooks
        if hooks is not None:
            self._cues(hooks.on_decision(applied.decision, self.now()))
        if applied.audit_error:
            self.notify(f"Audit log write failed: {applied.audit_error}", severity="error")
        self._refresh_run()
        ended = applied.decision.state in (SessionState.CLOSED, SessionState.ABORTED)
        if ended and self.controller.head is not None:
            self._show_summary()
        return applied.decision

    def tick(self) -> None:
        """Let time pass: retry a failing audit log, then feed a Tick at the clock's time.

        Runs every second on a timer; tests that move a `ManualClock` call it directly.
        """
        if self.controller is None:
            return
        now = self.now()
        recovered = self.controller.retry_audit(now)
        if recovered is not None:
            self.decision = recovered.decision
            for command in recovered.commands:
                self._commands.put(command)
        self.feed(Tick(at=now))
        self._training_tick(now)

    def _cues(self, notices: list[str]) -> None:
        """Training: show bedside cues (a beeping pump, a new bag) as the trainee would see them."""
        for notice in notices:
            self.notify(notice, title="TRAINING", severity="warning", timeout=15)

    def _training_tick(self, now: Instant) -> None:
        hooks = self.services.training_hooks
        if hooks is None:
            return
        self._cues(hooks.tick(now))
        said = " ".join(hooks.complaints())
        if said != self._complaints:
            self._complaints = said
            if said:
                self.notify(f"The patient says: {said}", title="TRAINING", timeout=20)

    def _refresh_run(self) -> None:
        if isinstance(self.screen, RunScreen):
            self.screen.refresh_view()
        else:
            for screen in self.screen_stack:
                if isinstance(screen, RunScreen):
                    screen.refresh_view()

    def _log_events(self, decision: Decision) -> None:
        runs = [s for s in self.screen_stack if isinstance(s, RunScreen)]
        if not runs or not runs[0].is_mounted:
            return
        clock_text = self.now().wall_utc.astimezone().strftime("%H:%M:%S")
        for event in decision.events:
            line = describe_event(event)
            if line:
                runs[0].log_line(f"{clock_text} {line}")

    @property
    def infusion_active(self) -> bool:
        """A session is open and not yet closed or aborted."""
        return self.decision is not None and self.decision.state not in (
            SessionState.CLOSED,
            SessionState.ABORTED,
        )

    async def action_quit(self) -> None:
        """Quit; while an infusion is active, only after a deliberate confirmation."""
        if not self.infusion_active:
            self.exit(0)
            return

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.exit(3)  # unfinished: `titrator resume` picks it up

        self.push_screen(QuitModal(self.services.pump_kind), answered)

    def _show_summary(self) -> None:
        assert self.controller is not None
        assert self.plan is not None
        if any(isinstance(s, SummaryScreen) for s in self.screen_stack):
            return
        audit = self.controller.audit
        path = str(getattr(audit, "path", ""))
        self.push_screen(SummaryScreen(self.plan, self.decision, self.controller.head, path))
        hooks = self.services.training_hooks
        if hooks is not None and path:
            log = Path(path)
            text = hooks.debrief_text(log, log.with_suffix(".debrief.html"))
            self.push_screen(TextScreen("Debrief (TRAINING)", text, "Enter: to the summary"))
