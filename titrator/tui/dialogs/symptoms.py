"""The symptoms dialog: the policy's symptom list (`[x]` ticked, `[ ]` not), plus free text."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, SelectionList, Static

from titrator.domain.vitals import SYMPTOM_LABELS, Symptom
from titrator.tui.dialogs.base import MODAL_BINDINGS, Submit
from titrator.tui.screens.fields import FieldInput
from titrator.tui.screens.marks import TickList, placeholder


class SymptomsModal(ModalScreen[bool]):
    """The whole symptom checklist (ticked = present now) plus free text."""

    BINDINGS: ClassVar[list[BindingType]] = MODAL_BINDINGS

    def __init__(self, submit: Submit, present: frozenset[str], other: str = "") -> None:
        super().__init__()
        self.submit = submit
        self.present = present
        self.other = other

    def compose(self) -> ComposeResult:
        """The checklist and a free-text line."""
        with Vertical(id="symptoms-modal", classes="modal"):
            yield Static(
                "Symptoms present NOW (space to tick; none ticked = no symptoms). F2 record",
                classes="modal-title",
            )
            yield TickList[str](
                *[
                    (label, symptom.value, symptom.value in self.present)
                    for symptom, label in SYMPTOM_LABELS.items()
                ],
                id="symptom-list",
            )
            with Horizontal(classes="form-row"):
                yield Label("Other symptoms", classes="vital-label")
                yield FieldInput(
                    value=self.other, id="other", compact=True, placeholder=placeholder("free text")
                )
            yield Static("", id="symptoms-refusal", classes="refusal")

    def action_submit(self) -> None:
        """Hand the checklist to the engine."""
        ticked = self.query_one("#symptom-list", SelectionList).selected
        ids = [s.value for s in Symptom if s.value in ticked]
        refusal = self.submit(
            {"symptoms": ",".join(ids), "other": self.query_one("#other", Input).value}
        )
        if refusal is None:
            self.dismiss(True)
        else:
            self.query_one("#symptoms-refusal", Static).update(f"✗ Not recorded: {refusal}")

    def action_cancel(self) -> None:
        """Close without recording."""
        self.dismiss(False)
