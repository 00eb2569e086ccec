"""The end of the session: what was given, and the audit log's head hash for the chart."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Header, Static

from titrator.domain.plan_model import Plan
from titrator.domain.session.decision import Decision
from titrator.domain.units import show_ml
from titrator.tui.screens.marks import MarkedScreen


class SummaryScreen(MarkedScreen[None]):
    """Shows the totals, the log file and its head hash; Enter or q closes the app."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,q", "finish", "Close titrator"),
    ]

    def __init__(self, plan: Plan, decision: Decision | None, head: Any, log_path: str) -> None:
        super().__init__()
        self.plan = plan
        self.decision = decision
        self.head = head
        self.log_path = log_path

    def compose(self) -> ComposeResult:
        """Totals, the file and the hash."""
        head_hash = str(getattr(self.head, "hash", ""))
        short = self.head.short() if hasattr(self.head, "short") else head_hash[:16]
        given = self.decision.volume_ml if self.decision else Decimal(0)
        yield Header()
        with Vertical(id="summary"):
            yield Static("Session closed.", classes="modal-title")
            yield Static(
                f"{self.plan.product_name}: {show_ml(given)} of "
                f"{show_ml(self.plan.total_volume_ml)} given."
            )
            yield Static(f"Audit log: {self.log_path}")
            yield Static("Head hash — copy into the chart:", classes="section")
            yield Static(short, id="head-short")
            yield Static(head_hash, id="head-hash")
            # The command takes the prefix without the grouping spaces (one shell argument).
            yield Static(
                f"Check later: titrator audit verify {self.log_path} "
                f"--expect-head {head_hash[:16]}",
                classes="hint-line",
                id="verify-command",
            )
        yield Footer()

    def action_finish(self) -> None:
        """Close the app."""
        self.app.exit(0)
