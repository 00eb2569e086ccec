"""Steps the review app's tests share."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from titrator.review.ui.session_screen import SessionScreen


async def open_session(pilot: Pilot[Any]) -> SessionScreen:
    """Enter on the list's highlighted row; the session screen that opens."""
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, SessionScreen)
    return screen
