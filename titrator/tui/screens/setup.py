"""The setup screen: nurse, patient, product, dose, lot, history and risk factors.

A thin shell over `titrator.domain.setup.validate_setup` and `build_plan`: the text is handed
over exactly as typed; problems come back per field and are shown inline next to the field and
in the problem list, never corrected. Once shown, the list is checked again as the nurse types, so
it never names a problem that has been fixed. The derived first-infusion and at-risk status is
shown with its reasons as the nurse types, always on screen (below the form, above the problems).

Tab is a priority binding: a barcode scanner typing an identifier and a Tab, and the keys after
it, land in the fields they were meant for; a paste with Tabs is spread the same way
(`FieldInput`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Footer, Header, Input, Label, Select, SelectionList, Static

from titrator.domain.library import Product
from titrator.domain.lot_scan import (
    LotScan,
    LotScanError,
    gtin_check,
    gtin_check_text,
    looks_like_gs1,
    parse_lot_scan,
)
from titrator.domain.plan import PlanError, build_plan
from titrator.domain.plan_format import DISCLAIMER
from titrator.domain.plan_model import Plan, WeightBasis
from titrator.domain.setup import (
    NEVER,
    YES,
    FieldProblem,
    InfusionSetup,
    RiskFactor,
    SetupInvalid,
    age_in_years,
    first_infusion_reasons,
    validate_setup,
)
from titrator.domain.site import SiteLimits
from titrator.domain.site_indications import indication_label
from titrator.domain.units import InputError, kg_to_lb, parse_plain_decimal, plain
from titrator.tui.screens.fields import FieldInput, ScanInput
from titrator.tui.screens.marks import MarkedScreen, TickList, placeholder, problem_lines

# Plan errors name request fields; these are the setup fields a nurse can change for them.
_PLAN_FIELD_TO_INPUT = {
    "weight_kg": "weight_kg",
    "dose_g_per_kg": "dose_g_per_kg",
    "height_cm": "height_cm",
    "sex": "sex",
    "indication_id": "indication_id",
    "dose_g": "dose_g",
    "course": "course_g_per_kg",
    "course_total_g_per_kg": "course_g_per_kg",
    "course_days": "course_days",
    "course_day": "course_day",
    "round_to_vials": "round_to_vials",
    "outside_label_reason": "outside_label_reason",
    "age_years": "date_of_birth",
}


@dataclass(frozen=True)
class SetupResult:
    """What the setup screen hands on: the validated setup and its plan."""

    setup: InfusionSetup
    plan: Plan
    scan: LotScan | None = None
    """The GS1 barcode the lot was scanned from (None: typed)."""


def _problem_text(problem: FieldProblem) -> str:
    if problem.raw == "":
        return f"{problem.reason} (nothing entered)"
    return f"{problem.reason} (typed {problem.raw!r})"


class SetupScreen(MarkedScreen[SetupResult]):
    """Collects the infusion setup; dismisses with a validated setup and plan."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "next", "Next: checklist", id="setup-next"),
        Binding("tab", "app.focus_next", "Next field", priority=True, show=False),
        Binding("shift+tab", "app.focus_previous", "Previous field", priority=True, show=False),
    ]

    def __init__(
        self,
        products: Mapping[str, Product],
        site: SiteLimits,
        today: date,
        *,
        initial: Mapping[str, str] | None = None,
        risks: tuple[RiskFactor, ...] = (),
    ) -> None:
        super().__init__()
        self.risks = risks
        self.products = products
        self.site = site
        self.today = today
        self.initial = dict(initial or {})
        self._labels: dict[str, str] = {"risk_factors": "Risk factors"}
        """Form label of each field, for the problem list."""
        self._problems_shown = False
        """True while the problem list is on screen (it is then re-checked on every change)."""
        self.scan: LotScan | None = None
        """The GS1 barcode the lot field was filled from (None: typed)."""
        self._scan_error: tuple[str, str] | None = None
        """A scan that could not be read: (text as scanned, why)."""

    # -- layout ----------------------------------------------------------------------------

    def _input(
        self, field: str, label: str, hint: str = "", width: int = 20, *, scan: bool = False
    ) -> Horizontal:
        self._labels[field] = label
        box = (ScanInput if scan else FieldInput)(
            value=self.initial.get(field, ""),
            placeholder=placeholder(hint) if hint else "",
            id=field,
            compact=True,
        )
        box.styles.width = width
        return Horizontal(Label(label, classes="field-label"), box, classes="form-row")

    def _select(
        self, field: str, label: str, options: list[tuple[str, str]], default: str | None = None
    ) -> Horizontal:
        self._labels[field] = label
        value = self.initial.get(field, default)
        select: Select[str] = Select(
            options,
            prompt=placeholder("choose"),
            id=field,
            compact=True,
            allow_blank=default is None,
            value=value if value in {v for _, v in options} else Select.NULL,
        )
        return Horizontal(Label(label, classes="field-label"), select, classes="form-row")

    def compose(self) -> ComposeResult:
        """The form, the derived status and the problem list."""
        product_options = [(p.name, p.id) for p in self.products.values()]
        with_iga = [
            (f"{p.name} · IgA {p.iga_content.split(' (')[0]}", p.id) for p in self.products.values()
        ]
        yield Header()
        with VerticalScroll(id="setup-form"):
            yield self._input("nurse_id", "Nurse ID", "your staff id")
            yield self._input("patient_id_1", "Patient ID 1", "e.g. MRN")
            yield self._input("patient_id_2", "Patient ID 2", "e.g. date of birth")
            yield self._input("weight_kg", "Weight (kg)", "kg only", width=10)
            yield Static("", id="weight-lb", classes="hint")
            yield self._input("height_cm", "Height (cm)", "optional", width=10)
            yield self._select("sex", "Sex", [("female", "female"), ("male", "male")])
            yield self._select(
                "weight_basis",
                "Dosing weight",
                [("actual weight", WeightBasis.ACTUAL.value), ("adjusted (IBW+0.4)", "adjusted")],
                default=WeightBasis.ACTUAL.value,
            )
            yield self._select("product_id", "Product", with_iga)
            yield self._select("indication_id", "Indication", [])
            yield self._input("dose_g_per_kg", "Dose (g/kg)", "g/kg", width=10)
            yield self._input("dose_g", "Or dose (g)", "grams", width=10)
            yield self._input("course_g_per_kg", "Or course g/kg", "total g/kg", width=14)
            yield self._input("course_days", "Course days", "N days", width=10)
            yield self._input("course_day", "Day of course", "day K (1)", width=12)
            yield self._select(
                "round_to_vials",
                "Round to vials",
                [("no: as ordered", "no"), ("yes: whole vials", YES)],
                default="no",
            )
            yield self._input(
                "outside_label_reason", "Off-label: why", "only outside label range", width=40
            )
            yield self._input("date_of_birth", "Date of birth", "YYYY-MM-DD", width=14)
            yield self._input("lot", "Lot number", "type, or scan the carton", width=40, scan=True)
            yield Static("", id="lot-scan", classes="hint", markup=False)
            yield self._input("order_id", "Order ID", "optional: the order number", width=30)
            yield self._input("last_infusion", "Last infusion", "YYYY-MM-DD or never", width=24)
            yield self._select(
                "last_product_id", "Last product", [("never treated", NEVER), *product_options]
            )
            yield Label("Risk factors (renal / thrombosis): space to tick", classes="section")
            yield TickList[RiskFactor](
                *[(factor.label, factor, factor in self.risks) for factor in RiskFactor],
                id="risk_factors",
            )
            yield Static(DISCLAIMER, id="disclaimer")
        with Vertical(id="setup-status"):
            yield Static("", id="derived")
            yield Static("", id="problems")
        yield Footer()

    def on_mount(self) -> None:
        """Start at the first field, with the indication list filled for a preset product."""
        self.sub_title = "infusion setup"
        self._refresh_indications()
        self._refresh_derived()
        self.query_one("#nurse_id", Input).focus()

    # -- reading the form -------------------------------------------------------------------

    def raw_fields(self) -> dict[str, str]:
        """Every field exactly as typed or chosen ('' for nothing chosen)."""
        raw: dict[str, str] = {}
        for box in self.query(Input):
            if box.id:
                raw[box.id] = box.value
        for select in self.query(Select):
            if select.id:
                value = select.value
                raw[select.id] = "" if value is Select.NULL else str(value)
        return raw

    def risk_factors(self) -> tuple[RiskFactor, ...]:
        """The ticked risk factors, in checklist order."""
        ticked = set(self.query_one("#risk_factors", SelectionList).selected)
        return tuple(factor for factor in RiskFactor if factor in ticked)

    # -- live feedback ----------------------------------------------------------------------

    @on(Input.Submitted, "#lot")
    @on(Input.Blurred, "#lot")
    def _lot_entered(self) -> None:
        self._read_scan()

    def _read_scan(self) -> None:
        """A GS1 string in the lot field: fill the lot from it and keep GTIN and expiry."""
        box = self.query_one("#lot", Input)
        if not looks_like_gs1(box.value):
            return
        try:
            scan = parse_lot_scan(box.value)
        except LotScanError as error:
            self.scan, self._scan_error = None, (box.value, error.reason)
        else:
            self.scan, self._scan_error = scan, None
            box.value = scan.lot
        self._refresh_derived()

    def _scan_problems(self) -> list[tuple[str, str]]:
        """The scan's problems: unreadable, or a GTIN that is not the chosen product's."""
        if self._scan_error is not None:
            raw, reason = self._scan_error
            return [("lot", f"scan: {reason} (typed {raw!r})")]
        product = self.products.get(self.raw_fields().get("product_id", ""))
        if self.scan is None or product is None:
            return []
        try:
            gtin_check(product, self.scan.gtin)
        except LotScanError as error:
            return [("lot", f"scan refused: {error.reason}")]
        return []

    def _scan_line(self) -> str:
        """What the scan gave, and what its GTIN was checked against."""
        lot = self.query_one("#lot", Input).value
        if self._scan_error is not None and lot != self._scan_error[0]:
            self._scan_error = None  # the nurse typed over the unreadable scan
        if self.scan is not None and lot != self.scan.lot:
            self.scan = None  # the nurse typed over the scanned lot
        if self.scan is None:
            return ""
        expiry = self.scan.expiry.isoformat() if self.scan.expiry else "not in the barcode"
        line = f"Scanned: GTIN {self.scan.gtin}, expiry {expiry}."
        product = self.products.get(self.raw_fields().get("product_id", ""))
        if product is None:
            return line
        try:
            return f"{line} {gtin_check_text(product, gtin_check(product, self.scan.gtin))}."
        except LotScanError as error:
            return f"{line} REFUSED: {error.reason}."

    @on(Select.Changed, "#product_id")
    def _product_changed(self) -> None:
        self._refresh_indications()

    @on(Input.Changed)
    @on(Select.Changed)
    @on(SelectionList.SelectedChanged)
    def _changed(self) -> None:
        self._refresh_derived()
        if self._problems_shown:
            self._recheck()

    def _refresh_indications(self) -> None:
        product = self.products.get(self.raw_fields().get("product_id", ""))
        select = self.query_one("#indication_id", Select)
        indications = list(product.indications.items()) if product else []
        options = [(indication_label(ind), key) for key, ind in indications]
        previous = self.initial.get("indication_id")
        select.set_options(options)
        if previous and any(v == previous for _, v in options):
            select.value = previous

    def _refresh_derived(self) -> None:
        raw = self.raw_fields()
        lb_text = ""
        try:
            weight = parse_plain_decimal(raw.get("weight_kg", ""), "weight_kg")
            lb_text = f"= {plain(kg_to_lb(weight), 1)} lb (cross-check only; enter kg)"
        except InputError:
            pass  # the problem is reported when the form is submitted
        self.query_one("#weight-lb", Static).update(lb_text)
        self.query_one("#lot-scan", Static).update(self._scan_line())
        lines = []
        product_id = raw.get("product_id", "")
        if product_id:
            reasons = self._history_reasons(raw, product_id)
            lines.append(
                "First infusion: YES, because " + "; ".join(reasons)
                if reasons
                else "First infusion: no (same product, within 8 weeks)"
            )
        lines.append(self._age_line(raw.get("date_of_birth", "")))
        factors = self.risk_factors()
        lines.append(
            f"At risk: YES, because {', '.join(f.label for f in factors)}"
            if factors
            else "At risk: no"
        )
        self.query_one("#derived", Static).update("\n".join(lines))

    def _age_line(self, text: str) -> str:
        """The age as the date of birth gives it, or why it is not known."""
        if not text.strip():
            return "Age: not given (the label's age limits are not checked)"
        try:
            born = date.fromisoformat(text.strip())
        except ValueError:
            return "Age: (date of birth not readable yet)"
        if born > self.today:
            return "Age: (date of birth is in the future)"
        return f"Age: {age_in_years(born, self.today)} years"

    def _history_reasons(self, raw: Mapping[str, str], product_id: str) -> list[str]:
        last_product = raw.get("last_product_id") or None
        text = raw.get("last_infusion", "").strip()
        try:
            last = None if text in ("", NEVER) else date.fromisoformat(text)
        except ValueError:
            return ["(last infusion date not readable yet)"]
        if last_product == NEVER:
            last_product = None
        return first_infusion_reasons(self.today, last, last_product, product_id)

    # -- submitting -------------------------------------------------------------------------

    def _check(self) -> SetupResult | list[tuple[str, str]]:
        """Validate the form in the core: the result, or (field, problem) pairs."""
        scan_problems = self._scan_problems()
        try:
            setup = validate_setup(
                self.raw_fields(), self.risk_factors(), self.products, self.today, self.site
            )
        except SetupInvalid as invalid:
            problems = [(p.field, _problem_text(p)) for p in invalid.problems]
            return problems + [p for p in scan_problems if p[0] not in dict(problems)]
        if scan_problems:
            return scan_problems
        try:
            plan = build_plan(setup.plan_request, self.products[setup.plan_request.product_id])
        except PlanError as error:
            return [(_PLAN_FIELD_TO_INPUT.get(error.field, "risk_factors"), error.reason)]
        return SetupResult(setup=setup, plan=plan, scan=self.scan)

    def action_next(self) -> None:
        """Validate everything; on success build the plan and hand both on."""
        self._read_scan()
        checked = self._check()
        if isinstance(checked, SetupResult):
            self._show_problems([])
            self.dismiss(checked)
            return
        self._show_problems(checked)
        first = self._marked(checked)
        if first is not None:
            first.focus()

    def _recheck(self) -> None:
        """After a change: the problem list as it stands now (fixed problems leave it)."""
        checked = self._check()
        problems = [] if isinstance(checked, SetupResult) else checked
        self._show_problems(problems)
        self._marked(problems)

    def _show_problems(self, problems: list[tuple[str, str]]) -> None:
        """Every problem, whole: the box grows (the form above it scrolls) and lines wrap."""
        self._problems_shown = bool(problems)
        named = [(self._labels.get(field, field), text) for field, text in problems]
        text = "\n".join(problem_lines("Please correct", "field", named)) if named else ""
        self.query_one("#problems", Static).update(text)

    def _marked(self, problems: list[tuple[str, str]]) -> Widget | None:
        """Mark exactly the fields with a problem (in words too: the list names each)."""
        for widget in self.query(".-invalid"):
            widget.remove_class("-invalid")
        first: Widget | None = None
        for field, _ in problems:
            matches = self.query(f"#{field}")
            if matches:
                widget = matches.first()
                widget.add_class("-invalid")
                first = first or widget
        return first
