"""The pre-infusion documentation screen: the lot's expiry, IgA status, premedication, hydration.

A thin shell over `titrator.domain.preinfusion.validate_preinfusion`: the text is handed over as
typed; problems come back per field and are listed whole, checked again as the nurse types once
shown. Notices (premedication timing, IgA, a GTIN that cannot be checked) are shown as they
follow from what is typed and are recorded with the documentation. It comes after the checklist
and before the plan preview; Esc goes back to the setup (to choose another product).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
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
from titrator.tui.screens.fields import FieldInput
from titrator.tui.screens.marks import MarkedScreen, placeholder, problem_lines

_LABELS = {
    "lot": "Lot",
    "lot_expiry": "Lot expiry",
    "iga_status": "IgA status",
    "hypersensitivity": "Hypersens. hx",
    "hydration_ml": "Pre-hydration mL",
    "hydration_route": "Pre-hydration route",
}
for _row in range(1, PREMED_ROWS + 1):
    for _part in ("drug", "dose", "unit", "route", "time"):
        _LABELS[f"premed{_row}_{_part}"] = f"Premed {_row} {_part}"


class PreInfusionScreen(MarkedScreen[PreInfusion | None]):
    """Collects the documentation; dismisses with it validated, or None to go back to setup."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "next", "Next: plan preview", id="preinfusion-next"),
        Binding("escape", "back", "Back to setup"),
        Binding("tab", "app.focus_next", "Next field", priority=True, show=False),
        Binding("shift+tab", "app.focus_previous", "Previous field", priority=True, show=False),
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
    ) -> None:
        super().__init__()
        self.product = product
        self.lot = lot
        self.scan = scan
        self.today = today
        self.now = now
        self.initial = dict(initial or {})
        if scan is not None and scan.expiry is not None:
            self.initial.setdefault("lot_expiry", scan.expiry.isoformat())
        self._problems_shown = False

    # -- layout ----------------------------------------------------------------------------

    def _box(self, field: str, hint: str, width: int) -> FieldInput:
        box = FieldInput(
            value=self.initial.get(field, ""),
            placeholder=placeholder(hint),
            id=field,
            compact=True,
        )
        box.styles.width = width
        return box

    def _choice(self, field: str, options: list[tuple[str, str]], width: int) -> Select[str]:
        value = self.initial.get(field)
        select: Select[str] = Select(
            options,
            prompt=placeholder("choose"),
            id=field,
            compact=True,
            value=value if value in {v for _, v in options} else Select.NULL,
        )
        select.styles.width = width
        return select

    def _row(self, label: str, *widgets: Widget) -> Horizontal:
        return Horizontal(Label(label, classes="field-label"), *widgets, classes="form-row")

    def compose(self) -> ComposeResult:
        """The lot line, the fields, the notices and the problem list."""
        yield Header()
        yield Static(
            "Pre-infusion documentation. Leave a premedication row blank when none was given.",
            classes="instructions",
        )
        with VerticalScroll(id="preinfusion-form"):
            yield Static(self._lot_line(), id="lot-line", markup=False)
            yield self._row("Lot expiry", self._box("lot_expiry", "YYYY-MM-DD", 14))
            iga = [(status.label, status.value) for status in IgaStatus]
            yield self._row("IgA status", self._choice("iga_status", iga, 42))
            history = [("no", "no"), ("yes", "yes")]
            yield self._row("Hypersens. hx", self._choice("hypersensitivity", history, 12))
            yield Label(
                "Premedication: drug, dose, unit, route, time given (HH:MM)", classes="section"
            )
            units = [(unit, unit) for unit in PREMED_UNITS]
            routes = [(route, route) for route in PREMED_ROUTES]
            for row in range(1, PREMED_ROWS + 1):
                yield Horizontal(
                    Label(f"Premed {row}", classes="premed-label"),
                    self._box(f"premed{row}_drug", "drug", 20),
                    self._box(f"premed{row}_dose", "dose", 8),
                    self._choice(f"premed{row}_unit", units, 14),
                    self._choice(f"premed{row}_route", routes, 11),
                    self._box(f"premed{row}_time", "HH:MM", 8),
                    classes="form-row",
                )
            hydration = [(route, route) for route in HYDRATION_ROUTES]
            yield self._row(
                "Pre-hydration",
                self._box("hydration_ml", "mL, or blank", 15),
                self._choice("hydration_route", hydration, 11),
            )
        with Vertical(id="preinfusion-status"):
            yield Static("", id="derived")
            yield Static("", id="problems")
        yield Footer()

    def _lot_line(self) -> str:
        if self.scan is None:
            return f"Lot {self.lot} (typed). {self.product.name}, IgA {self.product.iga_content}."
        try:
            check_text = gtin_check_text(self.product, gtin_check(self.product, self.scan.gtin))
        except LotScanError as error:
            check_text = error.reason
        return f"Lot {self.lot} scanned (GTIN {self.scan.gtin}). {check_text}."

    def on_mount(self) -> None:
        """Start at the expiry date; show what the pre-filled fields give."""
        self.sub_title = "pre-infusion documentation"
        self._refresh_notices()
        self.query_one("#lot_expiry", Input).focus()

    # -- reading the form -------------------------------------------------------------------

    def raw_fields(self) -> dict[str, str]:
        """Every field exactly as typed or chosen ('' for nothing chosen)."""
        raw: dict[str, str] = {}
        for box in self.query(Input):
            if box.id:
                raw[box.id] = box.value
        for select in self.query(Select):
            if select.id:
                raw[select.id] = "" if select.value is Select.NULL else str(select.value)
        return raw

    def _check(self) -> PreInfusion | list[tuple[str, str]]:
        """Validate in the core: the documentation, or (field, problem) pairs."""
        now = self.now()
        try:
            return validate_preinfusion(
                self.raw_fields(),
                product=self.product,
                lot=self.lot,
                scan=self.scan,
                today=self.today,
                now=now,
                local=now.wall_utc.astimezone().tzinfo or UTC,
            )
        except PreInfusionInvalid as invalid:
            return [
                (
                    p.field,
                    f"{p.reason} (nothing entered)"
                    if p.raw == ""
                    else f"{p.reason} (typed {p.raw!r})",
                )
                for p in invalid.problems
            ]

    # -- live feedback ----------------------------------------------------------------------

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        self._refresh_notices()

    def _refresh_notices(self) -> None:
        checked = self._check()
        notices = checked.notices if isinstance(checked, PreInfusion) else ()
        self.query_one("#derived", Static).update("\n".join(notices))
        if self._problems_shown:
            self._show_problems([] if isinstance(checked, PreInfusion) else checked)

    def _show_problems(self, problems: list[tuple[str, str]]) -> None:
        self._problems_shown = bool(problems)
        named = [(_LABELS.get(field, field), text) for field, text in problems]
        text = "\n".join(problem_lines("Please correct", "field", named)) if named else ""
        self.query_one("#problems", Static).update(text)
        for widget in self.query(".-invalid"):
            widget.remove_class("-invalid")
        for field, _ in problems:
            for widget in self.query(f"#{field}"):
                widget.add_class("-invalid")

    # -- actions ----------------------------------------------------------------------------

    def action_next(self) -> None:
        """Validate everything; hand the documentation on, or list what is wrong."""
        checked = self._check()
        if isinstance(checked, PreInfusion):
            self._show_problems([])
            self.dismiss(checked)
            return
        self._show_problems(checked)
        first = next((w for field, _ in checked for w in self.query(f"#{field}")), None)
        if first is not None and first.focusable:
            first.focus()

    def action_back(self) -> None:
        """Back to the setup (to choose another product or lot)."""
        self.dismiss(None)
