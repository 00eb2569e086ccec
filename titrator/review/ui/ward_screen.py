"""The ward store in the review app (`titrator review --db URL`): sessions and reports.

`WardSessionsScreen` lists the stored sessions, newest first, with filters (ward, product,
lot, opened since, outcome); `p` opens the report menu and each ward report is a screen
(`WardReportScreen`). The store is read through a `WardSource` in a thread worker: a slow store
never freezes the screen, and an unreachable one is a line on the screen. No patient
identifier is ever shown (the store's facts hold none to show).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Header, Input, OptionList, Static
from textual.widgets.option_list import Option

from titrator.review.marks import TRAINING_MARK
from titrator.review.ui.plain import cells
from titrator.review.ward import (
    OUTCOMES,
    WardQuery,
    WardSession,
    WardSource,
    WardSourceError,
    WardTable,
)

LIMIT = 500
"""Most sessions listed at once (the counts line says how many match in all)."""

FILTERS = (
    ("ward", "any"),
    ("product", "any"),
    ("lot", "any"),
    ("since", "YYYY-MM-DD"),
    ("outcome", "any"),
)
"""The filter boxes: name (the box's title) and placeholder."""

COLUMNS = ("Opened", "Station", "Product", "Lot(s)", "Outcome", "R")
"""The session list's columns (R: reactions); the highlighted row in full under the table."""


def parse_query(values: dict[str, str], include_training: bool) -> WardQuery | str:
    """The query for the filter boxes as typed, or one line saying which box is wrong."""
    text = {name: value.strip() for name, value in values.items()}
    since: datetime | None = None
    if text["since"]:
        try:
            day = date.fromisoformat(text["since"]) if len(text["since"]) == 10 else None
        except ValueError:
            day = None
        if day is None:
            return f"since: must be a date YYYY-MM-DD (got {text['since'][:20]!r})"
        since = datetime.combine(day, time(0), tzinfo=UTC)
    if text["outcome"] and text["outcome"] not in OUTCOMES:
        return f"outcome: must be one of {', '.join(OUTCOMES)} (got {text['outcome'][:20]!r})"
    return WardQuery(
        ward=text["ward"] or None,
        product=text["product"] or None,
        lot=text["lot"] or None,
        since=since,
        outcome=text["outcome"] or None,
        include_training=include_training,
    )


def _outcome(session: WardSession) -> str:
    return f"{TRAINING_MARK}: {session.outcome}" if session.training else session.outcome


def session_cells(session: WardSession) -> tuple[str, ...]:
    """One list row (TRAINING in the outcome of a training session: never colour alone)."""
    return (
        session.opened_at[:10],
        session.station_id,
        session.product,
        session.lots,
        _outcome(session),
        str(session.reactions),
    )


def session_line(session: WardSession) -> str:
    """The highlighted session in full, under the table."""
    return (
        f"{session.station_id} / {session.session_id}: ward {session.ward}, opened "
        f"{session.opened_at} UTC, {session.product}, lot(s) {session.lots}, "
        f"{_outcome(session)}, integrity {session.integrity}, {session.reactions} reaction(s)"
    )


def row_line(headings: tuple[str, ...], row: tuple[str, ...]) -> str:
    """A report row in full as `heading: value` pairs (for the line under the table)."""
    return "; ".join(f"{h}: {v}" for h, v in zip(headings, row, strict=True))


class WardSessionsScreen(Screen[None]):
    """The stored sessions, filtered."""

    DEFAULT_CSS = """
    #ward-filters { height: auto; }
    #ward-filters Input { width: 1fr; }
    #ward-status, #ward-row { height: auto; padding: 0 1; }
    #ward-sessions { height: 1fr; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filters", "Filters"),
        Binding("p", "reports", "Reports"),
        Binding("t", "training", "Training in/out"),
        Binding("escape", "table", "Table", show=False),
        Binding("q", "app.quit", "Quit"),
    ]
    """Keys: / to the filters, p reports, t training in or out, Esc back to the list, q quit."""

    def __init__(self, source: WardSource, include_training: bool = False) -> None:
        super().__init__()
        self.source = source
        self.include_training = include_training
        self.query_now: WardQuery = WardQuery(include_training=include_training)
        self.sessions: list[WardSession] = []
        self.total = 0
        self.loaded = False
        """True once the first listing has come back from the store."""

    def compose(self) -> ComposeResult:
        """Header, the filter boxes, a status line, the table, footer."""
        yield Header()
        with Horizontal(id="ward-filters"):
            for name, placeholder in FILTERS:
                box = Input(placeholder=placeholder, id=f"filter-{name}")
                box.border_title = name
                yield box
        yield Static("Reading the ward store…", id="ward-status", markup=False)
        yield DataTable(id="ward-sessions", cursor_type="row", zebra_stripes=True)
        yield Static("", id="ward-row", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        """Columns, then the first listing."""
        self.sub_title = self.source.shown
        self.query_one("#ward-sessions", DataTable).add_columns(*COLUMNS)
        self.query_one("#ward-sessions", DataTable).focus()
        self.reload()

    def filter_values(self) -> dict[str, str]:
        """The filter boxes' text by name."""
        return {name: self.query_one(f"#filter-{name}", Input).value for name, _ in FILTERS}

    def reload(self) -> None:
        """Check the filters and list again (a wrong box is named on the status line)."""
        parsed = parse_query(self.filter_values(), self.include_training)
        if isinstance(parsed, str):
            self.query_one("#ward-status", Static).update(f"Filter not applied: {parsed}")
            return
        self.query_now = parsed
        self.fetch(parsed)

    @work(thread=True, exclusive=True, group="ward-list")
    def fetch(self, query: WardQuery) -> None:
        """Read the sessions off the UI thread."""
        try:
            sessions, total = self.source.sessions(query, LIMIT)
        except WardSourceError as error:
            self.app.call_from_thread(self._failed, str(error).splitlines()[0])
            return
        self.app.call_from_thread(self._listed, sessions, total)

    def _failed(self, reason: str) -> None:
        self.query_one("#ward-status", Static).update(f"Ward store not readable: {reason}")

    def _listed(self, sessions: list[WardSession], total: int) -> None:
        self.sessions, self.total, self.loaded = sessions, total, True
        table = self.query_one("#ward-sessions", DataTable)
        table.clear()
        for n, session in enumerate(sessions):
            table.add_row(*cells(session_cells(session)), key=str(n))
        self.query_one("#ward-row", Static).update(session_line(sessions[0]) if sessions else "")
        shown = f"{len(sessions)} of {total}" if total > len(sessions) else str(total)
        training = "counted" if self.include_training else "left out"
        self.query_one("#ward-status", Static).update(
            f"{shown} session(s), newest first; training {training}"
        )

    @on(DataTable.RowHighlighted, "#ward-sessions")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        n = int(event.row_key.value or 0)
        if 0 <= n < len(self.sessions):
            self.query_one("#ward-row", Static).update(session_line(self.sessions[n]))

    @on(Input.Changed)
    def _filter_changed(self) -> None:
        self.reload()

    @on(Input.Submitted)
    def _filter_done(self) -> None:
        self.query_one("#ward-sessions", DataTable).focus()

    def action_filters(self) -> None:
        """Focus the first filter box."""
        self.query_one("#filter-ward", Input).focus()

    def action_table(self) -> None:
        """Back to the list."""
        self.query_one("#ward-sessions", DataTable).focus()

    def action_training(self) -> None:
        """Count training sessions in, or leave them out again."""
        self.include_training = not self.include_training
        self.reload()

    def action_reports(self) -> None:
        """Choose a report; it opens as a screen over the same ward, date and training."""

        def chosen(name: str | None) -> None:
            if name is not None:
                self.app.push_screen(WardReportScreen(self.source, name, self.query_now))

        self.app.push_screen(ReportMenu(list(self.source.report_names())), chosen)


class ReportMenu(ModalScreen[str | None]):
    """The ward reports, one per line; Enter opens one, Esc goes back."""

    DEFAULT_CSS = """
    ReportMenu { align: center middle; }
    #report-menu { width: 44; height: auto; max-height: 14; border: round $accent; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Back")]

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = names

    def compose(self) -> ComposeResult:
        """The list of reports."""
        yield OptionList(*(Option(name, id=name) for name in self.names), id="report-menu")

    def on_mount(self) -> None:
        """Title the box."""
        self.query_one(OptionList).border_title = "Ward report (Enter opens, Esc back)"

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        """No report."""
        self.dismiss(None)


class WardReportScreen(Screen[None]):
    """One ward report as a table, with its notes."""

    DEFAULT_CSS = """
    #report-title, #report-notes, #report-row { height: auto; padding: 0 1; }
    #report-rows { height: 1fr; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("t", "training", "Training in/out"),
        Binding("q", "app.quit", "Quit"),
    ]
    """Keys: Esc back, t training in or out, q quit."""

    def __init__(self, source: WardSource, name: str, query: WardQuery) -> None:
        super().__init__()
        self.source = source
        self.report_name = name
        self.query_now = query
        self.table: WardTable | None = None

    def compose(self) -> ComposeResult:
        """Header, title, the table, notes, footer."""
        yield Header()
        yield Static("Reading the ward store…", id="report-title", markup=False)
        yield DataTable(id="report-rows", cursor_type="row", zebra_stripes=True)
        yield Static("", id="report-row", markup=False)
        yield Static("", id="report-notes", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        """Run the report."""
        self.query_one("#report-rows", DataTable).focus()
        self.fetch()

    def _scope(self) -> str:
        q = self.query_now
        parts = [f"ward {q.ward}" if q.ward else "every ward"]
        if q.since is not None:
            parts.append(f"since {q.since:%Y-%m-%d}")
        parts.append("training counted" if q.include_training else "training left out")
        return ", ".join(parts)

    @work(thread=True, exclusive=True, group="ward-report")
    def fetch(self) -> None:
        """Run the report off the UI thread."""
        try:
            table = self.source.report(self.report_name, self.query_now)
        except WardSourceError as error:
            self.app.call_from_thread(self._failed, str(error).splitlines()[0])
            return
        self.app.call_from_thread(self._shown, table)

    def _failed(self, reason: str) -> None:
        self.query_one("#report-title", Static).update(f"Ward store not readable: {reason}")

    def _shown(self, table: WardTable) -> None:
        self.table = table
        self.sub_title = f"{table.name}: {self._scope()}"
        self.query_one("#report-title", Static).update(table.title)
        rows = self.query_one("#report-rows", DataTable)
        rows.clear(columns=True)
        rows.add_columns(*table.headings)
        for n, row in enumerate(table.rows):
            rows.add_row(*cells(row), key=str(n))
        first = row_line(table.headings, table.rows[0]) if table.rows else ""
        self.query_one("#report-row", Static).update(first)
        notes = table.notes if table.rows else ("(no rows)", *table.notes)
        self.query_one("#report-notes", Static).update("\n".join(notes))

    @on(DataTable.RowHighlighted, "#report-rows")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        n = int(event.row_key.value or 0)
        if self.table is not None and 0 <= n < len(self.table.rows):
            line = row_line(self.table.headings, self.table.rows[n])
            self.query_one("#report-row", Static).update(line)

    def action_training(self) -> None:
        """Count training sessions in, or leave them out again."""
        q = self.query_now
        self.query_now = WardQuery(
            q.ward, q.product, q.lot, q.since, q.outcome, not q.include_training
        )
        self.fetch()
