"""The one engine feed, as the app's parts see it.

The app (`titrator.tui.app.TitratorApp`) owns the session and feeds it every input, in one
place. Its parts (the run screen's actions, the pump link) reach it through narrow protocols
that extend `EngineFeed`, so none of them imports the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # types only: the engine loads when a session opens (issue 17, start-up)
    from titrator.domain.clock import Instant
    from titrator.domain.events import InputEvent
    from titrator.domain.session.decision import Decision
    from titrator.shell.controller import InfusionController


class EngineFeed(Protocol):
    """The open session and the one way to feed it."""

    @property
    def controller(self) -> InfusionController | None:
        """The open session's controller (None before a session opens)."""
        ...

    def now(self) -> Instant:
        """The clock's current instant."""
        ...

    def feed(self, event: InputEvent) -> Decision:
        """Feed one input: engine, audit log (fsynced), then the pump commands; the decision."""
        ...
