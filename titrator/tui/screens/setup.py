"""The setup screen: nurse, patient, product, dose, lot, history and risk factors.

A thin shell over `titrator.domain.setup.validate_setup` and `build_plan`: the text is handed
over exactly as typed; problems come back per field and are shown inline next to the field and
in the problem list, never corrected. Once shown, the list is checked again as the nurse types, so
it never names a problem that has been fixed. The derived first-infusion and at-risk status is
shown with its reasons as the nurse types, always on screen (below the form, above the problems).

At 80x24 the common case (a first infusion, dose in g/kg) fits without scrolling: two fields to
a row, and the dose given one way at a time. "Dose as" (F3, or its list) chooses g/kg, grams or
a course; only that way's fields are shown, checked and handed over, and what was typed in the
others stays in their boxes for switching back. The form helpers are shared with the
pre-infusion screen (`titrator.tui.forms`).

Tab is a priority binding: a barcode scanner typing an identifier and a Tab, and the keys after
it, land in the fields they were meant for; a paste with Tabs is spread the same way
(`FieldInput`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import ClassVar, Final

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Header, Input, Select, SelectionList, Static

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
from titrator.tui.forms import (
    LABEL_WIDTH,
    WIDE,
    FormScreen,
    FormScroll,
    problem_text,
    show_text,
)
from titrator.tui.screens.marks import TickList

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


DOSE_WAYS: Final = {
    "g/kg": ("dose_g_per_kg",),
    "grams": ("dose_g",),
    "course": ("course_g_per_kg", "course_days", "course_day"),
}
"""The ways to give the dose ("Dose as"), each with its fields; only the chosen way's are shown,
checked and handed over."""
_DOSE_AS_OPTIONS: Final = [
    ("g/kg (per kg)", "g/kg"),
    ("grams (whole dose)", "grams"),
    ("course (over days)", "course"),
]
_HIDDEN_WHEN_NOT_CHOSEN: Final = frozenset(f for fields in DOSE_WAYS.values() for f in fields)

LEFT: Final = LABEL_WIDTH + 22 + 1
"""Columns of a row's left cell: the label, a 22-column field and a space. The right cell takes
the rest; a row of two fits 78 columns (80 less the form's scroll bar, when it has one)."""


def initial_dose_as(initial: Mapping[str, str]) -> str:
    """The way the pre-filled values give the dose: the first way with its field filled in."""
    for way, fields in DOSE_WAYS.items():
        if initial.get(fields[0], "").strip():
            return way
    return "g/kg"


class SetupScreen(FormScreen[SetupResult]):
    """Collects the infusion setup; dismisses with a validated setup and plan."""

    AUTO_FOCUS = "#nurse_id"
    """Focus the first field as the screen mounts: Textual's default focuses the scrolling form
    first, and moving it on in `on_mount` restyled the whole form twice (about 60 ms at start)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "next", "Next: checklist", id="setup-next"),
        Binding("f3", "dose_as", "Dose as: next way", id="setup-dose-as"),
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
        super().__init__(initial)
        self.risks = risks
        self.products = products
        self.site = site
        self.today = today
        self._labels["risk_factors"] = "Risk factors"
        self.dose_as = initial_dose_as(self.initial)
        """The chosen way to give the dose (a key of `DOSE_WAYS`)."""
        self.scan: LotScan | None = None
        """The GS1 barcode the lot field was filled from (None: typed)."""
        self._scan_error: tuple[str, str] | None = None
        """A scan that could not be read: (text as scanned, why)."""

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """The form (two fields to a row), the derived status, the problems and the button."""
        product_options = [(p.name, p.id) for p in self.products.values()]
        with_iga = [
            (f"{p.name} · IgA {p.iga_content.split(' (')[0]}", p.id) for p in self.products.values()
        ]
        row, cell, box, choice = self.row, self.cell, self.text_box, self.choice
        yield Header()
        with FormScroll(form_id="setup-form", more_id="setup-more"):
            yield row(
                cell("Nurse ID", box("nurse_id", "Nurse ID", "your staff id", WIDE), width=LEFT),
                cell("Order ID", box("order_id", "Order ID", "optional: order number", WIDE)),
            )
            yield row(
                cell(
                    "Patient ID 1",
                    box("patient_id_1", "Patient ID 1", "e.g. MRN", WIDE),
                    width=LEFT,
                ),
                cell(
                    "Patient ID 2",
                    box("patient_id_2", "Patient ID 2", "e.g. date of birth", WIDE),
                ),
            )
            yield row(
                cell(
                    "Weight (kg)",
                    box("weight_kg", "Weight (kg)", "kg only", 10),
                    self.weight_in_lb(),
                    width=LEFT,
                ),
                cell("Height (cm)", box("height_cm", "Height (cm)", "optional", 12)),
            )
            yield row(
                cell(
                    "Sex",
                    choice("sex", "Sex", [("female", "female"), ("male", "male")], WIDE),
                    width=LEFT,
                ),
                cell(
                    "Dosing weight",
                    choice(
                        "weight_basis",
                        "Dosing weight",
                        [
                            ("actual weight", WeightBasis.ACTUAL.value),
                            ("adjusted (IBW+0.4)", "adjusted"),
                        ],
                        WIDE,
                        default=WeightBasis.ACTUAL.value,
                    ),
                ),
            )
            yield row(cell("Product", choice("product_id", "Product", with_iga, WIDE)))
            yield row(cell("Indication", choice("indication_id", "Indication", [], WIDE)))
            yield row(
                cell(
                    "Dose as",
                    choice("dose_as", "Dose as", _DOSE_AS_OPTIONS, WIDE, default=self.dose_as),
                    width=LEFT,
                ),
                cell(
                    "Dose (g/kg)",
                    box("dose_g_per_kg", "Dose (g/kg)", "g/kg", 10),
                    group="way-g-per-kg",
                ),
                cell("Dose (g)", box("dose_g", "Dose (g)", "grams", 10), group="way-grams"),
                cell(
                    "Course (g/kg)",
                    box("course_g_per_kg", "Course (g/kg)", "total g/kg", 12),
                    group="way-course",
                ),
            )
            yield row(
                cell("Course days", box("course_days", "Course days", "N days", 10), width=LEFT),
                cell("Day of course", box("course_day", "Day of course", "day K (1)", 12)),
                row_id="way-course-days",
            )
            yield row(
                cell(
                    "Round to vials",
                    choice(
                        "round_to_vials",
                        "Round to vials",
                        [("no: as ordered", "no"), ("yes: whole vials", YES)],
                        WIDE,
                        default="no",
                    ),
                    width=LEFT,
                ),
                cell(
                    "Off-label: why",
                    box("outside_label_reason", "Off-label: why", "if outside label", WIDE),
                ),
            )
            yield row(
                cell(
                    "Lot number",
                    box("lot", "Lot number", "type, or scan", WIDE, scan=True),
                    width=LEFT,
                ),
                cell("Date of birth", box("date_of_birth", "Date of birth", "YYYY-MM-DD", 12)),
            )
            yield Static("", id="lot-scan", classes="hint", markup=False)
            yield row(
                cell(
                    "Last infusion",
                    box("last_infusion", "Last infusion", "YYYY-MM-DD/never", WIDE),
                    width=LEFT,
                ),
                cell(
                    "Last product",
                    choice(
                        "last_product_id",
                        "Last product",
                        [("never treated", NEVER), *product_options],
                        WIDE,
                    ),
                ),
            )
            risks = TickList[RiskFactor](
                *[(factor.label, factor, factor in self.risks) for factor in RiskFactor],
                id="risk_factors",
            )
            risks.border_title = "Risk factors (renal / thrombosis): Space ticks"
            risks.border_subtitle = f"{len(RiskFactor)} listed: Up/Down for all"
            yield risks
            yield Static(DISCLAIMER, id="disclaimer")
        with Vertical(id="setup-status"):
            yield Static("", id="setup-more", classes="more")
            yield Static("", id="derived")
            yield Static("", id="problems")
            yield self.next_button("Next: checklist (F2)")
        yield Footer()

    @staticmethod
    def weight_in_lb() -> Static:
        """The weight in pounds, after the weight field (it fills out the weight's part)."""
        hint = Static("", id="weight-lb", classes="inline-hint")
        hint.styles.width = WIDE
        hint.styles.margin = (0, 0, 0, 1)
        return hint

    def on_mount(self) -> None:
        """Start at the first field, with the indication list filled for a preset product."""
        self.sub_title = "infusion setup"
        self._refresh_indications()
        self._show_dose_way()
        self._refresh_derived()
        self.show_problems([])
        self.query_one("#nurse_id", Input).focus()

    # -- the dose: one way at a time ----------------------------------------------------------

    def submitted(self, field: str) -> bool:
        """Dose fields of the ways not chosen are not handed over (nor checked); nor the choice."""
        if field == "dose_as":
            return False
        return field not in _HIDDEN_WHEN_NOT_CHOSEN or field in DOSE_WAYS[self.dose_as]

    @on(Select.Changed, "#dose_as")
    def _dose_as_changed(self, event: Select.Changed) -> None:
        if event.value in DOSE_WAYS:
            self.dose_as = str(event.value)
            self._show_dose_way()

    def action_dose_as(self) -> None:
        """F3: the next way to give the dose (g/kg, grams, course), and its first field."""
        ways = list(DOSE_WAYS)
        way = ways[(ways.index(self.dose_as) + 1) % len(ways)]
        self.dose_as = way
        self.query_one("#dose_as", Select).value = way  # its Changed message shows the way
        self._show_dose_way()
        first = self.query_one(f"#{DOSE_WAYS[way][0]}", Input)
        first.focus()

    def _show_dose_way(self) -> None:
        """Show the chosen way's fields only (what was typed in the others stays, unsent)."""
        shown = {
            "way-g-per-kg": self.dose_as == "g/kg",
            "way-grams": self.dose_as == "grams",
            "way-course": self.dose_as == "course",
            "way-course-days": self.dose_as == "course",
        }
        for name, show in shown.items():  # a row (its id) or a part of one (a class)
            self.query(f"#{name}, .{name}").set(display=show)
        focused = self.focused
        if (
            focused is not None
            and focused.id in _HIDDEN_WHEN_NOT_CHOSEN
            and focused.id not in DOSE_WAYS[self.dose_as]
        ):
            self.query_one(f"#{DOSE_WAYS[self.dose_as][0]}", Input).focus()
        if self._problems_shown:
            self._recheck()

    def dose_field(self, field: str) -> str:
        """The field a problem is shown on: a dose field of another way goes to the shown one."""
        if field in _HIDDEN_WHEN_NOT_CHOSEN and field not in DOSE_WAYS[self.dose_as]:
            return DOSE_WAYS[self.dose_as][0]
        return field

    # -- reading the form -------------------------------------------------------------------

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
            gtin_check(product, self.scan.gtin, self.products.values())
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
            check = gtin_check(product, self.scan.gtin, self.products.values())
            return f"{line} {gtin_check_text(product, check)}."
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
            lb_text = f"= {plain(kg_to_lb(weight), 1)} lb"
        except InputError:
            pass  # the problem is reported when the form is submitted
        show_text(self.query_one("#weight-lb", Static), lb_text)
        scanned = self._scan_line()
        line = self.query_one("#lot-scan", Static)
        show_text(line, scanned)
        line.display = bool(scanned)  # an empty line would take a row from the form
        lines = []
        product_id = raw.get("product_id", "")
        if product_id:
            reasons = self._history_reasons(raw, product_id)
            lines.append(
                "First infusion: YES, because " + "; ".join(reasons)
                if reasons
                else "First infusion: no (same product, within 8 weeks)"
            )
        factors = self.risk_factors()
        at_risk = (
            f"At risk: YES, because {', '.join(f.label for f in factors)}"
            if factors
            else "At risk: no"
        )
        lines.append(f"{self._age_line(raw.get('date_of_birth', ''))} · {at_risk}")
        show_text(self.query_one("#derived", Static), "\n".join(lines))

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
            problems = [
                (self.dose_field(p.field), problem_text(p.reason, p.raw)) for p in invalid.problems
            ]
            return problems + [p for p in scan_problems if p[0] not in dict(problems)]
        if scan_problems:
            return scan_problems
        try:
            plan = build_plan(setup.plan_request, self.products[setup.plan_request.product_id])
        except PlanError as error:
            field = _PLAN_FIELD_TO_INPUT.get(error.field, "risk_factors")
            return [(self.dose_field(field), error.reason)]
        return SetupResult(setup=setup, plan=plan, scan=self.scan)

    def action_next(self) -> None:
        """Validate everything; on success build the plan and hand both on."""
        self._read_scan()
        checked = self._check()
        if isinstance(checked, SetupResult):
            self.show_problems([])
            self.dismiss(checked)
            return
        self.refuse(checked)

    def _recheck(self) -> None:
        """After a change: the problem list as it stands now (fixed problems leave it)."""
        checked = self._check()
        self.show_problems([] if isinstance(checked, SetupResult) else checked)
