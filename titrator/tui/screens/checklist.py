"""The pre-infusion checklist screen: confirm each item, or mark it not done with a reason.

A thin shell over `titrator.domain.checklist`: the rules (identity cannot be skipped, an item not
done needs a reason) live there; this screen only collects the answers and shows the problems,
every one whole, and checked again as the nurse answers (a fixed problem leaves the list).
Marks read as text: `[x] done`, `[-] not done`, `[ ] to check`.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Footer, Header, Input, Static

from titrator.domain.checklist import (
    ITEMS,
    ChecklistIncomplete,
    ChecklistItem,
    ItemAnswer,
    ItemStatus,
    validate_checklist,
)
from titrator.tui.screens.fields import FieldInput
from titrator.tui.screens.marks import MarkedScreen, placeholder, problem_lines


class ChecklistRow(Horizontal, can_focus=True):
    """One item: its mark, its text, and (when not done) the reason.

    Its keys (y or space, n) are the screen's: see `ChecklistScreen`.
    """

    status: reactive[ItemStatus | None] = reactive(None)
    """The nurse's answer so far (None: not answered)."""

    class Answered(Message):
        """The nurse answered (or changed the answer to) an item."""

    def __init__(self, item: ChecklistItem) -> None:
        super().__init__(id=f"item-{item.id}", classes="checklist-row")
        self.item = item

    def compose(self) -> ComposeResult:
        """Mark, label and the reason box (hidden until needed)."""
        yield Static(self._mark(), classes="mark", markup=False)
        yield Static(self.item.label, classes="item-label")
        reason = FieldInput(
            placeholder=placeholder("reason not done"), compact=True, classes="reason"
        )
        reason.display = False
        yield reason

    def _mark(self) -> str:
        if self.status is ItemStatus.CONFIRMED:
            return "[x] done"
        if self.status is ItemStatus.NOT_DONE:
            return "[-] not done"
        return "[ ] to check"

    def watch_status(self) -> None:
        """Redraw the mark; show the reason box only for items not done."""
        if not self.is_mounted:
            return
        self.query_one(".mark", Static).update(self._mark())
        self.query_one(".reason", Input).display = self.status is ItemStatus.NOT_DONE
        self.post_message(self.Answered())

    def action_confirm(self) -> None:
        """Mark the item done."""
        self.status = ItemStatus.CONFIRMED
        self.screen.focus_next()

    def action_not_done(self) -> None:
        """Mark the item not done and ask for the reason."""
        self.status = ItemStatus.NOT_DONE
        # At once (`Widget.focus` waits for the app's queue, behind the keys typed next).
        self.screen.set_focus(self.query_one(".reason", Input))

    def answer(self) -> ItemAnswer | None:
        """The answer as the core wants it, or None when unanswered."""
        if self.status is None:
            return None
        return ItemAnswer(
            item_id=self.item.id,
            status=self.status,
            reason=self.query_one(".reason", Input).value,
        )


class ChecklistScreen(MarkedScreen[tuple[ItemAnswer, ...]]):
    """All checklist items; dismisses with the validated answers."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,space", "confirm_item", "Confirm item", priority=True),
        Binding("n", "not_done_item", "Not done (give reason)", priority=True),
        Binding("f2", "next", "Next: plan preview", id="checklist-next"),
        Binding("enter", "reason_done", "Reason done", priority=True, show=False),
    ]
    """The item keys and the reason's Enter are priority keys: each acts, and moves the focus,
    as the app reads it, so the keys typed after it go to the item or box it moved to. Handled
    on the way back up from the item, as a plain key is, the focus moved only later: in a
    burst (a fast nurse, or keys queued while the app was busy) the letters of a reason were
    taken as item keys (its space confirmed the item just marked not done) and a `y` went into
    the reason. They act only where they mean something (`check_action`): in a reason box `y`,
    `n` and space are letters."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Item keys on an item; the reason's Enter in a reason box."""
        if action in ("confirm_item", "not_done_item"):
            return self._focused_row() is not None
        if action == "reason_done":
            focused = self.focused
            return isinstance(focused, Input) and focused.has_class("reason")
        return True

    def _focused_row(self) -> ChecklistRow | None:
        focused = self.focused
        return focused if isinstance(focused, ChecklistRow) else None

    def action_confirm_item(self) -> None:
        """Y or space on an item: done."""
        if (row := self._focused_row()) is not None:
            row.action_confirm()

    def action_not_done_item(self) -> None:
        """N on an item: not done, and the reason next."""
        if (row := self._focused_row()) is not None:
            row.action_not_done()

    def action_reason_done(self) -> None:
        """Enter in a reason box: on to the next item."""
        self.focus_next()

    def compose(self) -> ComposeResult:
        """Instructions, the items, and the problem list."""
        yield Header()
        yield Static(
            "Pre-infusion checks. On each item: y or space = done, n = not done (then type why).",
            classes="instructions",
        )
        with VerticalScroll(id="checklist"):
            for item in ITEMS:
                yield ChecklistRow(item)
        with Vertical(id="checklist-status"):
            yield Static("", id="detail")
            yield Static("", id="problems")
        yield Footer()

    def on_mount(self) -> None:
        """Start on the first item."""
        self.sub_title = "pre-infusion checklist"
        self.query_one(ChecklistRow).focus()

    @on(ChecklistRow.Answered)
    @on(Input.Changed, ".reason")
    def _answer_changed(self) -> None:
        """Once problems are shown, keep the list true to the answers as they change."""
        if self._problems_shown:
            self._show_problems(self._check())

    def on_descendant_focus(self) -> None:
        """Show what to check for the focused item."""
        focused = self.focused
        row = focused if isinstance(focused, ChecklistRow) else None
        if row is None and focused is not None and isinstance(focused.parent, ChecklistRow):
            row = focused.parent
        if row is not None:
            hard = " (must be confirmed)" if row.item.hard else ""
            self.query_one("#detail", Static).update(row.item.detail + hard)

    _problems_shown = False
    """True while the problem list is on screen."""

    def _check(self) -> tuple[ItemAnswer, ...] | dict[str, str]:
        """Validate the answers in the core: the answers, or item id -> problem."""
        answers = {
            row.item.id: answer
            for row in self.query(ChecklistRow)
            if (answer := row.answer()) is not None
        }
        try:
            return validate_checklist(answers)
        except ChecklistIncomplete as incomplete:
            return dict(incomplete.problems)

    def _show_problems(self, checked: tuple[ItemAnswer, ...] | dict[str, str]) -> None:
        """Every problem, whole (the list above scrolls; lines wrap); none when all is well."""
        problems = checked if isinstance(checked, dict) else {}
        self._problems_shown = bool(problems)
        labels = {item.id: item.label for item in ITEMS}
        named = [(labels.get(item_id, item_id), text) for item_id, text in problems.items()]
        text = "\n".join(problem_lines("Please complete", "item", named)) if named else ""
        self.query_one("#problems", Static).update(text)

    def action_next(self) -> None:
        """Validate the answers in the core; hand them on or list what is missing."""
        checked = self._check()
        self._show_problems(checked)
        if isinstance(checked, dict):
            first = next(iter(checked))
            self.query_one(f"#item-{first}", ChecklistRow).focus()
            return
        self.dismiss(checked)
