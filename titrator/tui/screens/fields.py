"""Text boxes that take a burst of input as a person meant it.

A barcode scanner types its text and a Tab; a paste from a list or a spreadsheet row carries
several values separated by Tabs or line breaks. Each part belongs in the next field, as if the
nurse had typed it and pressed Tab. Without this a paste lands whole in one box (Textual keeps
only its first line, Tabs included) and the rest is lost.

Typed keys are a different path: the screens bind Tab as a priority binding, so the focus moves
while the key is dispatched and the keys typed after it land in the next field.
"""

from __future__ import annotations

import re

from textual import events
from textual.widgets import Input

_SEPARATORS = re.compile(r"\r\n|\t|\r|\n")


def paste_parts(text: str) -> list[str]:
    """The fields of a pasted text: split at Tabs and line breaks (a trailing one moves on)."""
    return _SEPARATORS.split(text)


class FieldInput(Input):
    """An `Input` that spreads a pasted text with Tabs or line breaks over the next fields.

    Each part is inserted into the next focusable field, in focus order, as typing it and
    pressing Tab would. The spreading stops at a field that is not a text box (a choice list):
    what is left of the paste is not put anywhere it was not meant for.
    """

    def _on_paste(self, event: events.Paste) -> None:
        parts = paste_parts(event.text)
        if len(parts) == 1:
            return  # Textual calls `Input._on_paste` next (handlers run down the class tree)
        event.stop()
        event.prevent_default()  # not `Input._on_paste` too
        self._insert(parts[0])
        for part in parts[1:]:
            target = self.screen.focus_next()
            if not isinstance(target, Input):
                return
            if isinstance(target, FieldInput):
                target._insert(part)
            else:
                target.insert_text_at_cursor(part)

    def _insert(self, text: str) -> None:
        selection = self.selection
        if selection.is_empty:
            self.insert_text_at_cursor(text)
        else:
            self.replace(text, *selection)


class ScanInput(FieldInput):
    """A `FieldInput` that keeps the GS1 group separator a keyboard-wedge scanner types.

    A GS1 barcode's FNC1 separator arrives as the GS character (chr(29), the key Ctrl+]); a
    plain `Input` drops it as a control key, which would run the lot into the next field of the
    barcode. Here it is inserted as typed, for the barcode parser to split on.
    """

    GS = "\x1d"

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "ctrl+right_square_bracket" or event.character == self.GS:
            event.stop()
            event.prevent_default()
            self.insert_text_at_cursor(self.GS)
