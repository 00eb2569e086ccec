"""Snapshots of the review screens at 80x24 and 120x40 (fixed logs: deterministic)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from titrator.review.model import SessionReview
from titrator.review.ui.app import ReviewApp

SIZES = [(80, 24), (120, 40)]
Snap = Callable[..., bool]


@pytest.mark.parametrize("size", SIZES)
def test_session_list(
    snap_compare: Snap, reviews: list[SessionReview], size: tuple[int, int]
) -> None:
    assert snap_compare(ReviewApp(reviews=reviews), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_session_view_damaged_banner(
    snap_compare: Snap, damaged_review: SessionReview, size: tuple[int, int]
) -> None:
    assert snap_compare(ReviewApp(reviews=[damaged_review]), terminal_size=size, press=["enter"])


@pytest.mark.parametrize("size", SIZES)
def test_session_chart(
    snap_compare: Snap, fixture_review: SessionReview, size: tuple[int, int]
) -> None:
    assert snap_compare(
        ReviewApp(reviews=[fixture_review]), terminal_size=size, press=["enter", "2"]
    )


@pytest.mark.parametrize("size", SIZES)
def test_reactions_tab(
    snap_compare: Snap, fixture_review: SessionReview, size: tuple[int, int]
) -> None:
    assert snap_compare(
        ReviewApp(reviews=[fixture_review]), terminal_size=size, press=["enter", "3"]
    )


@pytest.mark.parametrize("size", SIZES)
def test_summary_screen(
    snap_compare: Snap, reviews: list[SessionReview], size: tuple[int, int]
) -> None:
    async def settle(pilot: Pilot[Any]) -> None:
        await pilot.pause()

    assert snap_compare(
        ReviewApp(reviews=reviews), terminal_size=size, press=["m"], run_before=settle
    )
