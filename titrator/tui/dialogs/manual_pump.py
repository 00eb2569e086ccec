"""The manual pump's read-back: what the nurse sees on the pump."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Select, Static

from titrator.domain.units import InputError, parse_plain_decimal
from titrator.tui.dialogs.base import TypedModal


@dataclass(frozen=True)
class ManualAnswer:
    """What the nurse read on the pump after doing what was asked.

    Attributes:
        displayed_rate_ml_per_h: the rate the pump shows (typed, never assumed), if asked.
        infusing: whether the pump shows it is infusing, if asked.
        typed: the displayed rate exactly as typed ("" when not asked).
    """

    displayed_rate_ml_per_h: Decimal | None
    infusing: bool | None
    typed: str = ""


class ManualPumpModal(TypedModal[ManualAnswer | None]):
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
            yield Static("F2 confirm   F3 cannot do it   F9 STOP", classes="hint-line")
            yield Static("", id="manual-refusal", classes="refusal")

    def submit_now(self) -> None:
        """Confirm with what the pump displays (typed, never assumed)."""
        rate: Decimal | None = None
        infusing: bool | None = None
        raw = ""
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
        self.dismiss(ManualAnswer(rate, infusing, raw))

    def action_decline(self) -> None:
        """The pump could not be set as asked."""
        self.dismiss(None)
