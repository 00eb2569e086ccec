"""The pre-infusion documentation screen: the lot's expiry, IgA status, premedication, hydration.

A thin shell over `titrator.domain.preinfusion.validate_preinfusion`: the text is handed over as
typed; problems come back per field and are listed whole, checked again as the nurse types once
shown. Notices (premedication timing, IgA, a GTIN that cannot be checked) are shown as they
follow from what is typed and are recorded with the documentation. It comes after the checklist
and before the plan preview; Esc goes back to the setup (to choose another product).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Header, Input, Label, Select, Static

from titrator.domain.clock import Instant
from titrator.domain.library import Product
from titrator.domain.lot_scan import LotScan, LotScanError, gtin_check, gtin_check_text
from titrator.domain.preinfusion import (
    HYDRATION_ROUTES,
    PREMED_ROUTES,
    PREMED_ROWS,
    PREMED_UNITS,
    IgaStatus,
    PreInfusion,
    PreInfusionInvalid,
    validate_preinfusion,
)
from titrator.tui.forms import FormScreen, FormScroll, problem_text

_PREMED_PARTS = ("drug", "dose", "unit", "route", "time")


class PreInfusionScreen(FormScreen[PreInfusion | None]):
    """Collects the documentation; dismisses with it validated, or None to go back to setup."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "next", "Next: plan preview", id="preinfusion-next"),
        Binding("escape", "back", "Back to setup"),
    ]

    def __init__(
        self,
        product: Product,
        lot: str,
        scan: LotScan | None,
        today: date,
        now: Callable[[], Instant],
        *,
        initial: Mapping[str, str] | None = None,
        others: Iterable[Product] = (),
    ) -> None:
        """Document the lot of `product`.

        `others` are the library's products, so that a scanned GTIN of another product is
        refused by that product's name (`lot_scan.gtin_check`).
        """
        super().__init__(initial)
        self.product = product
        self.others = tuple(others)
        self.lot = lot
        self.scan = scan
        self.today = today
        self.now = now
        if scan is not None and scan.expiry is not None:
            self.initial.setdefault("lot_expiry", scan.expiry.isoformat())
        self._labels["lot"] = "Lot"

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """The lot line, the fields, the notices, the problem list and the button."""
        line, box, choice = self.line, self.text_box, self.choice
        yield Header()
        with FormScroll(form_id="preinfusion-form", more_id="preinfusion-more"):
            yield Static(self._lot_line(), id="lot-line", markup=False)
            yield line("Lot expiry", box("lot_expiry", "Lot expiry", "YYYY-MM-DD", 14))
            iga = [(status.label, status.value) for status in IgaStatus]
            yield line("IgA status", choice("iga_status", "IgA status", iga, 42))
            history = [("no", "no"), ("yes", "yes")]
            yield line("Hypersens. hx", choice("hypersensitivity", "Hypersens. hx", history, 12))
            yield Label(
                "Premedication (leave a row blank if none): drug, dose, unit, route, time HH:MM",
                classes="section",
            )
            units = [(unit, unit) for unit in PREMED_UNITS]
            routes = [(route, route) for route in PREMED_ROUTES]
            for row in range(1, PREMED_ROWS + 1):
                name = {part: f"premed{row}_{part}" for part in _PREMED_PARTS}
                label = {part: f"Premed {row} {part}" for part in _PREMED_PARTS}
                yield self.row(
                    Label(f"Premed {row}", classes="premed-label"),
                    box(name["drug"], label["drug"], "drug", 20),
                    box(name["dose"], label["dose"], "dose", 8),
                    choice(name["unit"], label["unit"], units, 14),
                    choice(name["route"], label["route"], routes, 11),
                    box(name["time"], label["time"], "HH:MM", 8),
                )
            hydration = [(route, route) for route in HYDRATION_ROUTES]
            yield line(
                "Pre-hydration",
                box("hydration_ml", "Pre-hydration mL", "mL, or blank", 15),
                choice("hydration_route", "Pre-hydration route", hydration, 11),
            )
        with Vertical(id="preinfusion-status"):
            yield Static("", id="preinfusion-more", classes="more")
            yield Static("", id="derived")
            yield Static("", id="problems")
            yield self.next_button("Next: plan preview (F2)")
        yield Footer()

    def _lot_line(self) -> str:
        if self.scan is None:
            return f"Lot {self.lot} (typed). {self.product.name}, IgA {self.product.iga_content}."
        try:
            check = gtin_check(self.product, self.scan.gtin, self.others)
            check_text = gtin_check_text(self.product, check)
        except LotScanError as error:
            check_text = error.reason
        return f"Lot {self.lot} scanned (GTIN {self.scan.gtin}). {check_text}."

    def on_mount(self) -> None:
        """Start at the expiry date; show what the pre-filled fields give."""
        self.sub_title = "pre-infusion documentation"
        self.show_problems([])
        self._refresh_notices()
        self.query_one("#lot_expiry", Input).focus()

    # -- reading the form -------------------------------------------------------------------

    def _check(self) -> PreInfusion | list[tuple[str, str]]:
        """Validate in the core: the documentation, or (field, problem) pairs."""
        now = self.now()
        try:
            return validate_preinfusion(
                self.raw_fields(),
                product=self.product,
                lot=self.lot,
                scan=self.scan,
                others=self.others,
                today=self.today,
                now=now,
                local=now.wall_utc.astimezone().tzinfo or UTC,
            )
        except PreInfusionInvalid as invalid:
            return [(p.field, problem_text(p.reason, p.raw)) for p in invalid.problems]

    # -- live feedback ----------------------------------------------------------------------

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        self._refresh_notices()

    def _refresh_notices(self) -> None:
        checked = self._check()
        notices = checked.notices if isinstance(checked, PreInfusion) else ()
        derived = self.query_one("#derived", Static)
        derived.update("\n".join(notices))
        derived.display = bool(notices)  # an empty line would take a row from the form
        if self._problems_shown:
            self.show_problems([] if isinstance(checked, PreInfusion) else checked)

    # -- actions ----------------------------------------------------------------------------

    def action_next(self) -> None:
        """Validate everything; hand the documentation on, or list what is wrong."""
        checked = self._check()
        if isinstance(checked, PreInfusion):
            self.show_problems([])
            self.dismiss(checked)
            return
        self.refuse(checked)

    def action_back(self) -> None:
        """Back to the setup (to choose another product or lot)."""
        self.dismiss(None)
