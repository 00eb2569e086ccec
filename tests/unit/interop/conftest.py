"""Fixtures: the review room's recorded logs (built once per test process), reused here."""

from __future__ import annotations

from tests.unit.review.conftest import damaged, logs

__all__ = ["damaged", "logs"]
