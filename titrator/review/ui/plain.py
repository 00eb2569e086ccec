"""Text from a log or a store, shown exactly as it was written.

Textual reads Rich markup in a `Static`'s text and in a `DataTable`'s string cells: a nurse's
note saying "saw [b]rash" would be shown as "saw rash", and one containing "[/]" would stop the
screen with a markup error. Everything the review app shows comes from a log or the ward store
(reasons, notes, identifiers, file names, product names), so its statics are made with
`markup=False` and its table cells go through `cells`: plain `Text`, never parsed.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text

__all__ = ["cells"]


def cells(values: Iterable[object]) -> list[Text]:
    """Table cells shown as written (no markup read in them); `str(cell)` is the text."""
    return [Text(str(value)) for value in values]
