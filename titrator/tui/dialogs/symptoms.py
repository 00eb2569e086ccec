"""The symptoms dialog: the policy's symptom list (`[x]` ticked, `[ ]` not), plus free text.

Free text is graded by the nurse (mild, moderate or severe): the engine never judges it before
that, and holds the rate (no increase) meanwhile. The grade is a tick list too, one tick only.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, SelectionList, Static

from titrator.domain.policy import Severity
from titrator.domain.vitals import SYMPTOM_LABELS, Symptom
from titrator.tui.dialogs.base import MODAL_BINDINGS, Submit, TypedModal
from titrator.tui.screens.fields import FieldInput
from titrator.tui.screens.marks import TickList, placeholder

GRADE_WORDS = {
    Severity.MILD: "mild: skin or discomfort only",
    Severity.MODERATE: "moderate: breathing, heart or gut",
    Severity.SEVERE: "severe: low O2 or BP, collapse",
}
"""How each grade of a free-text symptom reads in the dialog (nurse words, after Brown's
grading: skin only; respiratory, cardiovascular or GI involvement; hypoxia, hypotension or
neurological compromise [policy source S21])."""


class SymptomsModal(TypedModal[bool]):
    """The whole symptom checklist (ticked = present now) plus free text."""

    BINDINGS: ClassVar[list[BindingType]] = MODAL_BINDINGS

    def __init__(
        self,
        submit: Submit,
        present: frozenset[str],
        other: str = "",
        other_severity: Severity | None = None,
    ) -> None:
        super().__init__()
        self.submit = submit
        self.present = present
        self.other = other
        self.other_severity = other_severity

    def compose(self) -> ComposeResult:
        """The checklist and a free-text line."""
        with Vertical(id="symptoms-modal", classes="modal"):
            yield Static(
                "Symptoms present NOW (space ticks; none = no symptoms). F2 record",
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
            with Horizontal(classes="form-row grade-row"):
                yield Label("Other symptom: how bad? (tick one)", classes="vital-label")
                yield TickList[str](
                    *[
                        (GRADE_WORDS[grade], grade.value, grade is self.other_severity)
                        for grade in Severity
                    ],
                    id="other-severity",
                )
            yield Static("", id="symptoms-refusal", classes="refusal")

    def submit_now(self) -> None:
        """Hand the checklist to the engine."""
        ticked = self.query_one("#symptom-list", SelectionList).selected
        ids = [s.value for s in Symptom if s.value in ticked]
        graded = self.query_one("#other-severity", SelectionList).selected
        grades = [grade.value for grade in Severity if grade.value in graded]
        if len(grades) > 1:
            self.query_one("#symptoms-refusal", Static).update(
                "✗ Not recorded: other symptom, how bad: tick one only "
                f"(ticked: {', '.join(grades)})"
            )
            return
        refusal = self.submit(
            {
                "symptoms": ",".join(ids),
                "other": self.query_one("#other", Input).value,
                "other_severity": grades[0] if grades else "",
            }
        )
        if refusal is None:
            self.dismiss(True)
        else:
            self.query_one("#symptoms-refusal", Static).update(f"✗ Not recorded: {refusal}")

    def action_cancel(self) -> None:
        """Close without recording."""
        self.dismiss(False)
