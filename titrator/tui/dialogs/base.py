"""What every dialog shares: the submit hook, the keys, and reading fields only once typed.

Each dialog is thin. Numbers are checked as typed with the core's own parsers for fast feedback, but
what was typed always goes to the engine, which decides and records it (a refusal keeps the
dialog open, with the engine's reason next to the field).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen

Submit = Callable[[dict[str, str]], str | None]
"""Hands what was typed to the engine; returns the refusal reason, or None when accepted."""

MODAL_BINDINGS: list[BindingType] = [
    Binding("f2", "submit", "Record", priority=True),
    Binding("escape", "cancel", "Cancel"),
]
"""F2 records (a priority binding, so a focused input cannot swallow it); Escape cancels."""

ResultT = TypeVar("ResultT")


def when_typed(screen: Screen[Any], callback: Callable[[], None]) -> None:
    """Run `callback` once the keys typed before now have had their whole effect on `screen`.

    A priority binding (F2) is handled as soon as the app reads the key, while the keys typed
    just before it may still be on their way: a fast nurse, a barcode scanner, or keys queued
    while the app was busy. A key goes first to the focused field's queue (an input inserts its
    character there), then, if the field leaves it, up through each parent's queue to the app,
    which runs its binding (a tick list's Space). Read now, a field could give a value cut
    short ("2" for "21"), nothing at all, or a box not yet ticked.

    So a callback follows the same path behind those keys: from every field that can take
    keys, through each parent's queue, to the app's (each queue is first in, first out). Once
    it has reached the app from every field, `callback` runs after the screen's next refresh.
    """
    fields = [widget for widget in screen.focus_chain if widget.is_attached]
    waiting = len(fields)

    def one_done() -> None:
        nonlocal waiting
        waiting -= 1
        if waiting == 0:
            screen.call_after_refresh(callback)

    def up_from(node: DOMNode) -> None:
        parent = node.parent
        # At the app (no parent) everything typed before has been handled; a closing parent
        # takes no more messages, and nothing more will reach it either.
        if parent is None or not parent.call_later(up_from, parent):
            one_done()

    if not fields:
        screen.call_after_refresh(callback)
        return
    for field in fields:
        if not field.call_later(up_from, field):
            one_done()


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
