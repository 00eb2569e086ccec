"""The lot-number dialog (a new vial or bag)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from titrator.tui.dialogs.base import MODAL_BINDINGS, Submit, TypedModal
from titrator.tui.screens.fields import FieldInput


class LotModal(TypedModal[bool]):
    """Record the lot (batch) number of a new bag or vial."""

    BINDINGS: ClassVar[list[BindingType]] = MODAL_BINDINGS

    def __init__(self, submit: Submit) -> None:
        super().__init__()
        self.submit = submit

    def compose(self) -> ComposeResult:
        """One field."""
        with Vertical(id="lot-modal", classes="modal"):
            yield Static("New lot / bag (F2 record, Esc cancel)", classes="modal-title")
            with Horizontal(classes="form-row"):
                yield Label("Lot number", classes="vital-label")
                yield FieldInput(id="lot", compact=True)
            yield Static("", id="lot-refusal", classes="refusal")

    def submit_now(self) -> None:
        """Hand the lot to the engine."""
        refusal = self.submit({"lot": self.query_one("#lot", Input).value})
        if refusal is None:
            self.dismiss(True)
        else:
            self.query_one("#lot-refusal", Static).update(f"✗ Not recorded: {refusal}")

    def action_cancel(self) -> None:
        """Close without recording."""
        self.dismiss(False)
