"""The debrief's results: how each expectation was met, the findings, and the whole debrief.

Frozen data only; `debrief.debrief` computes them and `report` renders them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from titrator.domain.clock import MS_PER_MIN


class Status(StrEnum):
    """How an expectation was met."""

    ON_TIME = "on time"
    LATE = "late"
    MISSED = "missed"
    UNSAFE = "unsafe"
    NOT_REACHED = "not reached"


@dataclass(frozen=True)
class Act:
    """Something the trainee did, as the log shows it.

    Attributes:
        mono_ms: when.
        text: what, in words.
    """

    mono_ms: int
    text: str


@dataclass(frozen=True)
class ExpectationResult:
    """One expected response and what happened.

    Attributes:
        expectation_id: the scenario's id for it.
        what: the expected response in words.
        status: on time, late, missed, unsafe or not reached.
        anchor_ms: when its clock started (None when the anchor never happened).
        due_ms: the end of its window.
        done: the act that met it (None when missed).
        notes: why it is late, unsafe, ...
        points: points earned.
        max_points: points at stake (0 when not reached).
    """

    expectation_id: str
    what: str
    status: Status
    anchor_ms: int | None
    due_ms: int | None
    done: Act | None
    notes: tuple[str, ...]
    points: Decimal
    max_points: int


@dataclass(frozen=True)
class Finding:
    """An override or an unsafe act.

    Attributes:
        mono_ms: when.
        text: what happened, with the reason given.
        unsafe: whether it is unsafe (costs points).
    """

    mono_ms: int
    text: str
    unsafe: bool


@dataclass(frozen=True)
class Debrief:
    """The whole debrief of one training session."""

    scenario_id: str
    title: str
    teaches: str
    start_ms: int | None
    """When the infusion started (times are shown as minutes from here)."""
    results: tuple[ExpectationResult, ...]
    overrides: tuple[Finding, ...]
    unsafe: tuple[Finding, ...]
    points: Decimal
    max_points: int
    score_pct: int
    training_marked: bool
    """Every record carried a TRAINING- station id."""
    scripted: tuple[Act, ...] = field(default=())
    """What the scenario made happen, in order."""

    def minutes(self, mono_ms: int | None) -> str:
        """A time as minutes after the start ('-5 min' before it), or '-'."""
        if mono_ms is None:
            return "-"
        base = self.start_ms if self.start_ms is not None else 0
        value = (Decimal(mono_ms - base) / MS_PER_MIN).quantize(Decimal(1), ROUND_HALF_UP)
        return f"{value} min"

    @property
    def missed(self) -> list[ExpectationResult]:
        """Expectations not met well: missed, late or unsafe."""
        bad = (Status.MISSED, Status.LATE, Status.UNSAFE)
        return [r for r in self.results if r.status in bad]
