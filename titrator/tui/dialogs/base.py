"""What every dialog shares: the submit hook and the keys.

Each dialog is thin. Numbers are checked as typed with the core's own parsers for fast feedback, but
what was typed always goes to the engine, which decides and records it (a refusal keeps the
dialog open, with the engine's reason next to the field).
"""

from __future__ import annotations

from collections.abc import Callable

from textual.binding import Binding, BindingType

Submit = Callable[[dict[str, str]], str | None]
"""Hands what was typed to the engine; returns the refusal reason, or None when accepted."""

MODAL_BINDINGS: list[BindingType] = [
    Binding("f2", "submit", "Record", priority=True),
    Binding("escape", "cancel", "Cancel"),
]
"""F2 records (a priority binding, so a focused input cannot swallow it); Escape cancels."""
