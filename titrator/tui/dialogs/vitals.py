"""The vital-signs dialog: every field checked as typed, the engine decides.

Every problem is shown whole, next to its field (the line wraps), in the nurse's words: a refused
set marks each field the core refused, with the core's reason, and says how many.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from titrator.domain.units import InputError
from titrator.domain.vitals import FIELD_SPECS, VitalField, VitalsError, parse_field, parse_vitals
from titrator.tui.dialogs.base import MODAL_BINDINGS, Submit, TypedModal
from titrator.tui.screens.fields import FieldInput


class VitalsModal(TypedModal[bool]):
    """A full set of vital signs; dismisses True once the engine accepted it.

    Enter and Tab move between fields as priority bindings: they act while the key is being
    dispatched, so digits typed ahead of the screen (a fast nurse, a paste) land in the next
    field. Through the Input's own Submitted message the move came later than the next keys,
    which went into the previous field. A paste with Tabs or line breaks fills the fields in
    order (`FieldInput`).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *MODAL_BINDINGS,
        Binding("enter", "next_field", "Next field", priority=True, show=False),
        Binding("tab", "move(1)", "Next field", priority=True, show=False),
        Binding("shift+tab", "move(-1)", "Previous field", priority=True, show=False),
    ]

    def __init__(self, submit: Submit, title: str = "Vital signs") -> None:
        super().__init__()
        self.submit = submit
        self.heading = title

    def compose(self) -> ComposeResult:
        """One row per field: label, input, inline check."""
        with Vertical(id="vitals-modal", classes="modal"):
            yield Static(self.heading + "  (F2 record, Esc cancel)", classes="modal-title")
            for field in VitalField:
                spec = FIELD_SPECS[field]
                with Horizontal(classes="vital-row"):
                    yield Label(f"{spec.label} ({spec.unit})", classes="vital-label")
                    yield FieldInput(id=field.value, compact=True, classes="vital-input")
                    yield Static("", id=f"{field.value}-check", classes="vital-check")
            yield Static("", id="vitals-refusal", classes="refusal")

    def on_mount(self) -> None:
        """Start at the temperature."""
        self.query_one(f"#{VitalField.TEMP_C.value}", Input).focus()

    @on(Input.Changed, ".vital-input")
    def _check(self, event: Input.Changed) -> None:
        field = VitalField(event.input.id or "")
        check = self.query_one(f"#{field.value}-check", Static)
        self.query_one("#vitals-refusal", Static).update("")  # a change makes it stale
        if not event.value.strip():
            check.update("")
            event.input.remove_class("-invalid")
            return
        try:
            parse_field(field, event.value)
        except InputError as error:
            check.update(f"✗ {error.reason}")
            event.input.add_class("-invalid")
        else:
            check.update("✓")
            event.input.remove_class("-invalid")

    def action_move(self, step: int) -> None:
        """Tab / Shift+Tab: the next or previous field."""
        if step > 0:
            self.focus_next()
        else:
            self.focus_previous()

    def action_next_field(self) -> None:
        """Enter: the next field, or record from the last one."""
        if self.focused is self.query(".vital-input").last():
            self.action_submit()
        else:
            self.focus_next()

    def submit_now(self) -> None:
        """Hand the typed values to the engine; stay open on a refusal."""
        raw = {box.id: box.value for box in self.query(".vital-input").results(Input) if box.id}
        refusal = self.submit(raw)
        if refusal is None:
            self.dismiss(True)
            return
        marked = self._mark_refused(raw)
        text = (
            f"✗ Not recorded: {marked} field{'' if marked == 1 else 's'} marked ✗ above."
            if marked
            else f"✗ Not recorded: {refusal}"
        )
        self.query_one("#vitals-refusal", Static).update(text)

    def _mark_refused(self, raw: dict[str, str]) -> int:
        """Show the core's reason at each field it refuses (also an empty one); how many."""
        try:
            parse_vitals(raw)
        except VitalsError as error:
            problems = {e.field: e.reason for e in error.errors}
        else:
            return 0
        for field in VitalField:
            reason = problems.get(field.value)
            if reason is not None:
                self.query_one(f"#{field.value}-check", Static).update(f"✗ {reason}")
                self.query_one(f"#{field.value}", Input).add_class("-invalid")
        return sum(1 for field in VitalField if field.value in problems)

    def action_cancel(self) -> None:
        """Close without recording."""
        self.dismiss(False)
