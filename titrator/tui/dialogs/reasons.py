"""Dialogs that ask why: an override of a recommendation, a reason for an action."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Select, Static

from titrator.domain.decisions import OverrideReason
from titrator.tui.dialogs.base import MODAL_BINDINGS, Submit, TypedModal
from titrator.tui.screens.fields import FieldInput
from titrator.tui.screens.marks import placeholder

_OVERRIDE_LABELS = {
    OverrideReason.PRESCRIBER_ORDER: "prescriber's order",
    OverrideReason.SYMPTOMS_RESOLVED: "symptoms resolved",
    OverrideReason.CLINICAL_JUDGEMENT: "clinical judgement",
    OverrideReason.VITALS_CHECKED: "vitals re-checked",
    OverrideReason.PATIENT_REQUEST: "patient request",
    OverrideReason.EQUIPMENT: "equipment problem",
    OverrideReason.OTHER: "other (say what)",
}


class OverrideModal(TypedModal[bool]):
    """Override the current recommendation with a reason from the fixed list (plus text)."""

    BINDINGS: ClassVar[list[BindingType]] = MODAL_BINDINGS

    def __init__(self, submit: Submit, what: str) -> None:
        super().__init__()
        self.submit = submit
        self.what = what

    def compose(self) -> ComposeResult:
        """The recommendation overridden, the reason list, and a note."""
        with Vertical(id="override-modal", classes="modal"):
            yield Static(f"Override: {self.what}", classes="modal-title")
            yield Select(
                [(label, reason.value) for reason, label in _OVERRIDE_LABELS.items()],
                prompt=placeholder("choose a reason"),
                id="reason",
                compact=True,
            )
            with Horizontal(classes="form-row"):
                yield Label("Note", classes="vital-label")
                yield FieldInput(
                    id="note", compact=True, placeholder=placeholder("required for 'other'")
                )
            yield Static("F2 record the override   Esc cancel", classes="hint-line")
            yield Static("", id="override-refusal", classes="refusal")

    def submit_now(self) -> None:
        """Hand reason and note to the engine (which refuses hard limits)."""
        value = self.query_one("#reason", Select).value
        if value is Select.NULL:
            self.query_one("#override-refusal", Static).update("✗ choose a reason")
            return
        refusal = self.submit({"reason": str(value), "note": self.query_one("#note", Input).value})
        if refusal is None:
            self.dismiss(True)
        else:
            self.query_one("#override-refusal", Static).update(f"✗ Not recorded: {refusal}")

    def action_cancel(self) -> None:
        """Close without recording."""
        self.dismiss(False)


class ReasonModal(TypedModal[bool]):
    """One line of text for the engine (a pause's reason)."""

    BINDINGS: ClassVar[list[BindingType]] = MODAL_BINDINGS

    def __init__(self, heading: str, label: str, submit: Callable[[str], str | None]) -> None:
        super().__init__()
        self.heading = heading
        self.label = label
        self.submit = submit

    def compose(self) -> ComposeResult:
        """The heading and one field."""
        with Vertical(id="reason-modal", classes="modal"):
            yield Static(f"{self.heading}  (F2 record, Esc cancel)", classes="modal-title")
            with Horizontal(classes="form-row"):
                yield Label(self.label, classes="vital-label")
                yield FieldInput(id="reason-text", compact=True)
            yield Static("", id="reason-refusal", classes="refusal")

    def submit_now(self) -> None:
        """Hand the text to the engine; stay open on a refusal."""
        refusal = self.submit(self.query_one("#reason-text", Input).value)
        if refusal is None:
            self.dismiss(True)
        else:
            self.query_one("#reason-refusal", Static).update(f"✗ Not recorded: {refusal}")

    def action_cancel(self) -> None:
        """Close without recording."""
        self.dismiss(False)
