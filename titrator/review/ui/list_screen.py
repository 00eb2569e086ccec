"""The session list: one row per log, sortable and filterable; Enter opens the session.

Each row names its file (the last column, and in full under the table for the highlighted row);
a demo or training log says TRAINING in its outcome, and the counts line says how many there are.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Final

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from titrator.review.integrity import IntegrityStatus
from titrator.review.listing import SessionListing
from titrator.review.marks import TRAINING_MARK
from titrator.review.ui.plain import cells

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

COLUMNS: Final[tuple[tuple[str, Callable[[SessionListing], Any]], ...]] = (
    ("Start (UTC)", lambda r: r.started_at or _EPOCH),
    ("Integrity", lambda r: r.integrity.value),
    ("Outcome", lambda r: _outcome(r)),
    ("Patient", lambda r: r.patient_id or ""),
    ("Product — indication", lambda r: _product(r)),
    ("React.", lambda r: r.reactions),
    ("Overr.", lambda r: r.overrides),
    ("File", lambda r: r.path.name),
)
"""Column titles and the sort key of each."""


def _outcome(review: SessionListing) -> str:
    return f"{TRAINING_MARK}: {review.outcome.value}" if review.training else review.outcome.value


def file_line(review: SessionListing) -> str:
    """The line under the table: the highlighted log's file, and TRAINING with why."""
    line = f"File: {review.path.name}"
    if review.training:
        line += f" — {TRAINING_MARK} (not a real patient): {'; '.join(review.training_marks)}"
    return line


def _product(review: SessionListing) -> str:
    return f"{review.product_name or review.product_id or '?'} — {review.indication_id or '?'}"


def row_cells(review: SessionListing) -> tuple[str, ...]:
    """The list row of a review (what the filter matches, too)."""
    start = review.started_at
    return (
        start.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if start else "—",
        review.integrity.label,
        _outcome(review),
        review.patient_id or "—",
        _product(review),
        str(review.reactions),
        str(review.overrides),
        review.path.name,
    )


class SessionListScreen(Screen[None]):
    """All the logs opened, one row each."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
        Binding("r", "reverse", "Reverse"),
        Binding("m", "summary", "Summary"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("q", "app.quit", "Quit"),
    ]
    """Keys: / filter, s next sort column, r reverse, m summary, Enter open, q quit."""

    def __init__(
        self,
        include_training: bool = False,
        open_session: Callable[[Path], None] | None = None,
    ) -> None:
        super().__init__()
        self.open_session = open_session
        """Opens a log's session screen (the app reads the full review again)."""
        self.include_training = include_training
        """Count training logs in the folder summary (`titrator review --include-training`)."""
        self.reviews: list[SessionListing] = []
        self.note = ""
        self.loaded = False
        """True once `show` has been called (the logs are read)."""
        self.sort_column = 0
        self.descending = False
        self.text_filter = ""

    def compose(self) -> ComposeResult:
        """Header, counts line, filter box (hidden), the table, the file line, footer."""
        yield Header()
        yield Static("Loading logs…", id="counts", markup=False)
        yield Input(placeholder="filter: any text in a row (Esc clears)", id="filter")
        yield DataTable(id="sessions", cursor_type="row", zebra_stripes=True)
        yield Static("", id="file", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        """Set the columns."""
        table = self.query_one("#sessions", DataTable)
        table.add_columns(*(title for title, _ in COLUMNS))
        self.query_one("#filter", Input).display = False
        table.focus()
        if self.loaded:
            self._update_view()

    def show(self, reviews: list[SessionListing], note: str = "") -> None:
        """Show these logs (called once the logs are read; before or after mounting)."""
        self.reviews = reviews
        self.note = note
        self.loaded = True
        if self.is_mounted:
            self._update_view()

    def _update_view(self) -> None:
        reviews, note = self.reviews, self.note
        counts = {s: 0 for s in IntegrityStatus}
        for review in reviews:
            counts[review.integrity] += 1
        text = f"{len(reviews)} log(s): " + ", ".join(f"{n} {s.label}" for s, n in counts.items())
        training = sum(r.training for r in reviews)
        if training:
            text += f"; {training} {TRAINING_MARK} (demo, train)"
        self.query_one("#counts", Static).update(text + (f" — {note}" if note else ""))
        self.refill()

    def shown_reviews(self) -> list[SessionListing]:
        """The reviews that pass the filter, in the current order."""
        needle = self.text_filter.casefold()
        shown = [
            r for r in self.reviews if not needle or needle in " ".join(row_cells(r)).casefold()
        ]
        key = COLUMNS[self.sort_column][1]
        return sorted(shown, key=key, reverse=self.descending)

    def refill(self) -> None:
        """Rebuild the rows from the filter and the sort order."""
        table = self.query_one("#sessions", DataTable)
        table.clear()
        shown = self.shown_reviews()
        for review in shown:
            table.add_row(*cells(row_cells(review)), key=str(review.path))
        row = table.cursor_row
        current = shown[row] if 0 <= row < len(shown) else None
        self.query_one("#file", Static).update(file_line(current) if current is not None else "")
        arrow = "▼" if self.descending else "▲"
        self.sub_title = f"sorted by {COLUMNS[self.sort_column][0]} {arrow}" + (
            f", filter “{self.text_filter}”" if self.text_filter else ""
        )

    def action_filter(self) -> None:
        """Show and focus the filter box."""
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        """Clear and hide the filter."""
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self.text_filter = ""
        self.refill()
        self.query_one("#sessions", DataTable).focus()

    @on(DataTable.RowHighlighted, "#sessions")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        path = event.row_key.value
        review = next((r for r in self.reviews if str(r.path) == path), None)
        self.query_one("#file", Static).update(file_line(review) if review is not None else "")

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.text_filter = event.value
        self.refill()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one("#sessions", DataTable).focus()

    def action_sort(self) -> None:
        """Sort by the next column."""
        self.sort_column = (self.sort_column + 1) % len(COLUMNS)
        self.refill()

    def action_reverse(self) -> None:
        """Reverse the order."""
        self.descending = not self.descending
        self.refill()

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        if event.column_index == self.sort_column:
            self.descending = not self.descending
        self.sort_column = event.column_index
        self.refill()

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        path = event.row_key.value
        listing = next((r for r in self.reviews if str(r.path) == path), None)
        if listing is not None and self.open_session is not None:
            self.open_session(listing.path)

    def action_summary(self) -> None:
        """Open the folder summary."""
        from titrator.review.ui.summary_screen import FolderSummaryScreen

        self.app.push_screen(FolderSummaryScreen(self.reviews, self.include_training))
