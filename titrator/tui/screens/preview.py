"""The plan preview: every step in mg/kg/min, mL/kg/min and mL/h, times, volumes, total duration.

Nothing starts until the nurse confirms here. Esc goes back to the setup to change it.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static

from titrator.domain.library import Product
from titrator.domain.plan_format import clock, hh_mm, summary_lines
from titrator.domain.plan_model import Plan
from titrator.domain.units import plain, significant
from titrator.tui.screens.marks import MarkedScreen


class PlanPreviewScreen(MarkedScreen[bool]):
    """Shows the plan; dismisses True when the nurse confirms it, False to go back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "confirm", "Confirm plan", id="preview-confirm"),
        Binding("escape", "back", "Back to setup"),
    ]

    def __init__(
        self, plan: Plan, product: Product, first_infusion_reasons: tuple[str, ...]
    ) -> None:
        super().__init__()
        self.plan = plan
        self.product = product
        self.first_infusion_reasons = first_infusion_reasons

    def compose(self) -> ComposeResult:
        """Summary, the step table and the notes."""
        yield Header()
        with VerticalScroll(id="preview"):
            yield Static("\n".join(summary_lines(self.plan, self.product)), id="plan-summary")
            if self.first_infusion_reasons:
                yield Static(
                    "First infusion: YES, because " + "; ".join(self.first_infusion_reasons),
                    classes="notice",
                )
            table: DataTable[str] = DataTable(
                id="plan-steps", cursor_type="row", zebra_stripes=True
            )
            table.add_columns(
                "Step", "mg/kg/min", "mL/kg/min", "mL/h", "Start", "Duration", "Vol mL"
            )
            for step in self.plan.steps:
                table.add_row(
                    str(step.number),
                    significant(step.rate_mg_per_kg_min),
                    significant(step.rate_ml_per_kg_min),
                    plain(step.rate_ml_per_h, 1),
                    hh_mm(step.start_min),
                    clock(step.duration_min) + (" (cap)" if step.capped_by else ""),
                    plain(step.volume_ml, 1),
                )
            yield table
            yield Static(
                "The last step runs until the dose volume is given. Each increase needs the "
                "dwell, fresh vitals and no reaction.",
                classes="hint-line",
            )
            if self.plan.notes:
                yield Static("\n".join(f"• {note}" for note in self.plan.notes), id="plan-notes")
        yield Footer()

    def on_mount(self) -> None:
        """Focus the table so the nurse can scroll it."""
        self.sub_title = "plan preview: confirm before anything starts"
        self.query_one(DataTable).focus()

    def action_confirm(self) -> None:
        """The nurse confirms the plan."""
        self.dismiss(True)

    def action_back(self) -> None:
        """Back to the setup."""
        self.dismiss(False)
