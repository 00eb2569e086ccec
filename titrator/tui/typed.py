"""Keys typed before a priority key: wait until they have reached their fields.

Priority bindings (F2 in dialogs, Tab in forms, F9 STOP) are handled as soon as the app reads
the key. The keys typed just before may still be on their way to the field they were sent to
and, for a binding such as a tick list's Space, up to the app. A screen that reads its fields
on such a key reads them through `when_typed`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.dom import DOMNode
from textual.screen import Screen


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
