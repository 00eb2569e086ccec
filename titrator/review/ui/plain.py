"""Text from a log or a store, shown exactly as it was written.

Textual reads Rich markup in a `Static`'s text and in a `DataTable`'s string cells: a nurse's
note saying "saw [b]rash" would be shown as "saw rash", and one containing "[/]" would stop the
screen with a markup error. Everything the review app shows comes from a log or the ward store
(reasons, notes, identifiers, file names, product names), so its statics are made with
`markup=False` and its table cells go through `cells`, which escapes what Rich would read as a
tag: the table then shows the text as written. (Cells as `rich.text.Text` objects would do the
same but cost about 1.4 KB more a row: 28 MiB more for a 20,000-record timeline.)
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.markup import escape

__all__ = ["cells"]


def cells(values: Iterable[object]) -> list[str]:
    """Table cells that show as written: markup-like text escaped, nothing else changed."""
    return [escape(str(value)) for value in values]
