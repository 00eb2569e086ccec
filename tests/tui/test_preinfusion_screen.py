"""Pre-infusion documentation in the app, keyboard only at 80x24 (issue 14 item 7).

The setup's lot field takes a GS1 scan as a keyboard-wedge scanner types it (the GS separator as
Ctrl+], then Enter) and fills the lot; the expiry reaches the documentation step that follows
the checklist; a wrong GTIN, an expired lot and a contraindicated product are refused there and
then; what is documented is recorded as `preinfusion_recorded` before the checklist.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from tests.support.app import AppFactory
from tests.tui.harness import (
    finish_checklist,
    finish_setup,
    kinds,
    log_events,
    on_screen,
    screen_text,
    settle,
    the_app,
    wait_for,
)
from titrator.cli.app import DEMO_PATIENT
from titrator.domain.events import PreInfusionRecorded
from titrator.domain.library import Gtins
from titrator.domain.lot_scan import GtinCheck
from titrator.domain.preinfusion import IgaStatus
from titrator.files.library import load_library
from titrator.tui.screens.checklist import ChecklistRow, ChecklistScreen
from titrator.tui.screens.preinfusion import PreInfusionScreen
from titrator.tui.screens.preview import PlanPreviewScreen
from titrator.tui.screens.run import RunScreen
from titrator.tui.screens.setup import SetupScreen

SIZE = (80, 24)
GS_KEY = "ctrl+right_square_bracket"
"""The key a keyboard-wedge scanner sends for the GS1 separator (chr(29))."""
# Privigen's GTIN (its NDC 44206-436-05 at the unit of sale, titrator.domain.gtin), expiry
# 2028-05-31, lot AB-123, then a serial after the separator.
SCAN_KEYS = [*"]d20100344206436059172805311" + "0AB-123", GS_KEY, *"21SER1", "enter"]
# Another Privigen pack (NDC 44206-437-10), expired 2019-11-25.
EXPIRED_KEYS = [*"]d201003442064371001719112510ABCD1234", GS_KEY, *"2110EW354EWER", "enter"]
# A case (indicator 5) of another product: Octagam 10%, NDC 0069-6002-01.
OTHER_PRODUCT_KEYS = [*"]d201503006960020181728053110OCT-1", GS_KEY, *"21SER2", "enter"]


def flat(pilot: Pilot[Any]) -> str:
    """The screen's text with the wrapping undone (lines joined by single spaces)."""
    return " ".join(screen_text(pilot).split())


async def scan_into_lot(pilot: Pilot[Any], keys: list[str]) -> None:
    """Focus the lot field, clear it, and let the 'scanner' type."""
    box = pilot.app.screen.query_one("#lot", Input)
    box.focus()
    box.value = ""
    await pilot.press(*keys)
    await pilot.pause()


async def to_checklist_and_past(pilot: Pilot[Any]) -> None:
    await pilot.press("f2")
    await on_screen(pilot, ChecklistScreen)
    await pilot.press(*["y"] * len(pilot.app.screen.query(ChecklistRow)), "f2")
    await on_screen(pilot, PreInfusionScreen)
    await pilot.pause()


async def test_a_scan_fills_the_lot_and_the_expiry_and_is_recorded(make_app: AppFactory) -> None:
    built = make_app()
    async with built.app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        await scan_into_lot(pilot, SCAN_KEYS)
        assert pilot.app.screen.query_one("#lot", Input).value == "AB-123"
        text = flat(pilot)
        assert "Scanned: GTIN 00344206436059, expiry 2028-05-31." in text
        assert "GTIN checked: it is Privigen's" in text
        await to_checklist_and_past(pilot)
        assert pilot.app.screen.query_one("#lot_expiry", Input).value == "2028-05-31"
        text = flat(pilot)
        assert "Lot AB-123 scanned (GTIN 00344206436059)" in text
        for label in ("Lot expiry", "IgA status", "Premed 3", "Pre-hydration", "Next: plan"):
            assert label in text, label  # all of the form at 80x24, without scrolling
        # IgA: normal (two down from the blank prompt); one premedication 10 min ago.
        await pilot.press("tab", "enter", "down", "down", "enter", "tab", "tab")
        await pilot.press(*"paracetamol", "tab", *"1000", "tab")
        await pilot.press("enter", "down", "enter", "tab")  # unit: mg
        await pilot.press("enter", "down", "enter", "tab")  # route: PO
        await pilot.press(*"08:50")
        await wait_for(pilot, lambda: "NOTICE: paracetamol" in flat(pilot), "the notice")
        assert "less than 30 min before the start" in flat(pilot)
        await pilot.press("f2")
        await on_screen(pilot, PlanPreviewScreen)
        await pilot.press("f2")
        await on_screen(pilot, RunScreen)
        await settle(pilot)
    events = log_events(built.log_path)
    order = kinds(events)
    assert order.index("preinfusion_recorded") < order.index("checklist_answered")
    (recorded,) = [e for e in events if isinstance(e, PreInfusionRecorded)]
    record = recorded.record
    assert (record.lot, record.lot_expiry.isoformat()) == ("AB-123", "2028-05-31")
    assert record.scan is not None
    assert record.scan.raw.startswith("]d2")
    assert "\x1d" in record.scan.raw
    assert record.gtin_check is GtinCheck.MATCHED
    assert record.iga_status is IgaStatus.NORMAL
    (premed,) = record.premedications
    assert (premed.drug, str(premed.dose), premed.unit, premed.route) == (
        "paracetamol",
        "1000",
        "mg",
        "PO",
    )
    assert premed.minutes_before == 10
    assert any("NOTICE: paracetamol" in notice for notice in record.notices)


async def test_an_expired_lot_is_refused(make_app: AppFactory) -> None:
    async with make_app().app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        await scan_into_lot(pilot, EXPIRED_KEYS)
        await to_checklist_and_past(pilot)
        await pilot.press("tab", "enter", "down", "down", "enter", "f2")
        await pilot.pause()
        text = flat(pilot)
        assert "Lot expiry: lot expired on 2019-11-25 (today is 2026-11-20)" in text
        assert isinstance(pilot.app.screen, PreInfusionScreen)
        assert the_app(pilot).preinfusion is None


async def test_a_gtin_of_another_product_is_refused_at_the_setup(make_app: AppFactory) -> None:
    library = load_library()
    privigen = library.products["privigen"]
    gtins = Gtins(values=("09501101530003",), url="https://example.invalid", text="test pack")
    products = {**library.products, "privigen": privigen.model_copy(update={"gtins": gtins})}
    built = make_app(products=replace(library, products=products))
    async with built.app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        await scan_into_lot(pilot, OTHER_PRODUCT_KEYS)  # Octagam 10%'s GTIN: not Privigen's
        assert "REFUSED: GTIN 50300696002018" in flat(pilot)
        assert "wrong product" in flat(pilot)
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(pilot.app.screen, SetupScreen)
        assert "scan refused: GTIN 50300696002018" in flat(pilot)
        await scan_into_lot(pilot, SCAN_KEYS)  # its own GTIN: checked
        assert "GTIN checked: it is Privigen's" in flat(pilot)
        await finish_setup(pilot)


async def test_another_products_carton_is_refused_by_name_when_the_chosen_has_no_ndcs(
    make_app: AppFactory,
) -> None:
    """Gamunex-C's file cites no NDCs, so its own cartons 'cannot be checked'; but a Privigen
    carton (its NDC is on Privigen's file) is refused at the setup, naming Privigen."""
    assert load_library().products["gamunex-c"].codes is None
    setup = {**DEMO_PATIENT, "product_id": "gamunex-c", "indication_id": "pi"}
    async with make_app(setup=setup).app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        await scan_into_lot(pilot, SCAN_KEYS)  # Privigen's real GTIN
        assert "REFUSED: GTIN 00344206436059 is Privigen's" in flat(pilot)
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(pilot.app.screen, SetupScreen)
        assert "scan refused: GTIN 00344206436059 is Privigen's" in flat(pilot)


async def test_a_contraindicated_product_is_refused_and_esc_goes_back_to_setup(
    make_app: AppFactory,
) -> None:
    setup = {**DEMO_PATIENT, "product_id": "gamunex-c", "indication_id": "pi"}
    async with make_app(setup=setup).app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        await finish_setup(pilot)
        await pilot.press(*["y"] * len(pilot.app.screen.query(ChecklistRow)), "f2")
        await on_screen(pilot, PreInfusionScreen)
        await pilot.press(*"2027-06-30", "tab")
        await pilot.press("enter", *["down"] * 4, "enter", "tab")  # anti-IgA antibodies
        await pilot.press("enter", "down", "down", "enter", "f2")  # history: yes
        await pilot.pause()
        text = flat(pilot)
        assert "IgA status: Gamunex-C is contraindicated: its label says" in text
        assert isinstance(pilot.app.screen, PreInfusionScreen)
        await pilot.press("escape")
        await on_screen(pilot, SetupScreen)
        assert the_app(pilot).preinfusion is None


async def test_the_setup_list_shows_every_products_iga_content(make_app: AppFactory) -> None:
    products = load_library().products.values()
    async with make_app().app.run_test(size=SIZE) as pilot:
        await on_screen(pilot, SetupScreen)
        pilot.app.screen.query_one("#product_id").focus()
        await pilot.press("enter", *["up"] * len(products))  # open the list at its top
        seen = flat(pilot)
        for _ in products:  # and walk it to the end
            await pilot.press("down")
            seen += flat(pilot)
        for product in products:
            assert f"{product.name} · IgA {product.iga_content.split(' (')[0]}" in seen
        assert "Privigen · IgA ≤ 25 mcg/mL" in seen
        assert "Gammaplex 5% · IgA not verified" in seen
        await pilot.press("escape")
        await finish_setup(pilot)
        await finish_checklist(pilot, typed=True)
