"""The session's timeline, one line a record, drawn only where it is on screen.

A `DataTable` measures every cell of every row when the rows are added: a 20,000-record log
took 2.6 s to open and 32 MiB more (issue 17), and a long log could not be opened at all. This
view keeps the timeline's entries (references, not copies) and draws each line when Textual
asks for it (the Line API, `render_line`), as toolong does for large logs: opening costs one
pass over the entries to size the columns. The cursor moves with the keys `DataTable` uses
(Up, Down, Page Up, Page Down, Home, End, a click), and `Highlighted` tells the screen which
entry it is on. The text is the log's, as written: no markup is read in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from titrator.review.fmt import utc_time
from titrator.review.timeline import TimelineEntry

HEADINGS = ("Time (UTC)", "Seq", "Kind", "Nurse", "What")
"""The columns, as the table before this view named them."""
NOT_VOUCHED = "✗"
"""Before the seq of a record the hash chain does not vouch for."""


class TimelineView(ScrollView, can_focus=True):
    """The timeline's lines, under a header line; a cursor picks one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "timeline--header",
        "timeline--even-row",
        "timeline--cursor",
    }

    DEFAULT_CSS = """
    TimelineView {
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        &:focus {
            background-tint: $foreground 5%;
            & > .timeline--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .timeline--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark > .timeline--even-row {
            background: $surface-darken-1 40%;
        }
        & > .timeline--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .timeline--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .timeline--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    cursor: reactive[int] = reactive(0, always_update=True)
    """The index, in the lines shown, of the line the cursor is on."""

    class Highlighted(Message):
        """The cursor is on another line (or the lines changed)."""

        def __init__(self, view: TimelineView, index: int) -> None:
            super().__init__()
            self.view = view
            self.index = index

        @property
        def control(self) -> TimelineView:
            """The view the cursor moved in."""
            return self.view

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self._entries: Sequence[TimelineEntry] = ()
        self._wire_hex = False
        self._widths = tuple(len(h) for h in HEADINGS[:-1])

    # -- what is shown ---------------------------------------------------------------------------

    def show(self, entries: Sequence[TimelineEntry], *, wire_hex: bool = False) -> None:
        """Show these entries (in this order), the cursor on the first."""
        self._entries = entries
        self._wire_hex = wire_hex
        seq = max((len(str(e.seq)) + (not e.vouched) for e in entries), default=0)
        kind = max((len(e.category.value) for e in entries), default=0)
        nurse = max((len(e.nurse_id) for e in entries), default=0)
        self._widths = (
            max(len(HEADINGS[0]), 8),
            max(len(HEADINGS[1]), seq),
            max(len(HEADINGS[2]), kind),
            max(len(HEADINGS[3]), nurse),
        )
        self.virtual_size = Size(0, len(entries) + 1)
        self.scroll_to(y=0, animate=False)
        self.cursor = 0
        self.refresh()

    @property
    def row_count(self) -> int:
        """How many lines are shown (the header not counted)."""
        return len(self._entries)

    @property
    def entry(self) -> TimelineEntry | None:
        """The entry the cursor is on, if any."""
        return self._entries[self.cursor] if 0 <= self.cursor < len(self._entries) else None

    def get_row_at(self, index: int) -> tuple[str, str, str, str, str]:
        """The cells of line `index`: time, seq (✗ when not vouched for), kind, nurse, what."""
        e = self._entries[index]
        seq = str(e.seq) if e.vouched else f"{NOT_VOUCHED}{e.seq}"
        return (utc_time(e.at), seq, e.category.value, e.nurse_id, e.shown(self._wire_hex))

    def _line(self, cells: Sequence[str]) -> str:
        head = [cell.ljust(width) for cell, width in zip(cells, self._widths, strict=False)]
        return " " + "  ".join([*head, cells[-1]])

    # -- drawing ---------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """Line `y` of the view: the header, then the entries from the scroll position."""
        width = self.scrollable_content_region.width
        if y == 0:
            style = self.get_component_rich_style("timeline--header")
            return self._strip(self._line(HEADINGS), style, width)
        index = self.scroll_offset.y + y - 1
        if index >= len(self._entries):
            return Strip.blank(width, self.rich_style)
        if index == self.cursor:
            style = self.get_component_rich_style("timeline--cursor")
        elif index % 2:
            style = self.get_component_rich_style("timeline--even-row")
        else:
            style = self.rich_style
        return self._strip(self._line(self.get_row_at(index)), style, width)

    def _strip(self, text: str, style: Style, width: int) -> Strip:
        return Strip([Segment(text, style)]).crop_extend(0, width, style)

    # -- the cursor ------------------------------------------------------------------------------

    def validate_cursor(self, cursor: int) -> int:
        """Keep the cursor on a line."""
        return max(0, min(cursor, len(self._entries) - 1))

    def watch_cursor(self, old: int, new: int) -> None:
        """Redraw, keep the cursor's line in view, and say where it is."""
        self._keep_cursor_in_view()
        self.refresh()
        self.post_message(self.Highlighted(self, new))

    def _keep_cursor_in_view(self) -> None:
        rows = max(1, self.scrollable_content_region.height - 1)  # the header takes a line
        top = self.scroll_offset.y
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + rows:
            self.scroll_to(y=self.cursor - rows + 1, animate=False, immediate=True)

    def on_resize(self, event: events.Resize) -> None:
        """The view grew or shrank (the detail line under it wraps): the cursor stays seen."""
        self._keep_cursor_in_view()

    def _page(self) -> int:
        return max(1, self.size.height - 2)

    def action_cursor_up(self) -> None:
        """One line up."""
        self.cursor -= 1

    def action_cursor_down(self) -> None:
        """One line down."""
        self.cursor += 1

    def action_page_up(self) -> None:
        """A screenful up."""
        self.cursor -= self._page()

    def action_page_down(self) -> None:
        """A screenful down."""
        self.cursor += self._page()

    def action_first(self) -> None:
        """The first line."""
        self.cursor = 0

    def action_last(self) -> None:
        """The last line."""
        self.cursor = len(self._entries) - 1

    def on_click(self, event: events.Click) -> None:
        """A click puts the cursor on the line clicked (the header does nothing)."""
        if event.y >= 1:
            self.cursor = self.scroll_offset.y + event.y - 1
