"""A screen of text to read (the training briefing, the debrief), closed with Enter."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from titrator.tui.screens.marks import MarkedScreen


class TextScreen(MarkedScreen[None]):
    """A heading, scrollable text, and Enter to go on."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "done", "Continue")]

    def __init__(self, heading: str, text: str, hint: str) -> None:
        super().__init__()
        self.heading = heading
        self.text = text
        self.hint = hint

    def compose(self) -> ComposeResult:
        """The text in a scroll view."""
        yield Header()
        with VerticalScroll(id="text-screen"):
            yield Static(self.heading, classes="modal-title")
            yield Static(self.text, markup=False)
            yield Static(self.hint, classes="hint-line")
        yield Footer()

    def on_mount(self) -> None:
        """Scroll with the keys."""
        self.sub_title = self.heading
        self.query_one(VerticalScroll).focus()

    def action_done(self) -> None:
        """Go on."""
        self.dismiss(None)
