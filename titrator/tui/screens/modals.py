"""Modal dialogs of the run screen: vitals, symptoms, override reason, lot, manual pump.

Each is thin. Numbers are checked as typed with the core's own parsers for fast feedback, but
what was typed always goes to the engine, which decides and records it (a refusal keeps the
dialog open, with the engine's reason next to the field).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, SelectionList, Static

from titrator.domain.decisions import OverrideReason
from titrator.domain.units import InputError, parse_plain_decimal
from titrator.domain.vitals import FIELD_SPECS, SYMPTOM_LABELS, Symptom, VitalField, parse_field

Submit = Callable[[dict[str, str]], str | None]
"""Hands what was typed to the engine; returns the refusal reason, or None when accepted."""

_MODAL_BINDINGS: list[BindingType] = [
    Binding("f2", "submit", "Record", priority=True),
    Binding("escape", "cancel", "Cancel"),
]

_OVERRIDE_LABELS = {
    OverrideReason.PRESCRIBER_ORDER: "prescriber's order",
    OverrideReason.SYMPTOMS_RESOLVED: "symptoms resolved",
    OverrideReason.CLINICAL_JUDGEMENT: "clinical judgement",
    OverrideReason.VITALS_CHECKED: "vitals re-checked",
    OverrideReason.PATIENT_REQUEST: "patient request",
    OverrideReason.EQUIPMENT: "equipment problem",
    OverrideReason.OTHER: "other (say what)",
}


class VitalsModal(ModalScreen[bool]):
    """A full set of vital signs; dismisses True once the engine accepted it.

    Enter and Tab move between fields as priority bindings: they act while the key is being
    dispatched, so digits typed ahead of the screen (a fast nurse, a paste) land in the next
    field. Through the Input's own Submitted message the move came later than the next keys,
    which went into the previous field.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *_MODAL_BINDINGS,
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


class SymptomsModal(ModalScreen[bool]):
    """The whole symptom checklist (ticked = present now) plus free text."""

    BINDINGS: ClassVar[list[BindingType]] = _MODAL_BINDINGS

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
            yield SelectionList[str](
                *[
                    (label, symptom.value, symptom.value in self.present)
                    for symptom, label in SYMPTOM_LABELS.items()
                ],
                id="symptom-list",
            )
            with Horizontal(classes="form-row"):
                yield Label("Other symptoms", classes="vital-label")
                yield Input(value=self.other, id="other", compact=True, placeholder="free text")
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


class OverrideModal(ModalScreen[bool]):
    """Override the current recommendation with a reason from the fixed list (plus text)."""

    BINDINGS: ClassVar[list[BindingType]] = _MODAL_BINDINGS

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
                prompt="reason",
                id="reason",
                compact=True,
            )
            with Horizontal(classes="form-row"):
                yield Label("Note", classes="vital-label")
                yield Input(id="note", compact=True, placeholder="required for 'other'")
            yield Static("F2 record the override   Esc cancel", classes="hint-line")
            yield Static("", id="override-refusal", classes="refusal")

    def action_submit(self) -> None:
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


class ReasonModal(ModalScreen[bool]):
    """One line of text for the engine (a pause's reason)."""

    BINDINGS: ClassVar[list[BindingType]] = _MODAL_BINDINGS

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
                yield Input(id="reason-text", compact=True)
            yield Static("", id="reason-refusal", classes="refusal")

    def action_submit(self) -> None:
        """Hand the text to the engine; stay open on a refusal."""
        refusal = self.submit(self.query_one("#reason-text", Input).value)
        if refusal is None:
            self.dismiss(True)
        else:
            self.query_one("#reason-refusal", Static).update(f"✗ Not recorded: {refusal}")

    def action_cancel(self) -> None:
        """Close without recording."""
        self.dismiss(False)


class LotModal(ModalScreen[bool]):
    """Record the lot (batch) number of a new bag or vial."""

    BINDINGS: ClassVar[list[BindingType]] = _MODAL_BINDINGS

    def __init__(self, submit: Submit) -> None:
        super().__init__()
        self.submit = submit

    def compose(self) -> ComposeResult:
        """One field."""
        with Vertical(id="lot-modal", classes="modal"):
            yield Static("New lot / bag (F2 record, Esc cancel)", classes="modal-title")
            with Horizontal(classes="form-row"):
                yield Label("Lot number", classes="vital-label")
                yield Input(id="lot", compact=True)
            yield Static("", id="lot-refusal", classes="refusal")

    def action_submit(self) -> None:
        """Hand the lot to the engine."""
        refusal = self.submit({"lot": self.query_one("#lot", Input).value})
        if refusal is None:
            self.dismiss(True)
        else:
            self.query_one("#lot-refusal", Static).update(f"✗ Not recorded: {refusal}")

    def action_cancel(self) -> None:
        """Close without recording."""
        self.dismiss(False)


@dataclass(frozen=True)
class ManualAnswer:
    """What the nurse read on the pump after doing what was asked.

    Attributes:
        displayed_rate_ml_per_h: the rate the pump shows (typed, never assumed), if asked.
        infusing: whether the pump shows it is infusing, if asked.
    """

    displayed_rate_ml_per_h: Decimal | None
    infusing: bool | None


class ManualPumpModal(ModalScreen[ManualAnswer | None]):
    """Manual pump: program the pump by hand, then read it back to confirm."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "submit", "Confirm", priority=True),
        Binding("f3", "decline", "Cannot do it", priority=True),
    ]

    def __init__(self, instruction: str, ask_rate: bool, ask_infusing: bool) -> None:
        super().__init__()
        self.instruction = instruction
        self.ask_rate = ask_rate
        self.ask_infusing = ask_infusing

    def compose(self) -> ComposeResult:
        """The instruction and the read-back fields."""
        with Vertical(id="manual-modal", classes="modal"):
            yield Static("PUMP (manual): do this now", classes="modal-title")
            yield Static(self.instruction, id="instruction")
            if self.ask_rate:
                with Horizontal(classes="form-row"):
                    yield Label("Pump now shows", classes="vital-label")
                    yield Input(id="displayed", compact=True, placeholder="mL/h as displayed")
            if self.ask_infusing:
                with Horizontal(classes="form-row"):
                    yield Label("Pump is", classes="vital-label")
                    yield Select(
                        [("infusing", "yes"), ("not infusing", "no")],
                        id="infusing",
                        compact=True,
                        prompt="choose",
                    )
            yield Static("F2 confirm   F3 cannot do it", classes="hint-line")
            yield Static("", id="manual-refusal", classes="refusal")

    def action_submit(self) -> None:
        """Confirm with what the pump displays (typed, never assumed)."""
        rate: Decimal | None = None
        infusing: bool | None = None
        if self.ask_rate:
            raw = self.query_one("#displayed", Input).value
            try:
                rate = parse_plain_decimal(raw, "displayed rate")
            except InputError as error:
                self.query_one("#manual-refusal", Static).update(
                    f"✗ displayed rate: {error.reason}"
                )
                return
        if self.ask_infusing:
            choice = self.query_one("#infusing", Select).value
            if choice is Select.NULL:
                self.query_one("#manual-refusal", Static).update("✗ say whether it is infusing")
                return
            infusing = choice == "yes"
        self.dismiss(ManualAnswer(rate, infusing))

    def action_decline(self) -> None:
        """The pump could not be set as asked."""
        self.dismiss(None)


class QuitModal(ModalScreen[bool]):
    """Quitting while an infusion is active: say what happens to the pump, ask twice."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Yes, quit"),
        Binding("escape,n", "cancel", "No, stay"),
    ]

    def __init__(self, pump_kind: str) -> None:
        super().__init__()
        self.pump_kind = pump_kind

    def compose(self) -> ComposeResult:
        """The consequences, in words."""
        if self.pump_kind == "manual":
            effect = "The pump keeps running at its current rate: titrator will not be watching."
        else:
            effect = (
                "The serial pump stops itself within its watchdog time (10 s) without titrator."
            )
        with Vertical(id="quit-modal", classes="modal"):
            yield Static("Quit while an infusion is active?", classes="modal-title")
            yield Static(effect)
            yield Static(
                "The session stays unfinished; `titrator resume` continues it from the log."
            )
            yield Static("y = quit   n or Esc = stay", classes="hint-line")

    def action_confirm(self) -> None:
        """Quit."""
        self.dismiss(True)

    def action_cancel(self) -> None:
        """Stay."""
        self.dismiss(False)
