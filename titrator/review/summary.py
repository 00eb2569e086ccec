"""A folder of logs: finding them, reading them all, and the per-product summary.

Groups are product and indication. For each: the number of infusions, reactions by severity,
overrides, the median time to the final rate (over the infusions that reached the plan's last
step) and the median chair time (over the closed sessions), plus how many logs were damaged or
unfinished, so the reader knows what the figures rest on. Damaged logs are counted with what is
readable in them and listed by name. Training logs (demo, train: `SessionReview.training`) are
left out of every figure unless asked for (`include_training`), and the notes say how many were
left out. The text table fits 80 columns: the product and indication wrap in their column, and
the times are a second table.
"""

from __future__ import annotations

import os
import statistics
import textwrap
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from titrator.domain.policy import Severity
from titrator.review.fmt import duration
from titrator.review.integrity import IntegrityStatus
from titrator.review.model import InfusionOutcome, SessionReview, load_review

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
    reviews: list[SessionReview] = []
    problems: list[LoadProblem] = []
    for done, path in enumerate(logs, start=1):
        try:
            reviews.append(load_review(path, key=key))
        except OSError as exc:
            problems.append(LoadProblem(path, exc.strerror or str(exc)))
        if progress is not None:
            progress(done, len(logs))
    return reviews, problems


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


def _group(key: tuple[str, str], reviews: list[SessionReview]) -> GroupSummary:
    reactions = Counter({s: 0 for s in SEVERITIES})
    for review in reviews:
        reactions.update(r.severity_label for r in review.reactions)
    finals = [r.time_to_final_rate for r in reviews if r.time_to_final_rate is not None]
    chairs = [r.chair_time for r in reviews if r.chair_time is not None]
    return GroupSummary(
        product=key[0],
        indication=key[1],
        infusions=len(reviews),
        reactions=dict(reactions),
        overrides=sum(len(r.overrides) for r in reviews),
        outcomes=dict(Counter(r.outcome.value for r in reviews)),
        damaged=sum(r.integrity.status is IntegrityStatus.DAMAGED for r in reviews),
        unfinished=sum(r.outcome is InfusionOutcome.UNFINISHED for r in reviews),
        to_final_rate=_median(finals),
        to_final_rate_n=len(finals),
        chair_time=_median(chairs),
        chair_time_n=len(chairs),
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
    training = sum(r.training for r in reviews)
    if not include_training:
        reviews = [r for r in reviews if not r.training]
    groups: dict[tuple[str, str], list[SessionReview]] = {}
    for review in reviews:
        h = review.header
        key = (
            h.product_name or h.product_id or "unknown",
            h.indication_name or h.indication_id or "unknown",
        )
        groups.setdefault(key, []).append(review)
    return FolderSummary(
        groups=tuple(_group(key, groups[key]) for key in sorted(groups)),
        logs=len(reviews),
        damaged=tuple(r.path for r in reviews if r.integrity.damaged),
        problems=tuple(problems),
        training_left_out=0 if include_training else training,
        training_included=training if include_training else 0,
    )


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
