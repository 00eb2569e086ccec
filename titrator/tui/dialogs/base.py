"""What every dialog shares: the submit hook, the keys, and reading fields only once typed.

Each dialog is thin. Numbers are checked as typed with the core's own parsers for fast feedback, but
what was typed always goes to the engine, which decides and records it (a refusal keeps the
dialog open, with the engine's reason next to the field).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from textual.binding import Binding, BindingType
from textual.screen import ModalScreen

from titrator.tui.typed import when_typed

Submit = Callable[[dict[str, str]], str | None]
"""Hands what was typed to the engine; returns the refusal reason, or None when accepted."""

MODAL_BINDINGS: list[BindingType] = [
    Binding("f2", "submit", "Record", priority=True),
    Binding("escape", "cancel", "Cancel"),
]
"""F2 records (a priority binding, so a focused input cannot swallow it); Escape cancels."""

ResultT = TypeVar("ResultT")


class TypedModal(ModalScreen[ResultT]):
    """A dialog whose F2 reads its fields once every key typed before it has reached them.

    Subclasses write `submit_now`: read the fields, hand them on, dismiss or say why not. A
    second F2 while the first waits does nothing; the fields are read once.
    """

    _reading = False

    def action_submit(self) -> None:
        """F2: read and hand on the fields once what was typed before F2 is in them."""
        if self._reading:
            return
        self._reading = True
        when_typed(self, self._read_now)

    def _read_now(self) -> None:
        self._reading = False
        if self.is_attached and self.app.screen is self:  # not closed or covered meanwhile
            self.submit_now()

    def submit_now(self) -> None:
        """Read the fields and hand them on (each dialog's own)."""
        raise NotImplementedError
