"""Meaning in words and marks, never by colour alone: tick boxes, placeholders, footer keys.

Every screen and dialog reads the same as plain text (a screen reader, a monochrome terminal, a
screenshot printed in grey): a ticked box is `[x]`, an unticked one `[ ]`; a placeholder is
shown in angle quotes (`‹optional›`) so it cannot pass for a typed value; a key that is not
available now is marked `✗` in the footer; and F9 STOP is offered only while there is an
infusion to stop (the key itself still answers everywhere).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol, TypeVar, runtime_checkable

from rich.segment import Segment
from textual.binding import ActiveBinding
from textual.screen import Screen
from textual.strip import Strip
from textual.widgets import Checkbox, SelectionList

UNAVAILABLE = "✗"
"""Marks a footer key that is not available now (pressing it says why, or does nothing)."""

STOP_ACTION = "stop"
"""The app's STOP action (F9)."""

_BUTTON = (Checkbox.BUTTON_LEFT, Checkbox.BUTTON_INNER, Checkbox.BUTTON_RIGHT)

ResultT = TypeVar("ResultT")
ValueT = TypeVar("ValueT")


def placeholder(hint: str) -> str:
    """A placeholder that cannot be mistaken for a typed value: '‹hint›'."""
    return f"‹{hint}›"


def problem_lines(heading: str, noun: str, problems: Sequence[tuple[str, str]]) -> list[str]:
    """A problem list that names every field: fields with the same problem share one line.

    Lines are not cut to fit: the widget showing them wraps and grows.

    Args:
        heading: what to do, e.g. 'Please correct'.
        noun: what is counted, e.g. 'field' (the heading says how many).
        problems: (label, problem text) pairs, in screen order.
    """
    grouped: dict[str, list[str]] = {}
    for label, text in problems:
        labels = grouped.setdefault(text, [])
        if label not in labels:
            labels.append(label)
    count = sum(len(labels) for labels in grouped.values())
    lines = [f"{heading} ({count} {noun}{'' if count == 1 else 's'}):"]
    lines += [f"✗ {', '.join(labels)}: {text}" for text, labels in grouped.items()]
    return lines


def tick(ticked: bool) -> str:
    """A tick box as text: '[x]' or '[ ]'."""
    return "[x]" if ticked else "[ ]"


class TickList(SelectionList[ValueT]):
    """A `SelectionList` read as text, ticked in key order.

    Its boxes read `[x]` (ticked) and `[ ]` (not ticked): Textual draws the same 'X' in every box
    and tells them apart by colour only. Space ticks the option highlighted when the key is
    handled (`action_select`).
    """

    def action_select(self) -> None:
        """Space (or a click): tick or untick the highlighted option now, in key order.

        Textual 8.2's `SelectionList` only posts a message here and, when the message arrives,
        toggles whatever is highlighted then. Keys handled in between move the highlight: Space,
        Down, Space in one burst (a fast nurse, or keys queued while the app was busy) toggled
        the second option twice and the first not at all, and a Space just before F2 was
        toggled after the dialog had read its ticks. Toggling here records what was typed.
        """
        highlighted = self.highlighted
        if highlighted is None:
            return
        option = self.get_option_at_index(highlighted)
        if not option.disabled:
            self.toggle(option)

    def render_line(self, y: int) -> Strip:
        """The line as drawn by the SelectionList, with its box written as `[x]` or `[ ]`."""
        line = super().render_line(y)
        segments = list(line)
        if len(segments) < 3 or tuple(s.text for s in segments[:3]) != _BUTTON:
            return line  # not an option's line (past the end of the list)
        _, scroll_y = self.scroll_offset
        option = self.get_option_at_index(scroll_y + y)
        box = tick(option.value in self.selected)
        marks = [Segment(char, seg.style) for char, seg in zip(box, segments[:3], strict=True)]
        return Strip([*marks, *segments[3:]], line.cell_length)


@runtime_checkable
class StopHost(Protocol):
    """An app that knows whether there is an infusion to stop."""

    @property
    def infusion_active(self) -> bool:
        """A session is open and not yet closed or aborted."""
        ...


def footer_bindings(
    bindings: dict[str, ActiveBinding], *, stop_offered: bool
) -> dict[str, ActiveBinding]:
    """The footer's keys, read as text: unavailable keys marked, STOP left out when idle.

    Args:
        bindings: the screen's active bindings, as Textual computes them.
        stop_offered: whether F9 STOP is offered (there is an infusion to stop).
    """
    shown: dict[str, ActiveBinding] = {}
    for key, active in bindings.items():
        if active.binding.action == STOP_ACTION and not stop_offered:
            continue
        if not active.enabled and active.binding.show:
            marked = replace(
                active.binding, description=f"{UNAVAILABLE}{active.binding.description}"
            )
            active = active._replace(binding=marked)
        shown[key] = active
    return shown


class MarkedScreen(Screen[ResultT]):
    """A screen whose footer reads as text (see `footer_bindings`)."""

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """Textual's active bindings, with unavailable keys marked and STOP only when useful."""
        app = self.app
        stop_offered = app.infusion_active if isinstance(app, StopHost) else True
        return footer_bindings(super().active_bindings, stop_offered=stop_offered)
