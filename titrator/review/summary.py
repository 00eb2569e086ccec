"""A folder of logs: finding them, reading them all, and the per-product summary.

Groups are product and indication. For each: the number of infusions, reactions by severity,
overrides, the median time to the final rate (over the infusions that reached the plan's last
step) and the median chair time (over the closed sessions), plus how many logs were damaged or
unfinished, so the reader knows what the figures rest on. Damaged logs are counted with what is
readable in them and listed by name. Training logs (demo, train: `SessionReview.training`) are
left out of every figure unless asked for (`include_training`), and the notes say how many were
left out. The text table fits 80 columns: the product and indication wrap in their column, and
the times are a second table.

Three ways in, one set of figures: `summarise` takes reviews already built, `summarise_figures`
each log's `LogFigures` (the review app keeps those, in its `SessionListing`s, not the
reviews), and `summarise_logs` reads a folder of logs one at a time
(`titrator review --summary`): each log is walked once, record by record, only the records the
figures need are validated, and only its `LogFigures` are kept, so time per log stays flat and
memory stays bounded whatever the number of logs or the length of one log. Both reduce each log
to `LogFigures` and total them the same way.
"""

from __future__ import annotations

import os
import statistics
import textwrap
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from titrator.audit.reader import _ReviewSink
from titrator.audit.record import AuditRecord
from titrator.audit.verify import Outcome, walk_log
from titrator.domain import events as ev
from titrator.domain.policy import Severity
from titrator.review.episodes import Walker
from titrator.review.fmt import duration
from titrator.review.integrity import Integrity, IntegrityStatus
from titrator.review.marks import training_marks
from titrator.review.model import (
    InfusionOutcome,
    SessionReview,
    _header,
    _outcome,
    _when,
    load_review,
)
from titrator.review.timeline import validate_event

SEVERITIES = (*(s.value for s in Severity), "not graded")
"""Reaction severities in the order the summary shows them."""


def discover_logs(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The log files named, and every `*.jsonl` under the folders named (sorted, recursive).

    Raises:
        FileNotFoundError: a path does not exist.
    """
    found: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.jsonl") if p.is_file()))
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or directory")
    return found


@dataclass(frozen=True)
class LoadProblem:
    """A log that could not be opened at all (permissions, I/O).

    Attributes:
        path: the file.
        reason: why.
    """

    path: Path
    reason: str


def load_all(
    logs: Sequence[Path],
    key: bytes | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[SessionReview], list[LoadProblem]]:
    """Review every log; a file that cannot be opened is reported, never fatal.

    Args:
        logs: the files.
        key: the site's HMAC key, if available.
        progress: called with (done, total) after each file.

    Returns:
        The reviews (file order) and the files that could not be read.
    """
    return review_each(logs, lambda review: review, key, progress)


def review_each(
    logs: Sequence[Path],
    keep: Callable[[SessionReview], KeptT],
    key: bytes | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[KeptT], list[LoadProblem]]:
    """Review each log in turn and keep `keep(review)` of it (the review itself is let go).

    A file that cannot be opened is reported, never fatal; `progress` is called with
    (done, total) after each file.
    """
    kept: list[KeptT] = []
    problems: list[LoadProblem] = []
    for done, path in enumerate(logs, start=1):
        try:
            kept.append(keep(load_review(path, key=key)))
        except OSError as exc:
            problems.append(LoadProblem(path, exc.strerror or str(exc)))
        if progress is not None:
            progress(done, len(logs))
    return kept, problems


KeptT = TypeVar("KeptT")
"""What `review_each` keeps of each review."""


SUMMARY_KINDS = frozenset(
    {
        "session_opened",
        "session_closed",
        "rate_changed",
        "reaction_opened",
        "reaction_cleared",
        "override_recorded",
        "state_changed",
        "stop_requested",
    }
)
"""The record kinds the figures depend on (product, reactions, overrides, outcome, times); a
streamed log validates only these (`Walker` derives nothing for the figures from the others)."""


@dataclass(frozen=True, slots=True)
class LogFigures:
    """What the summary needs from one log: a few values, not the log.

    Attributes:
        path: the log file.
        product: product name (or id, or "unknown").
        indication: indication name (or id, or "unknown").
        reactions: the severity label of each reaction episode (`SEVERITIES`).
        overrides: number of overrides.
        outcome: how the infusion ended.
        damaged: the chain is broken.
        time_to_final_rate: from the start to first reaching the plan's last-step rate.
        chair_time: from `session_opened` to `session_closed`.
        training: a demo or training log.
    """

    path: Path
    product: str
    indication: str
    reactions: tuple[str, ...]
    overrides: int
    outcome: InfusionOutcome
    damaged: bool
    time_to_final_rate: timedelta | None
    chair_time: timedelta | None
    training: bool

    @classmethod
    def of_review(cls, review: SessionReview) -> LogFigures:
        """The figures of a review already built."""
        h = review.header
        return cls(
            path=review.path,
            product=h.product_name or h.product_id or "unknown",
            indication=h.indication_name or h.indication_id or "unknown",
            reactions=tuple(r.severity_label for r in review.reactions),
            overrides=len(review.overrides),
            outcome=review.outcome,
            damaged=review.integrity.status is IntegrityStatus.DAMAGED,
            time_to_final_rate=review.time_to_final_rate,
            chair_time=review.chair_time,
            training=review.training,
        )


class _FiguresSink(_ReviewSink):
    """Takes a log's records as `walk_log` reads them and keeps only what the figures need.

    The same steps as `build_review`, restricted to `SUMMARY_KINDS`: no timeline, no record is
    kept once it has been looked at. Lines after the first damage are read as tolerantly as
    `read_for_review` reads them (the parent class), then handed on one by one.
    """

    def __init__(self) -> None:
        super().__init__()
        self.walker = Walker()
        self.opened: ev.SessionOpened | None = None
        self.closed_at: datetime | None = None
        self.writer_close: str | None = None
        self.first_nurse: str | None = None
        self.training = False

    def intact(self, line: int, record: AuditRecord, raw: bytes) -> None:
        self._take(record)

    def unchecked(self, line: int, raw: bytes) -> None:
        super().unchecked(line, raw)
        if self.records:  # the line was readable: take it and let it go
            self._take(self.records.pop()[1])
        self.problems.clear()  # an unreadable line counts for nothing in the figures

    def _take(self, record: AuditRecord) -> None:
        kind = record.kind
        if self.first_nurse is None:
            self.first_nurse = record.nurse_id
        if not self.training:
            self.training = bool(training_marks([(kind, record.station_id, record.payload)]))
        if kind not in SUMMARY_KINDS:
            return
        event, _problem = validate_event(record)
        at = _when(record, event)
        if isinstance(event, ev.SessionOpened) and self.opened is None:
            self.opened = event
        if kind == "session_closed":
            self.closed_at = at
            if record.from_writer and not isinstance(event, ev.SessionClosed):
                self.writer_close = str(record.payload.get("reason", ""))
        self.walker.feed(event, at, record.nurse_id, record.seq)


def log_figures(path: Path, key: bytes | None = None) -> LogFigures:
    """Read one log, record by record, into its figures.

    The same figures as `LogFigures.of_review` of its full review, without building it.

    Raises:
        OSError: the file cannot be opened.
    """
    sink = _FiguresSink()
    verification = walk_log(path, key, None, sink)
    if verification.outcome is Outcome.ERROR:
        raise OSError(verification.reason)
    walker = sink.walker
    walker.finish(sink.closed_at)
    header = _header(sink.opened, sink.first_nurse)
    outcome, _detail = _outcome(walker, sink.closed_at is not None, sink.writer_close)
    opened_at = sink.opened.at.wall_utc if sink.opened is not None else None
    started = walker.infusion_started_at
    final: Decimal | None = header.final_rate_ml_per_h
    reached = walker.first_at_rate(final) if final is not None else None
    closed_at = sink.closed_at
    return LogFigures(
        path=path,
        product=header.product_name or header.product_id or "unknown",
        indication=header.indication_name or header.indication_id or "unknown",
        reactions=tuple(r.severity_label for r in walker.reactions),
        overrides=len(walker.overrides),
        outcome=outcome,
        damaged=Integrity.of(verification, (), 0).status is IntegrityStatus.DAMAGED,
        time_to_final_rate=reached - started if reached and started else None,
        chair_time=closed_at - opened_at if closed_at and opened_at else None,
        training=sink.training,
    )


def read_figures(
    logs: Iterable[Path], key: bytes | None = None
) -> Iterator[LogFigures | LoadProblem]:
    """The figures of each log in turn, or why it could not be opened.

    A generator: a log is read only when the previous one's figures have been taken.
    """
    for path in logs:
        try:
            yield log_figures(path, key)
        except OSError as exc:
            yield LoadProblem(path, exc.strerror or str(exc))


def _median(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    seconds = statistics.median(sorted(v.total_seconds() for v in values))
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class GroupSummary:
    """The figures for one product and indication.

    Attributes:
        product: product name (or id).
        indication: indication name (or id).
        infusions: number of logs.
        reactions: reaction episodes by severity (`SEVERITIES`).
        overrides: number of overrides.
        outcomes: infusions by outcome.
        damaged: logs whose chain is broken.
        unfinished: logs without a closing record.
        to_final_rate: median time to the final rate.
        to_final_rate_n: infusions that reached the final rate.
        chair_time: median chair time.
        chair_time_n: closed sessions.
    """

    product: str
    indication: str
    infusions: int
    reactions: dict[str, int]
    overrides: int
    outcomes: dict[str, int]
    damaged: int
    unfinished: int
    to_final_rate: timedelta | None
    to_final_rate_n: int
    chair_time: timedelta | None
    chair_time_n: int

    @property
    def reaction_total(self) -> int:
        """All reaction episodes."""
        return sum(self.reactions.values())


@dataclass(frozen=True)
class FolderSummary:
    """The summary of a set of logs.

    Attributes:
        groups: one per product and indication, sorted by name.
        logs: number of logs reviewed.
        damaged: the damaged logs.
        problems: files that could not be opened.
        training_left_out: training logs not counted (`include_training` was not asked for).
        training_included: training logs counted (`include_training` was asked for).
    """

    groups: tuple[GroupSummary, ...]
    logs: int
    damaged: tuple[Path, ...] = ()
    problems: tuple[LoadProblem, ...] = field(default_factory=tuple)
    training_left_out: int = 0
    training_included: int = 0


class _GroupTally:
    """One product and indication's running totals (the medians' inputs are kept: seconds)."""

    def __init__(self) -> None:
        self.infusions = 0
        self.reactions = Counter({s: 0 for s in SEVERITIES})
        self.overrides = 0
        self.outcomes: Counter[str] = Counter()
        self.damaged = 0
        self.unfinished = 0
        self.finals: list[timedelta] = []
        self.chairs: list[timedelta] = []

    def add(self, log: LogFigures) -> None:
        self.infusions += 1
        self.reactions.update(log.reactions)
        self.overrides += log.overrides
        self.outcomes[log.outcome.value] += 1
        self.damaged += log.damaged
        self.unfinished += log.outcome is InfusionOutcome.UNFINISHED
        if log.time_to_final_rate is not None:
            self.finals.append(log.time_to_final_rate)
        if log.chair_time is not None:
            self.chairs.append(log.chair_time)

    def summary(self, key: tuple[str, str]) -> GroupSummary:
        return GroupSummary(
            product=key[0],
            indication=key[1],
            infusions=self.infusions,
            reactions=dict(self.reactions),
            overrides=self.overrides,
            outcomes=dict(self.outcomes),
            damaged=self.damaged,
            unfinished=self.unfinished,
            to_final_rate=_median(self.finals),
            to_final_rate_n=len(self.finals),
            chair_time=_median(self.chairs),
            chair_time_n=len(self.chairs),
        )


class _Tally:
    """The folder's running totals: logs are added one at a time and not kept."""

    def __init__(self, include_training: bool) -> None:
        self.include_training = include_training
        self.groups: dict[tuple[str, str], _GroupTally] = {}
        self.logs = 0
        self.training = 0
        self.damaged: list[Path] = []

    def add(self, log: LogFigures) -> None:
        self.training += log.training
        if log.training and not self.include_training:
            return
        self.logs += 1
        self.groups.setdefault((log.product, log.indication), _GroupTally()).add(log)
        if log.damaged:
            self.damaged.append(log.path)

    def summary(self, problems: Sequence[LoadProblem]) -> FolderSummary:
        return FolderSummary(
            groups=tuple(self.groups[key].summary(key) for key in sorted(self.groups)),
            logs=self.logs,
            damaged=tuple(self.damaged),
            problems=tuple(problems),
            training_left_out=0 if self.include_training else self.training,
            training_included=self.training if self.include_training else 0,
        )


def summarise(
    reviews: Sequence[SessionReview],
    problems: Sequence[LoadProblem] = (),
    *,
    include_training: bool = False,
) -> FolderSummary:
    """Group the reviews by product and indication and compute the figures.

    Args:
        reviews: the logs, reviewed.
        problems: the files that could not be opened.
        include_training: count demo and training logs too (left out by default).
    """
    tally = _Tally(include_training)
    for review in reviews:
        tally.add(LogFigures.of_review(review))
    return tally.summary(problems)


def summarise_figures(
    figures: Iterable[LogFigures],
    problems: Sequence[LoadProblem] = (),
    *,
    include_training: bool = False,
) -> FolderSummary:
    """`summarise` from each log's figures (the review app keeps these, not the reviews)."""
    tally = _Tally(include_training)
    for item in figures:
        tally.add(item)
    return tally.summary(problems)


def summarise_logs(
    logs: Sequence[Path],
    key: bytes | None = None,
    *,
    include_training: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> FolderSummary:
    """Read the logs one at a time and compute the figures (`titrator review --summary`).

    The figures of `summarise(*load_all(logs))`, without holding any log or review.

    Args:
        logs: the files.
        key: the site's HMAC key, if available.
        include_training: count demo and training logs too (left out by default).
        progress: called with (done, total) after each file.
    """
    tally = _Tally(include_training)
    problems: list[LoadProblem] = []
    for done, item in enumerate(read_figures(logs, key), start=1):
        if isinstance(item, LoadProblem):
            problems.append(item)
        else:
            tally.add(item)
        if progress is not None:
            progress(done, len(logs))
    return tally.summary(problems)


WIDTH = 80
"""The text table's width (a terminal at 80x24)."""

COUNT_COLUMNS = (
    "Product — indication",
    "Infusions",
    "Reactions*",
    "Overrides",
    "Damaged",
    "Unfinished",
)
"""The first table: what happened (reactions: total, then mild/moderate/severe/not graded)."""
TIME_COLUMNS = ("Product — indication", "Median to final rate", "Median chair time")
"""The second table: how long it took (n: the infusions each median rests on)."""
SUMMARY_COLUMNS = (*COUNT_COLUMNS, *TIME_COLUMNS[1:])
"""Every column, in the order `summary_row` gives the cells."""


def summary_row(group: GroupSummary) -> tuple[str, ...]:
    """One group as table cells (`SUMMARY_COLUMNS`), units in every figure."""
    severities = "/".join(str(group.reactions.get(s, 0)) for s in SEVERITIES)
    return (
        f"{group.product} — {group.indication}",
        str(group.infusions),
        f"{group.reaction_total} ({severities})",
        str(group.overrides),
        str(group.damaged),
        str(group.unfinished),
        f"{duration(group.to_final_rate)} (n={group.to_final_rate_n})",
        f"{duration(group.chair_time)} (n={group.chair_time_n})",
    )


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> list[str]:
    """A text table no wider than `width`: the first column wraps to the room the others leave."""
    widths = [max(len(row[i]) for row in (headers, *rows)) for i in range(len(headers))]
    room = width - sum(widths[1:]) - 2 * (len(headers) - 1)
    widths[0] = max(12, min(widths[0], room))
    lines = []
    for row in (headers, *rows):
        first = textwrap.wrap(row[0], widths[0]) or [""]
        for n, part in enumerate(first):
            cells = [part, *(row[1:] if n == 0 else [""] * (len(row) - 1))]
            lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        if row is headers:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def summary_notes(
    summary: FolderSummary,
    include_hint: str = "--include-training counts them",
    full_paths: bool = True,
) -> list[str]:
    """What the figures rest on: logs counted, training left out, damaged and unreadable files.

    Args:
        summary: the figures.
        include_hint: how to count the training logs left out (the option, or the app's key).
        full_paths: name damaged and unreadable files by their path (else by file name).
    """

    def name(path: Path) -> str:
        return str(path) if full_paths else path.name

    notes = [
        f"{summary.logs} log(s) counted. *Reactions: total (mild/moderate/severe/not graded). "
        "Median to final rate: from the start of the infusion to the first time the rate "
        "reached the plan's last step (infusions that never did are left out). Median chair "
        "time: from the session being opened to it being closed (closed sessions only). "
        "n: the infusions each median rests on."
    ]
    if summary.training_left_out:
        notes.append(
            f"{summary.training_left_out} TRAINING log(s) (demo, train) left out; {include_hint}."
        )
    if summary.training_included:
        notes.append(
            f"{summary.training_included} TRAINING log(s) (demo, train) counted in these figures."
        )
    notes.extend(
        f"DAMAGED (counted with what is readable): {name(path)}" for path in summary.damaged
    )
    notes.extend(
        f"UNREADABLE (not counted): {name(problem.path)}: {problem.reason}"
        for problem in summary.problems
    )
    return notes


def summary_table(
    summary: FolderSummary,
    width: int = WIDTH,
    include_hint: str = "--include-training counts them",
    full_paths: bool = True,
) -> str:
    """The summary as plain-text tables with notes (`titrator review --summary`, the app).

    Args:
        summary: the figures.
        width: the widest a line may be.
        include_hint: how to count the training logs left out (see `summary_notes`).
        full_paths: name damaged and unreadable files by their path (else by file name).
    """
    rows = [summary_row(g) for g in summary.groups]
    counts = len(COUNT_COLUMNS)
    lines = _table(COUNT_COLUMNS, [r[:counts] for r in rows], width)
    lines.append("")
    lines.extend(_table(TIME_COLUMNS, [(r[0], *r[counts:]) for r in rows], width))
    lines.append("")
    for note in summary_notes(summary, include_hint, full_paths):
        lines.extend(textwrap.wrap(note, width, break_on_hyphens=False) or [""])
    return "\n".join(lines) + "\n"
