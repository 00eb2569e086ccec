"""One session: integrity banner, facts, and tabs (timeline, chart, reactions, pump).

A demo or training log has a TRAINING banner above the integrity banner. The timeline hides the
raw bytes of the pump wire trace; `w` shows them (and hides them again).
"""

from __future__ import annotations

from typing import ClassVar, Final

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from titrator.review.fmt import duration, given_remaining, ml_per_h, utc, utc_time
from titrator.review.marks import TRAINING_MARK
from titrator.review.model import SessionReview
from titrator.review.timeline import Category, TimelineEntry
from titrator.review.ui.chart import RateVitalsChart
from titrator.review.ui.plain import cells
from titrator.review.ui.timeline_view import TimelineView

KIND_FILTERS: Final[tuple[Category | None, ...]] = (
    None,
    Category.VITALS,
    Category.RATE,
    Category.REACTION,
    Category.OVERRIDE,
    Category.PUMP,
    Category.DECISION,
    Category.ALARM,
    Category.SESSION,
    Category.SYSTEM,
)
"""What `k` cycles through on the timeline (None: everything)."""


def facts_text(review: SessionReview) -> str:
    """Two lines of facts: who and what, then how it ended."""
    h = review.header
    lots = ", ".join(lot for _, lot in review.lots) or "—"
    return (
        f"Patient {h.patient_id or '—'} / {h.patient_id_2 or '—'} · {h.product_label} · "
        f"lot {lots} · nurse {h.nurse_id or '—'} · opened {utc(review.opened_at)}\n"
        f"Outcome: {review.outcome.value} ({review.outcome_detail}) · given "
        f"{given_remaining(review.volume_ml, h.total_volume_ml)} · to final rate "
        f"{duration(review.time_to_final_rate)} · "
        f"chair time {duration(review.chair_time)}"
    )


class SessionScreen(Screen[None]):
    """What happened in one session, and when."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("k", "next_kind", "Kind filter"),
        Binding("v", "next_vital", "Chart vital"),
        Binding("w", "wire_hex", "Wire hex"),
        Binding("1", "tab('timeline')", "Timeline", show=False),
        Binding("2", "tab('chart')", "Chart", show=False),
        Binding("3", "tab('reactions')", "Reactions", show=False),
        Binding("4", "tab('pump')", "Pump", show=False),
        Binding("q", "app.quit", "Quit"),
    ]
    """Keys: Esc back, 1–4 tabs, k timeline kind filter, v chart vital sign, w show or hide the
    pump wire's raw bytes, q quit."""

    def __init__(self, review: SessionReview) -> None:
        super().__init__()
        self.review = review
        self.kind_index = 0
        self.wire_hex = False
        """Show the pump wire trace's raw bytes (hex) on the timeline (`w`)."""
        self.details: dict[str, list[str]] = {"episodes": [], "commands": []}
        """Full text of every row, by table id, for the detail line (the timeline's lines are
        worded from their entry when the cursor reaches them)."""

    def compose(self) -> ComposeResult:
        """Banner, facts, tabs."""
        review = self.review
        yield Header()
        if review.training:
            yield Static(
                f"{TRAINING_MARK}: demo or training session, not a real patient "
                f"({'; '.join(review.training_marks)})",
                id="training",
                classes="banner training",
                markup=False,
            )
        status = review.integrity.status.value
        yield Static(
            review.integrity.banner(), id="banner", classes=f"banner {status}", markup=False
        )
        yield Static(facts_text(review), id="facts", markup=False)
        with TabbedContent(initial="timeline"):
            with TabPane("1 Timeline", id="timeline"), Vertical():
                yield Static(id="kind", markup=False)
                yield TimelineView(id="events")
            with TabPane("2 Chart", id="chart"):
                yield RateVitalsChart(review, id="plot")
            with TabPane("3 Reactions & overrides", id="reactions"):
                yield DataTable(id="episodes", cursor_type="row")
            with TabPane("4 Pump", id="pump"):
                yield DataTable(id="commands", cursor_type="row")
        yield Static(id="detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        """Fill the tables."""
        self.title = "titrator review"
        training = f"{TRAINING_MARK} — " if self.review.training else ""
        self.sub_title = f"{training}{self.review.session_id} ({self.review.path.name})"
        self._fill_events()
        self._fill_episodes()
        self._fill_commands()

    def _fill_events(self) -> None:
        wanted = KIND_FILTERS[self.kind_index]
        timeline = self.review.timeline
        shown_entries = (
            timeline if wanted is None else [e for e in timeline if e.category is wanted]
        )
        view = self.query_one("#events", TimelineView)
        view.show(shown_entries, wire_hex=self.wire_hex)
        label = wanted.value if wanted is not None else "all"
        shown = view.row_count
        wire = "shown" if self.wire_hex else "hidden"
        self.query_one("#kind", Static).update(
            f"Showing: {label} ({shown} of {len(self.review.timeline)}) — k: next kind; "
            f"w: wire hex ({wire}); ✗ = not vouched for by the hash chain"
        )

    def _fill_episodes(self) -> None:
        table = self.query_one("#episodes", DataTable)
        table.add_columns("Time (UTC)", "What", "By", "Reason")
        rows: list[tuple[str, str, str, str]] = []
        for r in self.review.reactions:
            rules = ", ".join(r.rule_ids)
            never = ", never restart" if r.never_restart else ""
            rows.append(
                (
                    utc_time(r.opened_at),
                    f"REACTION {r.severity_label}{never} ({rules})",
                    r.opened_by,
                    " | ".join(r.reasons) or "—",
                )
            )
            if r.cleared_at is not None:
                note = f" — {r.cleared_note}" if r.cleared_note else ""
                rows.append(
                    (
                        utc_time(r.cleared_at),
                        "reaction cleared",
                        r.cleared_by or "—",
                        f"{r.cleared_reason}{note}",
                    )
                )
        for o in self.review.overrides:
            note = f" — {o.note}" if o.note else ""
            rows.append(
                (
                    utc_time(o.at),
                    f"OVERRIDE: {o.limit} ({o.prompt_kind})",
                    o.nurse_id,
                    f"{o.reason}{note}",
                )
            )
        rows.sort(key=lambda row: row[0])  # by time; stable, so a time's rows keep their order
        if not rows:
            rows.append(("—", "no reactions or overrides recorded", "", ""))
        for row in rows:
            table.add_row(*cells(row))
        self.details["episodes"] = [" · ".join(row) for row in rows]

    def _fill_commands(self) -> None:
        table = self.query_one("#commands", DataTable)
        table.add_columns(
            "#", "Issued (UTC)", "Command", "Setpoint", "Outcome", "Reported", "Detail"
        )
        rows: list[tuple[str, ...]] = [
            (
                str(c.command_id),
                utc_time(c.issued_at),
                c.kind,
                ml_per_h(c.rate_ml_per_h),
                c.outcome or "NO OUTCOME RECORDED",
                ml_per_h(c.reported_rate_ml_per_h),
                c.detail,
            )
            for c in self.review.pump_commands
        ]
        if not rows:
            rows.append(("—", "", "no pump commands recorded", "", "", "", ""))
        for row in rows:
            table.add_row(*cells(row))
        self.details["commands"] = [" · ".join(row) for row in rows]

    def _show_detail(self, table: DataTable[object] | TimelineView) -> None:
        if isinstance(table, TimelineView):
            text = self._entry_detail(table.entry) if table.entry is not None else ""
        else:
            rows = self.details.get(table.id or "", [])
            row = table.cursor_row
            text = rows[row] if 0 <= row < len(rows) else ""
        self.query_one("#detail", Static).update(text)

    def _entry_detail(self, e: TimelineEntry) -> str:
        vouched = "" if e.vouched else " ✗ NOT VOUCHED FOR by the hash chain."
        summary = e.shown(self.wire_hex)
        return f"line {e.line}, seq {e.seq}, {e.kind}, {e.nurse_id}: {summary}{vouched}"

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.parent is not None and self._active_pane_holds(event.data_table):
            self._show_detail(event.data_table)

    @on(TimelineView.Highlighted)
    def _timeline_highlighted(self, event: TimelineView.Highlighted) -> None:
        if event.view.parent is not None and self._active_pane_holds(event.view):
            self._show_detail(event.view)

    def _active_pane_holds(self, table: DataTable[object] | TimelineView) -> bool:
        active = self.query_one(TabbedContent).active
        return any(a.id == active for a in table.ancestors_with_self)

    @on(TabbedContent.TabActivated)
    def _tab(self, event: TabbedContent.TabActivated) -> None:
        views = event.pane.query(TimelineView)
        tables = event.pane.query(DataTable)
        if views:
            self._show_detail(views.first())
        elif tables:
            self._show_detail(tables.first())
        else:
            self.query_one("#detail", Static).update(
                f"Chart: {self.query_one('#plot', RateVitalsChart).vital_name} — v: next vital sign"
            )

    def action_next_kind(self) -> None:
        """Filter the timeline by the next kind."""
        self.kind_index = (self.kind_index + 1) % len(KIND_FILTERS)
        self._fill_events()

    def action_wire_hex(self) -> None:
        """Show or hide the raw bytes of the pump wire trace on the timeline."""
        self.wire_hex = not self.wire_hex
        self._fill_events()

    def action_next_vital(self) -> None:
        """Show the next vital sign on the chart."""
        self.query_one("#plot", RateVitalsChart).next_vital()

    def action_tab(self, tab: str) -> None:
        """Switch to a tab."""
        self.query_one(TabbedContent).active = tab
