"""A folder of logs: finding them, reading them all, and the per-product summary.

Groups are product and indication. For each: the number of infusions, reactions by severity,
overrides, the median time to the final rate (over the infusions that reached the plan's last
step) and the median chair time (over the closed sessions), plus how many logs were damaged or
unfinished, so the reader knows what the figures rest on. Damaged logs are counted with what is
readable in them and listed by name.
"""

from __future__ import annotations

import os
import statistics
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
    """

    groups: tuple[GroupSummary, ...]
    logs: int
    damaged: tuple[Path, ...] = ()
    problems: tuple[LoadProblem, ...] = field(default_factory=tuple)


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
    reviews: Sequence[SessionReview], problems: Sequence[LoadProblem] = ()
) -> FolderSummary:
    """Group the reviews by product and indication and compute the figures."""
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
    )


SUMMARY_COLUMNS = (
    "Product — indication",
    "Infusions",
    "Reactions (mild/mod/sev/ungraded)",
    "Overrides",
    "Median to final rate",
    "Median chair time",
    "Damaged",
    "Unfinished",
)
"""Column headers of the summary table (text and app)."""


def summary_row(group: GroupSummary) -> tuple[str, ...]:
    """One group as table cells, units in every figure."""
    severities = "/".join(str(group.reactions.get(s, 0)) for s in SEVERITIES)
    return (
        f"{group.product} — {group.indication}",
        str(group.infusions),
        f"{group.reaction_total} ({severities})",
        str(group.overrides),
        f"{duration(group.to_final_rate)} (n={group.to_final_rate_n})",
        f"{duration(group.chair_time)} (n={group.chair_time_n})",
        str(group.damaged),
        str(group.unfinished),
    )


def summary_table(summary: FolderSummary) -> str:
    """The summary as a plain-text table with notes (for `titrator review --summary`)."""
    rows = [SUMMARY_COLUMNS, *(summary_row(g) for g in summary.groups)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(SUMMARY_COLUMNS))]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(
        f"{summary.logs} log(s). Time to final rate: from the start of the infusion to the first "
        "time the rate reached the plan's last step (infusions that never did are left out). "
        "Chair time: from the session being opened to it being closed (closed sessions only)."
    )
    for path in summary.damaged:
        lines.append(f"DAMAGED (counted with what is readable): {path}")
    for problem in summary.problems:
        lines.append(f"UNREADABLE (not counted): {problem.path}: {problem.reason}")
    return "\n".join(lines) + "\n"
