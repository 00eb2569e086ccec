"""Resuming an unfinished session: what the log says, who takes over, and a deliberate confirm.

Shown by `titrator run` when unfinished sessions are found, and by `titrator resume SESSION`.
For the highlighted session it shows the state rebuilt from its log (step, rate, the prompt that
was on screen, due times, any pump command whose outcome is unknown: never re-sent). Nothing is
written until the nurse types their id and presses F2; the pump is then read before anything
else (the engine's link stays UNCERTAIN until that status read).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, Input, Label, Static

from titrator.audit.errors import AuditError
from titrator.audit.reconstruct import ResumeError, reconstruct
from titrator.audit.unfinished import UnfinishedSession
from titrator.tui.screens.fields import FieldInput
from titrator.tui.screens.marks import MarkedScreen, placeholder
from titrator.tui.typed import when_typed


@dataclass(frozen=True)
class ResumeChoice:
    """The nurse's choice: the session to take over and who takes it over."""

    session_id: str
    path: Path
    nurse_id: str


class ResumeScreen(MarkedScreen[ResumeChoice | None]):
    """Unfinished sessions; dismisses with the choice, or None to start a new session."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "resume", "Resume (after reading)", id="resume-confirm", priority=True),
        Binding("f3", "new", "New session instead", id="resume-new", priority=True),
    ]

    def __init__(
        self,
        sessions: Sequence[UnfinishedSession],
        *,
        key_file: Path | None = None,
        allow_new: bool = True,
    ) -> None:
        super().__init__()
        self.sessions = [s for s in sessions if s.resumable]
        self.key_file = key_file
        self.allow_new = allow_new

    def compose(self) -> ComposeResult:
        """The list, the rebuilt state of the highlighted session, and the nurse's id."""
        yield Header()
        yield Static(
            "Unfinished infusion session(s). Check the rebuilt state against the patient and "
            "the pump before resuming.",
            classes="instructions",
        )
        table: DataTable[str] = DataTable(id="resume-table", cursor_type="row")
        table.add_columns("Session", "Patient", "Product", "Last record (UTC)", "Log")
        for s in self.sessions:
            table.add_row(
                s.session_id,
                " / ".join(s.patient_ids) if s.patient_ids else "?",
                s.product or "?",
                s.last_record_utc.strftime("%Y-%m-%d %H:%M") if s.last_record_utc else "?",
                s.integrity_label,
                key=s.session_id,
            )
        yield table
        yield Static("", id="resume-state")
        with Horizontal(classes="form-row"):
            yield Label("Your nurse ID", classes="field-label")
            yield FieldInput(
                id="resume-nurse", compact=True, placeholder=placeholder("who takes over")
            )
        yield Static("", id="resume-problem", classes="refusal")
        yield Footer()

    def on_mount(self) -> None:
        """Show the first session's state."""
        self.sub_title = "resume an unfinished session"
        if self.sessions:
            self._show(self.sessions[0])
        self.query_one("#resume-nurse", Input).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """'New session' only where it is offered."""
        if action == "new" and not self.allow_new:
            return None
        return True

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        chosen = self._selected()
        if chosen is not None:
            self._show(chosen)

    def _selected(self) -> UnfinishedSession | None:
        table = self.query_one("#resume-table", DataTable)
        if not self.sessions:
            return None
        return self.sessions[min(table.cursor_row, len(self.sessions) - 1)]

    def _show(self, session: UnfinishedSession) -> None:
        try:
            rebuilt = reconstruct(session.path, key_file=self.key_file)
        except (ResumeError, AuditError, OSError) as error:
            text = f"✗ Cannot be resumed: {error}"
        else:
            text = "\n".join(rebuilt.summary())
        self.query_one("#resume-state", Static).update(text)

    def action_resume(self) -> None:
        """F2: take the highlighted session over once the id typed before F2 is in its field."""
        when_typed(self, self._resume_now)

    def _resume_now(self) -> None:
        """Take the highlighted session over (the nurse's id is required)."""
        if not (self.is_attached and self.app.screen is self):
            return
        chosen = self._selected()
        nurse = self.query_one("#resume-nurse", Input).value.strip()
        problem = self.query_one("#resume-problem", Static)
        if chosen is None:
            problem.update("✗ No session can be resumed.")
        elif not nurse:
            problem.update("✗ Type your nurse ID: the log records who took over.")
        else:
            self.dismiss(ResumeChoice(chosen.session_id, chosen.path, nurse))

    def action_new(self) -> None:
        """Start a new session instead (the unfinished ones stay on disk)."""
        if self.allow_new:
            self.dismiss(None)
