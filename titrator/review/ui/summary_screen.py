"""The folder summary screen: the same tables and notes as `titrator review --summary`.

Training logs (demo, train) are left out of the figures unless the app was started with
`--include-training`; `t` counts them in or leaves them out again, and the notes say how many.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from titrator.review.listing import SessionListing
from titrator.review.summary import FolderSummary, summarise_figures, summary_table

MIN_WIDTH = 60
"""The narrowest the tables are laid out for (narrower terminals scroll)."""


class FolderSummaryScreen(Screen[None]):
    """Per product and indication: infusions, reactions, overrides, medians."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("t", "training", "Training in/out"),
        Binding("q", "app.quit", "Quit"),
    ]
    """Keys: Esc back, t count training logs in or out, q quit."""

    def __init__(self, reviews: list[SessionListing], include_training: bool = False) -> None:
        super().__init__()
        self.reviews = reviews
        self.include_training = include_training
        self.summary: FolderSummary = self._summarise()

    def _summarise(self) -> FolderSummary:
        return summarise_figures(
            (r.figures for r in self.reviews), include_training=self.include_training
        )

    def compose(self) -> ComposeResult:
        """The tables and notes, scrollable."""
        yield Header()
        with VerticalScroll():
            yield Static(id="summary", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        """Lay the tables out for the screen's width."""
        self.refill()

    def refill(self) -> None:
        """Compute the figures (training in or out) and show them."""
        self.summary = self._summarise()
        counted = "counted" if self.include_training else "left out"
        self.sub_title = f"summary; training logs {counted}"
        width = max(MIN_WIDTH, self.app.size.width - 2)
        text = summary_table(self.summary, width, include_hint="t counts them", full_paths=False)
        self.query_one("#summary", Static).update(text)

    def action_training(self) -> None:
        """Count the training logs in, or leave them out again."""
        self.include_training = not self.include_training
        self.refill()
