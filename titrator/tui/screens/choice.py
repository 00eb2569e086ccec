"""A choice list whose list of options is built the first time it opens.

Textual's `Select` composes, for each choice list, the line that shows the choice and the
option list that opens under it (an `OptionList`, hidden until opened). On the setup screen's
first frame no list is open, and the seven hidden option lists cost about 47 ms of a 350 ms
start (issue 17: measured against the same form without them). `ChoiceList` is the same
`Select`, with the same keys (Enter, Space, Up or Down open it; type to search; Enter picks;
Escape closes), the same text and value, and the same `Select.Changed` messages; only its option
list is mounted when it first opens, by key or by mouse.

It depends on how `Select` (Textual 8.2) looks up its option list: the methods below that
touch the list do nothing without it, and build it, with the options and the highlighted value
that `Select` would have given it, before it opens. `tests/tui/test_choice_list.py` checks the
behaviour against a plain `Select`.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.widgets import Select
from textual.widgets._select import NoSelection, SelectCurrent, SelectOverlay

ValueT = TypeVar("ValueT")


class ChoiceList(Select[ValueT]):
    """A `Select` whose option list is mounted when it first opens (see the module)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,down,space,up", "open_list", "Show menu", show=False),
    ]

    _overlay: SelectOverlay | None = None
    """The option list, once built."""

    def compose(self) -> ComposeResult:
        """The line that shows the choice; the option list comes when it first opens."""
        yield SelectCurrent(self.prompt)

    async def _build_list(self) -> None:
        """Mount the option list with the options, highlighting the current value."""
        if self._overlay is not None:
            return
        overlay = SelectOverlay(type_to_search=self._type_to_search)
        overlay.compact = self.compact
        self._overlay = overlay
        await self.mount(overlay)
        super()._setup_options_renderables()
        for index, (_prompt, value) in enumerate(self._options):
            if value == self.value:
                overlay.highlighted = index
                break

    async def action_open_list(self) -> None:
        """Enter, Space, Up or Down: build the list if it is not yet, then open it."""
        await self._build_list()
        self.action_show_overlay()

    def _watch_expanded(self, expanded: bool) -> None:
        if expanded and self._overlay is None:  # opened by the mouse before any key
            self.expanded = False
            self.run_worker(self.action_open_list(), exclusive=True)
            return
        super()._watch_expanded(expanded)

    def _setup_options_renderables(self) -> None:
        if self._overlay is not None:
            super()._setup_options_renderables()

    def _watch_value(self, value: ValueT | NoSelection) -> None:
        if self._overlay is not None:
            super()._watch_value(value)
            return
        # What `Select._watch_value` does, without a list to highlight the value in.
        self._value = value
        try:
            current = self.query_one(SelectCurrent)
        except NoMatches:
            return
        if value == self.NULL:
            current.update(self.NULL)
        else:
            for prompt, option in self._options:
                if option == value:
                    current.update(prompt)
                    break
        self.post_message(self.Changed(self, value))

    def _watch_prompt(self, prompt: str) -> None:
        if self._overlay is not None:
            super()._watch_prompt(prompt)
            return
        if not self.is_mounted:
            return
        current = self.query_one(SelectCurrent)
        current.placeholder = prompt
        if self._allow_blank and self.value == self.NULL:
            current.update(self.NULL)
