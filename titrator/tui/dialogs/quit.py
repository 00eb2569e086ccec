"""The quit dialog."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


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
