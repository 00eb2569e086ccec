"""The folder summary screen: the same figures as `titrator review --summary`."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from titrator.review.model import SessionReview
from titrator.review.summary import SUMMARY_COLUMNS, summarise, summary_row


class FolderSummaryScreen(Screen[None]):
    """Per product and indication: infusions, reactions, overrides, medians."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("q", "app.quit", "Quit"),
    ]
    """Keys: Esc back, q quit."""

    def __init__(self, reviews: list[SessionReview]) -> None:
        super().__init__()
        self.summary = summarise(reviews)

    def compose(self) -> ComposeResult:
        """Table and notes."""
        yield Header()
        yield DataTable(id="summary", cursor_type="row", zebra_stripes=True)
        notes = [
            f"{self.summary.logs} log(s). Reactions: total (mild/moderate/severe/not graded). "
            "Time to final rate: start to the plan's last step (infusions that reached it). "
            "Chair time: session opened to closed (closed sessions)."
        ]
        if self.summary.damaged:
            notes.append(
                f"✗ {len(self.summary.damaged)} damaged log(s) counted with what is readable: "
                + ", ".join(p.name for p in self.summary.damaged)
            )
        yield Static("\n".join(notes), id="notes")
        yield Footer()

    def on_mount(self) -> None:
        """Fill the table."""
        self.sub_title = "summary by product and indication"
        table = self.query_one("#summary", DataTable)
        table.add_columns(*SUMMARY_COLUMNS)
        for group in self.summary.groups:
            table.add_row(*summary_row(group))
