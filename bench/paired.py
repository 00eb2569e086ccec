"""Paired runs for benches: baseline and candidate interleaved, min/median/max and the ratio.

Each round runs the baseline then the candidate back to back, so a drift in the machine's speed
moves both; the ratio is taken round by round and its median is the figure to quote.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence


def spread(values: Sequence[float]) -> str:
    """min / median / max of a series, compactly."""
    return f"{min(values):.4g} / {statistics.median(values):.4g} / {max(values):.4g}"


def paired(
    baseline: Callable[[], float], candidate: Callable[[], float], rounds: int
) -> tuple[list[float], list[float], list[float]]:
    """Run both `rounds` times interleaved; returns (baseline, candidate, ratio) per round.

    Each callable returns its own figure (seconds, bytes...), so set-up stays outside the timing.
    """
    base: list[float] = []
    cand: list[float] = []
    for _ in range(rounds):
        base.append(baseline())
        cand.append(candidate())
    return base, cand, [c / b for b, c in zip(base, cand, strict=True)]


def report(name: str, unit: str, base: list[float], cand: list[float], ratio: list[float]) -> None:
    """Print every figure, then min/median/max of each series and of the paired ratio."""
    print(f"{name}")
    print(f"  baseline  {unit}: " + " ".join(f"{v:.4g}" for v in base))
    print(f"  candidate {unit}: " + " ".join(f"{v:.4g}" for v in cand))
    print(f"  baseline  min/median/max: {spread(base)}")
    print(f"  candidate min/median/max: {spread(cand)}")
    print(f"  ratio candidate/baseline min/median/max: {spread(ratio)}x")
