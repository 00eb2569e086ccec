"""`ChoiceList` behaves as Textual's `Select` does; only its option list is built later.

Each test drives a `ChoiceList` and a plain `Select` with the same options side by side, with
the same keys or clicks, and compares what the nurse sees and what the screen is told (values
and `Select.Changed` messages). The option list of a `ChoiceList` is not mounted before it
first opens (the start-up saving, issue 17).
"""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.widget import Widget
from textual.widgets import Input, Select
from textual.widgets._select import SelectOverlay

from titrator.tui.screens.choice import ChoiceList

OPTIONS = [("female", "female"), ("male", "male"), ("not stated", "unknown")]


class Pair(App[None]):
    """A plain Select and a ChoiceList, each after a text box, recording Changed messages."""

    def __init__(self, value: Any = Select.NULL, allow_blank: bool = True) -> None:
        super().__init__()
        self.value = value
        self.allow_blank = allow_blank
        self.changes: dict[str, list[object]] = {"plain": [], "lazy": []}

    def compose(self) -> ComposeResult:
        kwargs: dict[str, Any] = {"value": self.value, "allow_blank": self.allow_blank}
        yield Input(id="before-plain")
        yield Select(OPTIONS, id="plain", compact=True, **kwargs)
        yield Input(id="before-lazy")
        yield ChoiceList(OPTIONS, id="lazy", compact=True, **kwargs)

    def on_select_changed(self, event: Select.Changed) -> None:
        assert event.select.id is not None
        self.changes[event.select.id].append(event.value)

    def widget(self, name: str) -> Select[str]:
        return self.query_one(f"#{name}", Select)


def focused(app: App[None]) -> Widget | None:
    return app.focused


def is_open(choice: Select[str]) -> bool:
    return bool(choice.expanded)


def shown(app: Pair, name: str) -> str:
    """The text the choice shows on its line."""
    return " ".join(str(w.render()) for w in app.widget(name).query("SelectCurrent Static"))


async def drive(keys: list[str], **kwargs: Any) -> tuple[object, list[object]]:
    """The same keys to each; the value picked and the lazy one's Changed messages."""
    app = Pair(**kwargs)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not app.widget("lazy").query(SelectOverlay)  # not built at start
        for name in ("plain", "lazy"):
            app.widget(name).focus()
            await pilot.press(*keys)
            await pilot.pause()
        assert app.widget("lazy").value == app.widget("plain").value
        assert shown(app, "lazy") == shown(app, "plain")
        assert app.changes["lazy"] == app.changes["plain"]
        return app.widget("lazy").value, app.changes["lazy"]


async def test_enter_down_enter_picks_the_same_option() -> None:
    value, _ = await drive(["enter", "down", "enter"])
    assert value == "female"  # the blank prompt first, then female


async def test_a_preset_value_opens_highlighted_and_up_moves_from_it() -> None:
    value, _ = await drive(["enter", "up", "enter"], value="unknown", allow_blank=False)
    assert value == "male"


async def test_typing_searches_and_escape_closes_without_a_change() -> None:
    value, _ = await drive(["space", "n", "enter"])
    assert value == "unknown"
    value, changes = await drive(["down", "escape"], value="male")
    assert value == "male"
    assert changes == ["male"]


async def test_the_value_shown_before_the_list_is_built_matches() -> None:
    app = Pair(value="male")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "male" in shown(app, "lazy")
        assert shown(app, "lazy") == shown(app, "plain")
        for name in ("plain", "lazy"):
            app.widget(name).value = "female"
        await pilot.pause()
        assert shown(app, "lazy") == shown(app, "plain")
        assert not app.widget("lazy").query(SelectOverlay)
        assert app.changes["lazy"] == app.changes["plain"] == ["male", "female"]


async def test_options_set_before_opening_are_the_ones_offered() -> None:
    app = Pair()
    new = [("primary immunodeficiency", "pi"), ("ITP", "itp")]
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for name in ("plain", "lazy"):
            app.widget(name).set_options(new)
            app.widget(name).focus()
            await pilot.press("enter", "down", "down", "enter")
            await pilot.pause()
        assert app.widget("lazy").value == app.widget("plain").value == "itp"
        overlay = app.widget("lazy").query_one(SelectOverlay)
        assert overlay.option_count == 3  # the blank prompt and the two new options


async def test_a_click_opens_the_list_and_a_second_picks() -> None:
    app = Pair()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        choice = app.widget("lazy")
        await pilot.click(choice)
        await pilot.pause()
        assert is_open(choice)
        overlay = choice.query_one(SelectOverlay)
        assert overlay.display
        assert focused(app) is overlay
        await pilot.press("down", "enter")
        await pilot.pause()
        assert choice.value == "female"
        assert not is_open(choice)
        assert focused(app) is choice
