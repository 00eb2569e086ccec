"""The setup form's Order ID reaches the log, and a bad one is named on the form."""

from __future__ import annotations

from tests.support.app import AppFactory
from tests.tui.harness import log_events, on_screen, open_session, settle, static_text, the_app
from titrator.cli.app import DEMO_PATIENT
from titrator.domain.events import SessionOpened
from titrator.tui.screens.setup import SetupScreen


async def test_the_order_id_typed_at_setup_is_in_session_opened(make_app: AppFactory) -> None:
    built = make_app(setup={**DEMO_PATIENT, "order_id": "ORD-2026/0042"})
    async with built.app.run_test(size=(80, 24)) as pilot:
        await open_session(pilot)
    (opened,) = [e for e in log_events(built.log_path) if isinstance(e, SessionOpened)]
    assert opened.setup is not None
    assert opened.setup.order_id == "ORD-2026/0042"
    assert opened.setup.raw["order_id"] == "ORD-2026/0042"


async def test_a_bad_order_id_is_named_on_the_form(make_app: AppFactory) -> None:
    built = make_app(setup={**DEMO_PATIENT, "order_id": "ORD;42"})
    async with built.app.run_test(size=(80, 24)) as pilot:
        await on_screen(pilot, SetupScreen)
        await pilot.press("f2")
        await settle(pilot)
        screen = the_app(pilot).screen
        assert isinstance(screen, SetupScreen)
        assert "Order ID" in static_text(screen, "#problems")
        assert screen.query_one("#order_id").has_class("-invalid")
