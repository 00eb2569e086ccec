"""The medication dialog: one medicine given (drug, dose, unit, route, time, by whom).

Opened with m on the run screen at any time (after an emergency stop it is pre-filled with the
patient's adrenaline dose). Never needed before STOP: F9 stays live inside it. What was typed goes
to the core's parser and then to the engine; a problem is one line naming the field and the text
as typed, and the dialog stays open with everything still filled in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from titrator.domain.emergency import MEDICATION_FIELDS
from titrator.domain.events import MEDICATION_ROUTES, MEDICATION_UNITS
from titrator.tui.dialogs.base import MODAL_BINDINGS, Submit, TypedModal
from titrator.tui.screens.fields import FieldInput

_HINTS: Mapping[str, str] = {
    "unit": "/".join(MEDICATION_UNITS),
    "route": "/".join(MEDICATION_ROUTES),
    "given_time": "HH:MM, empty = now",
}


class MedicationModal(TypedModal[bool]):
    """Record one medicine given; dismisses True once the engine recorded it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *MODAL_BINDINGS,
        Binding("enter", "move(1)", "Next field", priority=True, show=False),
        Binding("tab", "move(1)", "Next field", priority=True, show=False),
        Binding("shift+tab", "move(-1)", "Previous field", priority=True, show=False),
    ]

    def __init__(self, submit: Submit, prefill: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.submit = submit
        self.prefill = dict(prefill or {})

    def compose(self) -> ComposeResult:
        """One row per field: label, input, hint."""
        with Vertical(id="medication-modal", classes="modal"):
            yield Static("Medicine given  (F2 record, Esc cancel)", classes="modal-title")
            for name, label in MEDICATION_FIELDS:
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="vital-label")
                    yield FieldInput(self.prefill.get(name, ""), id=f"med-{name}", compact=True)
                    yield Static(_HINTS.get(name, ""), classes="vital-check")
            yield Static("", id="medication-refusal", classes="refusal")

    def on_mount(self) -> None:
        """Start at the first empty field."""
        for name, _label in MEDICATION_FIELDS:
            box = self.query_one(f"#med-{name}", Input)
            if not box.value:
                box.focus()
                return
        self.query_one(f"#med-{MEDICATION_FIELDS[0][0]}", Input).focus()

    def action_move(self, step: int) -> None:
        """Focus the next (or previous) field."""
        if step > 0:
            self.focus_next()
        else:
            self.focus_previous()

    def values(self) -> dict[str, str]:
        """What is typed now, field by field."""
        return {name: self.query_one(f"#med-{name}", Input).value for name, _ in MEDICATION_FIELDS}

    def submit_now(self) -> None:
        """Hand the form to the core and the engine; stay open with the reason if refused."""
        refusal = self.submit(self.values())
        if refusal is None:
            self.dismiss(True)
        else:
            self.query_one("#medication-refusal", Static).update(f"✗ Not recorded: {refusal}")

    def action_cancel(self) -> None:
        """Close without recording."""
        self.dismiss(False)
