"""Confirming a rate change: OLD -> NEW in mL/h and mg/kg/min, the direction and the x-factor.

Enter confirms. A change the core marks `needs_second_key` (an increase of x2 or more, or a start)
needs Enter and then a different key, C (upper or lower case: Caps Lock or Shift must not turn
a deliberate confirmation into a silent nothing). Any key arriving within 50 ms of the previous
one is key bounce or auto-repeat and never confirms (requirement R22). Esc cancels.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from titrator.domain.rate_change import Direction, RateChange
from titrator.domain.units import show_mg_per_kg_min, show_ml_per_h

BOUNCE_S: Final = 0.05
"""Keys closer together than this are bounce or auto-repeat."""

CONFIRM_KEYS: Final = frozenset({"c", "C", "shift+c"})
"""The second key of a two-key confirmation, however the terminal reports a capital C."""


class RateConfirmModal(ModalScreen[bool]):
    """Asks the nurse to confirm one rate change; dismisses True only on a deliberate confirm."""

    def __init__(
        self,
        change: RateChange,
        heading: str,
        instruction: str,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.change = change
        self.heading = heading
        self.instruction = instruction
        self._monotonic = monotonic
        self._last_key_s: float | None = None
        self.armed = False
        """True after the first key of a two-key confirmation."""

    def compose(self) -> ComposeResult:
        """The change in both units and what to press."""
        c = self.change
        word = c.direction.value.upper()
        with Vertical(id="rate-confirm"):
            yield Static(self.heading, classes="modal-title")
            old_rate, new_rate = show_ml_per_h(c.old_ml_per_h), show_ml_per_h(c.new_ml_per_h)
            yield Static(f"  OLD  {old_rate:>12}   {show_mg_per_kg_min(c.old_mg_per_kg_min)}")
            yield Static(
                f"  NEW  {new_rate:>12}   {show_mg_per_kg_min(c.new_mg_per_kg_min)}"
                f"   {c.factor_text}  {word}",
                id="rate-new",
            )
            yield Static(self.instruction, id="rate-instruction")
            yield Static(self._keys_text(), id="rate-keys")

    def _keys_text(self) -> str:
        if self.armed:
            return f"Press C to confirm this {self.change.factor_text} change.   Esc: cancel"
        if self.change.needs_second_key:
            return f"{self.change.factor_text}: press Enter, then C to confirm.   Esc: cancel"
        return "Enter: confirm   Esc: cancel"

    def on_key(self, event: events.Key) -> None:
        """Confirm only on deliberate keys; ignore bounce and repeats."""
        event.stop()
        event.prevent_default()
        now = self._monotonic()
        bounced = self._last_key_s is not None and now - self._last_key_s < BOUNCE_S
        self._last_key_s = now
        if event.key == "escape":
            self.dismiss(False)
            return
        if bounced:
            return
        if event.key == "enter" and not self.armed:
            if self.change.needs_second_key:
                self.armed = True
                self.query_one("#rate-keys", Static).update(self._keys_text())
            else:
                self.dismiss(True)
        elif event.key in CONFIRM_KEYS and self.armed:
            self.dismiss(True)

    @property
    def is_decrease(self) -> bool:
        """True for a change that lowers the rate (or stops)."""
        return self.change.direction in (Direction.DECREASE, Direction.STOP)
