"""The quit dialog: what is true of the infusion and the pump, then a deliberate yes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from titrator.domain.decisions import LinkState
from titrator.domain.units import show_ml_per_h


@dataclass(frozen=True)
class QuitFacts:
    """What is known when the nurse asks to quit.

    Attributes:
        pump_kind: "manual", "serial" or "simulator".
        started: the pump has been confirmed running at some point in this session.
        start_pending: a start was sent and the pump has not confirmed it.
        rate_ml_per_h: the rate the pump should run at now (0: stopped or paused).
        link: what the engine knows of the pump.
    """

    pump_kind: str
    started: bool
    start_pending: bool
    rate_ml_per_h: Decimal
    link: LinkState


def quit_effect(facts: QuitFacts) -> str:
    """The consequence of quitting now, in words that say only what is known."""
    manual = facts.pump_kind == "manual"
    if facts.link is not LinkState.OK:
        return (
            "The pump's state is not known (its last command is unconfirmed): check the pump "
            "before you leave it."
        )
    if facts.start_pending:
        return (
            "A start was asked for and the pump has not confirmed it: check whether the pump "
            "is running before you leave it."
        )
    if not facts.started:
        return "The infusion has not started: titrator has not had the pump started."
    if facts.rate_ml_per_h == 0:
        return "The pump is not infusing (stopped or paused, as last confirmed)."
    rate = show_ml_per_h(facts.rate_ml_per_h)
    if manual:
        return (
            f"The pump is infusing at {rate} (as last confirmed) and keeps running: "
            "titrator will not be watching."
        )
    return (
        f"The pump is infusing at {rate}; without titrator it stops itself within its "
        "watchdog time (10 s)."
    )


class QuitModal(ModalScreen[bool]):
    """Quitting while an infusion is active: say what happens to the pump, ask twice."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Yes, quit"),
        Binding("escape,n", "cancel", "No, stay"),
    ]

    def __init__(self, facts: QuitFacts) -> None:
        super().__init__()
        self.facts = facts

    def compose(self) -> ComposeResult:
        """The consequences, in words."""
        with Vertical(id="quit-modal", classes="modal"):
            yield Static("Quit while a session is open?", classes="modal-title")
            yield Static(quit_effect(self.facts), id="quit-effect")
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
