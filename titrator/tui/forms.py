"""What the setup and pre-infusion forms share: fields, rows, reading, problems, "more below".

A form screen builds its fields with `text_box` and `choice` (filled from `initial`, hints as
placeholders that cannot pass for typed text), lays them out one or two to a row (`row`,
`cell`), reads them back exactly as typed (`raw_fields`), and shows the core's problems as one
line per problem naming the field, the problem and the text as typed (`problem_text`,
`show_problems`), marking each field with a problem (in words too: the list names it).

The form scrolls inside a `FormScroll`; when not all of it fits, a line below it says so in
words ("more below"), and the focused field is kept in view when the status below the form grows.
A Next button under the form (always on screen) does what the footer's F2 does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar, TypeVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.css.scalar import Scalar, Unit
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static

from titrator.tui.screens.choice import ChoiceList
from titrator.tui.screens.fields import FieldInput, ScanInput
from titrator.tui.screens.marks import MarkedScreen, placeholder, problem_lines

ResultT = TypeVar("ResultT")

LABEL_WIDTH = 15
"""Columns of a field's label (the longest label, 'Round to vials', and a space)."""
WIDE = "1fr"
"""A field that takes the rest of its row."""


def _is_fraction(width: Scalar | None) -> bool:
    return width is not None and width.unit == Unit.FRACTION


def _cells(width: Scalar | None) -> int:
    """A widget's width in a fixed-width part of a row: set in columns (`FormScreen.cell`)."""
    if width is None or width.unit != Unit.CELLS:
        raise ValueError(f"a widget in a part of fixed width needs a width in columns: {width}")
    return int(width.value)


def show_text(widget: Static, text: str) -> None:
    """Put `text` on `widget` if it is not already there.

    Textual lays the whole screen out again after every update of a line of text; the forms
    re-derive their lines on every key, mostly to the same text (issue 17).
    """
    if widget.content != text:
        widget.update(text)


def problem_text(reason: str, raw: str) -> str:
    """One problem as the form lists it: the reason and the text as typed (or that none was)."""
    if raw == "":
        return f"{reason} (nothing entered)"
    return f"{reason} (typed {raw!r})"


def more_text(above: bool, below: bool) -> str:
    """What the line under a scrolled form says, in words ('' when the form fits)."""
    if below and above:
        return "▲▼ More above and below: Tab moves on, PgUp/PgDn scroll"
    if below:
        return "▼ More below: Tab moves on, PgDn scrolls"
    if above:
        return "▲ More above: Shift+Tab moves back, PgUp scrolls"
    return ""


class FormScroll(VerticalScroll):
    """The scrolling form; keeps a sibling line saying in words whether there is more."""

    def __init__(self, *children: Widget, form_id: str, more_id: str) -> None:
        super().__init__(*children, id=form_id, classes="form-scroll")
        self.more_id = more_id

    def on_mount(self) -> None:
        """Say again whenever the scroll position, the content or the size changes."""
        self.watch(self, "scroll_y", self._say_more, init=False)
        self.watch(self, "virtual_size", self._say_more, init=False)

    def on_resize(self) -> None:
        """The status below grew or shrank, or the terminal did: say again."""
        self._say_more()
        focused = self.screen.focused
        if focused is not None and focused in self.walk_children():
            self.call_after_refresh(self.scroll_to_widget, focused, animate=False)

    def _say_more(self, *_: object) -> None:
        more = self.screen.query_one(f"#{self.more_id}", Static)
        # The line takes a row from the form while shown: count that row as the form's, so
        # the line goes when hiding it would let the rest fit (and does not come back).
        view = self.scrollable_content_region.height + (1 if more.display else 0)
        below = round(self.scroll_y) + view < self.virtual_size.height
        text = more_text(round(self.scroll_y) > 0, below)
        show_text(more, text)
        more.display = bool(text)


class FormScreen(MarkedScreen[ResultT]):
    """A form: its fields from `initial`, its problems listed and marked, Tab between fields.

    Subclasses compose the form with the helpers below and implement `action_next`.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "app.focus_next", "Next field", priority=True, show=False),
        Binding("shift+tab", "app.focus_previous", "Previous field", priority=True, show=False),
    ]

    def __init__(self, initial: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.initial = dict(initial or {})
        self._labels: dict[str, str] = {}
        """Form label of each field, for the problem list."""
        self._problems_shown = False
        """True while the problem list is on screen (it is then re-checked on every change)."""
        self._fields: tuple[list[Input], list[Select[str]]] | None = None
        """The form's text boxes and choice lists (`_field_widgets`)."""

    # -- building ---------------------------------------------------------------------------

    def text_box(
        self, field: str, label: str, hint: str = "", width: int | str = 20, *, scan: bool = False
    ) -> FieldInput:
        """A text field named `field`, filled from `initial`, with its hint as placeholder."""
        self._labels[field] = label
        box = (ScanInput if scan else FieldInput)(
            value=self.initial.get(field, ""),
            placeholder=placeholder(hint) if hint else "",
            id=field,
            compact=True,
        )
        box.styles.width = width
        return box

    def choice(
        self,
        field: str,
        label: str,
        options: list[tuple[str, str]],
        width: int | str | None = None,
        *,
        default: str | None = None,
    ) -> ChoiceList[str]:
        """A choice list; blank ('‹choose›') unless `initial` or `default` names an option.

        A `ChoiceList`: a `Select` whose option list is built when it first opens (issue 17).
        """
        self._labels[field] = label
        value = self.initial.get(field, default)
        select: ChoiceList[str] = ChoiceList(
            options,
            prompt=placeholder("choose"),
            id=field,
            compact=True,
            allow_blank=default is None,
            value=value if value in {v for _, v in options} else Select.NULL,
        )
        if width is not None:
            select.styles.width = width
        return select

    @staticmethod
    def row(*parts: Widget | Sequence[Widget], row_id: str | None = None) -> Horizontal:
        """One line of the form: cells (`cell`) or labelled widgets side by side."""
        widgets: list[Widget] = []
        for part in parts:
            widgets.extend([part] if isinstance(part, Widget) else part)
        return Horizontal(*widgets, id=row_id, classes="form-row")

    @staticmethod
    def line(label: str, *widgets: Widget) -> Horizontal:
        """One line of the form: a label and its widgets."""
        return Horizontal(Label(label, classes="field-label"), *widgets, classes="form-row")

    @staticmethod
    def cell(
        label: str, *widgets: Widget, group: str | None = None, width: int | None = None
    ) -> list[Widget]:
        """A label and its widgets, as one part of a row: `width` columns, or what is left.

        The part has no container of its own, its widgets sit in the row (issue 17: a container
        per part was 22 of the setup screen's 133 widgets, and Textual's start-up time grows
        with the count). A part of `width` columns (the first of two in a row) is filled out by
        its `WIDE` widget, or else by the last widget's right margin; every other widget in it
        has its width set in columns. Each part ends with one column of space. `group` is a
        class given to the label and the widgets, to show or hide the part as one.
        """
        name = Label(label, classes="field-label")
        name.styles.width = LABEL_WIDTH
        parts: list[Widget] = [name, *widgets]
        if group is not None:
            for part in parts:
                part.add_class(group)
        last = widgets[-1]
        spare = 0
        if width is not None:
            flexible = [w for w in widgets if _is_fraction(w.styles.width)]
            used = LABEL_WIDTH + 1 + sum(w.styles.margin.width for w in widgets)
            used += sum(_cells(w.styles.width) for w in widgets if w not in flexible)
            for widget in flexible:
                widget.styles.width = (width - used) // len(flexible)
            spare = 0 if flexible else width - used
        top, right, bottom, left = last.styles.margin
        last.styles.margin = (top, right + 1 + spare, bottom, left)
        return parts

    @staticmethod
    def next_button(label: str) -> Horizontal:
        """The button that does what F2 does, in the status area below the form (always seen)."""
        button = Button(label, id="form-next", action="screen.next", compact=True)
        return Horizontal(button, classes="form-buttons")

    # -- reading ----------------------------------------------------------------------------

    def submitted(self, field: str) -> bool:
        """Whether `field` is handed over (a subclass leaves out fields it hides)."""
        return True

    def _field_widgets(self) -> tuple[list[Input], list[Select[str]]]:
        """The form's text boxes and choice lists, found once the form is composed.

        A form's fields are composed once and never added or removed, so the DOM is searched
        once, not on every key (it was 1.3 ms a search on the setup screen, issue 17).
        """
        if self._fields is None:
            boxes = [box for box in self.query(Input) if box.id]
            selects: list[Select[str]] = [select for select in self.query(Select) if select.id]
            if not boxes and not selects:
                return boxes, selects  # not composed yet: search again next time
            self._fields = (boxes, selects)
        return self._fields

    def raw_fields(self) -> dict[str, str]:
        """Every submitted field exactly as typed or chosen ('' for nothing chosen)."""
        raw: dict[str, str] = {}
        boxes, selects = self._field_widgets()
        for box in boxes:
            if box.id and self.submitted(box.id):
                raw[box.id] = box.value
        for select in selects:
            if select.id and self.submitted(select.id):
                value = select.value
                raw[select.id] = "" if value is Select.NULL else str(value)
        return raw

    # -- problems ---------------------------------------------------------------------------

    def show_problems(self, problems: list[tuple[str, str]]) -> Widget | None:
        """List every problem whole and mark each field named; the first marked field, if any.

        The list wraps and grows (the form above it scrolls); it is hidden when empty.
        """
        self._problems_shown = bool(problems)
        named = [(self._labels.get(field, field), text) for field, text in problems]
        text = "\n".join(problem_lines("Please correct", "field", named)) if named else ""
        shown = self.query_one("#problems", Static)
        show_text(shown, text)
        shown.display = bool(text)  # an empty line would take a row from the form
        for widget in self.query(".-invalid"):
            widget.remove_class("-invalid")
        first: Widget | None = None
        for field, _ in problems:
            for widget in self.query(f"#{field}"):
                widget.add_class("-invalid")
                first = first or widget
        return first

    def refuse(self, problems: list[tuple[str, str]]) -> None:
        """Show the problems and put the focus on the first field named (in view)."""
        first = self.show_problems(problems)
        if first is not None and first.focusable:
            first.focus()
            self.call_after_refresh(first.scroll_visible, animate=False)
