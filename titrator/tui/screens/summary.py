"""The end of the session: what was given, the audit log's head hash, and the hand-over.

The hand-over lists the delayed reactions to watch for after the patient leaves and whom to
call (the policy's `discharge` section, cited; `titrator export --format discharge` prints it).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from titrator.domain.plan_model import Plan
from titrator.domain.policy import Discharge
from titrator.domain.session.decision import Decision
from titrator.domain.units import show_ml
from titrator.tui.screens.marks import MarkedScreen


class SummaryScreen(MarkedScreen[None]):
    """Shows the totals, the log file and its head hash; Enter or q closes the app."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,q", "finish", "Close titrator"),
    ]

    def __init__(
        self,
        plan: Plan,
        decision: Decision | None,
        head: Any,
        log_path: str,
        discharge: Discharge | None = None,
        ward_store: str | None = None,
    ) -> None:
        super().__init__()
        self.ward_store = ward_store
        """The quiet line about shipping to the ward store (None: no store configured)."""
        self.plan = plan
        self.discharge = discharge
        self.decision = decision
        self.head = head
        self.log_path = log_path

    def compose(self) -> ComposeResult:
        """Totals, the file and the hash."""
        head_hash = str(getattr(self.head, "hash", ""))
        short = self.head.short() if hasattr(self.head, "short") else head_hash[:16]
        given = self.decision.volume_ml if self.decision else Decimal(0)
        yield Header()
        with VerticalScroll(id="summary"):
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
            if self.ward_store is not None:
                yield Static(self.ward_store, id="ward-store")
            yield from self._handover()
        yield Footer()

    def show_ward_store(self, line: str) -> None:
        """Replace the ward-store line (news from the shipping thread)."""
        self.ward_store = line
        for widget in self.query("#ward-store").results(Static):
            widget.update(line)

    def _handover(self) -> ComposeResult:
        """What to watch for after the patient leaves, and whom to call (policy text, cited)."""
        if self.discharge is None:
            yield Static(
                "No discharge advice in the policy: give the local leaflet.", id="discharge"
            )
            return
        lines = [
            f"• {w.name}, {w.when}: {w.watch_for}. [{', '.join(w.sources)}]"
            for w in self.discharge.watch
        ]
        lines.append(f"Whom to call: {self.discharge.call}")
        lines.append("Print it: titrator export LOG --format discharge")
        yield Static("After the patient leaves, watch for:", classes="section")
        yield Static("\n".join(lines), id="discharge")

    def action_finish(self) -> None:
        """Close the app."""
        self.app.exit(0)
