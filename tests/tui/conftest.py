"""Fixtures for the app's Pilot and snapshot tests (the builder is `tests.support.app`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input

from tests.support.app import AppFactory, Built, build_app


@pytest.fixture
def make_app(tmp_path: Path) -> AppFactory:
    """Build a fresh app (FakePump by default) writing its log under a tmp directory."""

    def make(**kwargs: object) -> Built:
        return build_app(tmp_path / "sessions", **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture(autouse=True)
def pinned_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """UTC wall times, colour on (snapshots are in colour), no cursor blink."""
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(Input, "cursor_blink", False)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
