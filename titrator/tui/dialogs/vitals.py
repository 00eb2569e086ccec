"""The vital-signs dialog: every field checked as typed, the engine decides."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from titrator.domain.units import InputError
from titrator.domain.vitals import FIELD_SPECS, VitalField, parse_field
from titrator.tui.dialogs.base import MODAL_BINDINGS, Submit


class VitalsModal(ModalScreen[bool]):
    """A full set of vital signs; dismisses True once the engine accepted it.

    Enter and Tab move between fields as priority bindings: they act while the key is being
    dispatched, so digits typed ahead of the screen (a fast nurse, a paste) land in the next
    field. Through the Input's own Submitted message the move came later than the next keys,
    which went into the previous field.
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
                with Horizontal(classes="form-row"):
                    yield Label(f"{spec.label} ({spec.unit})", classes="vital-label")
                    yield Input(id=field.value, compact=True, classes="vital-input")
                    yield Static("", id=f"{field.value}-check", classes="vital-check")
            yield Static("", id="vitals-refusal", classes="refusal")

    def on_mount(self) -> None:
        """Start at the temperature."""
        self.query_one(f"#{VitalField.TEMP_C.value}", Input).focus()

    @on(Input.Changed, ".vital-input")
    def _check(self, event: Input.Changed) -> None:
        field = VitalField(event.input.id or "")
        check = self.query_one(f"#{field.value}-check", Static)
        if not event.value.strip():
            check.update("")
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

    def action_submit(self) -> None:
        """Hand the typed values to the engine once keys already typed have reached their field."""
        self.call_after_refresh(self._submit_now)

    def _submit_now(self) -> None:
        """Hand the typed values to the engine; stay open on a refusal."""
        if not self.is_attached:
            return
        raw = {box.id: box.value for box in self.query(".vital-input").results(Input) if box.id}
        refusal = self.submit(raw)
        if refusal is None:
            self.dismiss(True)
        else:
            self.query_one("#vitals-refusal", Static).update(f"✗ Not recorded: {refusal}")

    def action_cancel(self) -> None:
        """Close without recording."""
        self.dismiss(False)
